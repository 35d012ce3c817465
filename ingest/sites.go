package ingest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/referrer"
)

// SiteCache keeps sites in memory so the hot path does not query the MetaStore per event. Entries live
// for ttl; unknown ids are remembered briefly so a flood for a bogus site id does not reach the store.
type SiteCache struct {
	meta tributary.MetaStore
	ttl  time.Duration
	now  func() time.Time
	mu   sync.RWMutex
	m    map[string]cachedSite
}

type cachedSite struct {
	site *tributary.Site
	at   time.Time
	// excluded is the site's own referrer exclusion list (nil: the server's list applies).
	excluded []string
}

// ReferrerExcludeSetting names a site's own list of hosts never taken as a traffic source, stored
// comma-separated under tributary.SiteSettingKey(siteID, ReferrerExcludeSetting). It replaces the
// server's list (referrer.Excluded) for that site.
const ReferrerExcludeSetting = "referrer_exclude"

// NewSiteCache wraps meta.
func NewSiteCache(meta tributary.MetaStore, ttl time.Duration, now func() time.Time) *SiteCache {
	if now == nil {
		now = time.Now
	}
	return &SiteCache{meta: meta, ttl: ttl, now: now, m: map[string]cachedSite{}}
}

// Site returns the site, ENOTFOUND for an unknown id.
func (c *SiteCache) Site(ctx context.Context, id string) (*tributary.Site, error) {
	e, err := c.entry(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.site == nil {
		return nil, tributary.Errorf(tributary.ENOTFOUND, "site %q not found", id)
	}
	return e.site, nil
}

// Excluded returns the site's own referrer exclusion list, nil when the site follows the server's list
// (or cannot be read). It is cached with the site.
func (c *SiteCache) Excluded(ctx context.Context, id string) []string {
	e, err := c.entry(ctx, id)
	if err != nil {
		return nil
	}
	return e.excluded
}

// entry returns the cached entry of id, reading the site and its exclusion list when the entry is
// missing or older than the ttl.
func (c *SiteCache) entry(ctx context.Context, id string) (cachedSite, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e, nil
	}
	st, err := c.meta.Site(ctx, id)
	switch {
	case err == nil:
	case tributary.ErrorCode(err) == tributary.ENOTFOUND:
		st = nil
	case ok && e.site != nil:
		return e, nil // store hiccup: keep serving the last known site
	default:
		return cachedSite{}, err
	}
	fresh := cachedSite{site: st, at: now}
	if st != nil {
		v, err := c.meta.Setting(ctx, tributary.SiteSettingKey(id, ReferrerExcludeSetting))
		switch {
		case err == nil:
			fresh.excluded = SplitHosts(v)
		case tributary.ErrorCode(err) == tributary.ENOTFOUND:
		case ok:
			fresh.excluded = e.excluded // store hiccup: keep the last known list
		}
	}
	c.mu.Lock()
	if len(c.m) > 100_000 {
		c.m = map[string]cachedSite{}
	}
	c.m[id] = fresh
	c.mu.Unlock()
	return fresh, nil
}

// Invalidate forgets a site after it changed or was deleted.
func (c *SiteCache) Invalidate(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// SplitHosts reads an exclusion list (hosts separated by commas, spaces or line breaks), normalized as
// referrer.NormalizeHosts does; an empty list is nil.
func SplitHosts(v string) []string {
	list := referrer.NormalizeHosts(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }))
	if len(list) == 0 {
		return nil
	}
	return list
}

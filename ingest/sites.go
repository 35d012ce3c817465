package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/tributary/tributary"
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
}

// NewSiteCache wraps meta.
func NewSiteCache(meta tributary.MetaStore, ttl time.Duration, now func() time.Time) *SiteCache {
	if now == nil {
		now = time.Now
	}
	return &SiteCache{meta: meta, ttl: ttl, now: now, m: map[string]cachedSite{}}
}

// Site returns the site, ENOTFOUND for an unknown id.
func (c *SiteCache) Site(ctx context.Context, id string) (*tributary.Site, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < c.ttl {
		if e.site == nil {
			return nil, tributary.Errorf(tributary.ENOTFOUND, "site %q not found", id)
		}
		return e.site, nil
	}
	st, err := c.meta.Site(ctx, id)
	switch {
	case err == nil:
	case tributary.ErrorCode(err) == tributary.ENOTFOUND:
		st = nil
	case ok && e.site != nil:
		return e.site, nil // store hiccup: keep serving the last known site
	default:
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 100_000 {
		c.m = map[string]cachedSite{}
	}
	c.m[id] = cachedSite{site: st, at: now}
	c.mu.Unlock()
	if st == nil {
		return nil, tributary.Errorf(tributary.ENOTFOUND, "site %q not found", id)
	}
	return st, nil
}

// Invalidate forgets a site after it changed or was deleted.
func (c *SiteCache) Invalidate(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

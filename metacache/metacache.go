// Package metacache wraps a tributary.MetaStore with the in-memory caches of the request paths, so
// that no handler keeps a cache fresh by hand: main installs the wrapper around the store, and the
// wrapper forgets what its own writes change. Changes made by other processes (other nodes of a
// cluster) apply when an entry expires.
package metacache

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
)

// DefaultEndpointTTL is how long a webhook endpoint (with its secrets) is served from memory. Every
// delivery needs it before anything else, and a store round trip per delivery is a large share of the
// acknowledgement time. On other nodes of a cluster a rotated secret or deleted endpoint applies
// within the TTL, which rotation tolerates because the old secret stays valid while the new one is
// added.
const DefaultEndpointTTL = 5 * time.Second

// Options configures a Store. Nil funcs are not called.
type Options struct {
	// EndpointTTL is how long an endpoint is kept; 0 means DefaultEndpointTTL.
	EndpointTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// SiteChanged is told the id of a site whose record or own settings were written through this
	// store (the ingest site cache's Invalidate), so ingest sees the change at once on this node.
	SiteChanged func(id string)
	// RatesChanged is told when exchange rates were written through this store (the ledger recorder's
	// InvalidateRates), so money recorded next converts with them.
	RatesChanged func()
}

// Store is a MetaStore that keeps recently used webhook endpoints in memory and reports its writes of
// sites, site settings and exchange rates to the caches built over the same store. Every method it
// does not override goes to the wrapped store unchanged.
type Store struct {
	tributary.MetaStore
	opt Options

	mu sync.Mutex
	// endpoints holds found endpoints only: unknown ids always reach the store and cannot grow the map.
	endpoints map[string]cachedEndpoint
}

type cachedEndpoint struct {
	ep      tributary.StripeEndpoint
	expires time.Time
}

// New wraps meta.
func New(meta tributary.MetaStore, opt Options) *Store {
	if opt.EndpointTTL == 0 {
		opt.EndpointTTL = DefaultEndpointTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Store{MetaStore: meta, opt: opt}
}

// StripeEndpoint returns the endpoint from memory when it was read within the TTL. The caller gets its
// own copy of the secrets.
func (s *Store) StripeEndpoint(ctx context.Context, id string) (*tributary.StripeEndpoint, error) {
	now := s.opt.Now()
	s.mu.Lock()
	if e, ok := s.endpoints[id]; ok && now.Before(e.expires) {
		s.mu.Unlock()
		return copyEndpoint(&e.ep), nil
	}
	s.mu.Unlock()
	ep, err := s.MetaStore.StripeEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.endpoints == nil || len(s.endpoints) > 10_000 {
		s.endpoints = map[string]cachedEndpoint{}
	}
	s.endpoints[id] = cachedEndpoint{ep: *copyEndpoint(ep), expires: now.Add(s.opt.EndpointTTL)}
	s.mu.Unlock()
	return ep, nil
}

func copyEndpoint(ep *tributary.StripeEndpoint) *tributary.StripeEndpoint {
	cp := *ep
	cp.Secrets = append([]string(nil), ep.Secrets...)
	return &cp
}

// forgetEndpoint drops one endpoint, or every endpoint when id is empty.
func (s *Store) forgetEndpoint(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		s.endpoints = nil
		return
	}
	delete(s.endpoints, id)
}

// UpdateStripeEndpoint writes the endpoint (a rotated or expired secret) and forgets the cached copy.
func (s *Store) UpdateStripeEndpoint(ctx context.Context, e *tributary.StripeEndpoint) error {
	// Forgotten after the write too: a delivery that read the old endpoint during the write must not
	// keep it for a whole TTL.
	defer s.forgetEndpoint(e.ID)
	return s.MetaStore.UpdateStripeEndpoint(ctx, e)
}

// DeleteStripeEndpoint deletes the endpoint and forgets the cached copy.
func (s *Store) DeleteStripeEndpoint(ctx context.Context, siteID, id string) error {
	defer s.forgetEndpoint(id)
	return s.MetaStore.DeleteStripeEndpoint(ctx, siteID, id)
}

// UpdateSite writes the site and tells SiteChanged.
func (s *Store) UpdateSite(ctx context.Context, st *tributary.Site) error {
	if err := s.MetaStore.UpdateSite(ctx, st); err != nil {
		return err
	}
	s.siteChanged(st.ID)
	return nil
}

// DeleteSite deletes the site (with its endpoints) and forgets every cached endpoint, since the cache
// is not indexed by site.
func (s *Store) DeleteSite(ctx context.Context, id string) error {
	defer s.forgetEndpoint("")
	if err := s.MetaStore.DeleteSite(ctx, id); err != nil {
		return err
	}
	s.siteChanged(id)
	return nil
}

// PutSetting writes the setting; a site's own setting (tributary.SiteSettingKey) tells SiteChanged,
// since ingest reads some of them with the site (its referrer exclusions).
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if err := s.MetaStore.PutSetting(ctx, key, value); err != nil {
		return err
	}
	if id, ok := settingSite(key); ok {
		s.siteChanged(id)
	}
	return nil
}

// PutExchangeRates writes the rates and tells RatesChanged.
func (s *Store) PutExchangeRates(ctx context.Context, rates []tributary.ExchangeRate) (int, error) {
	n, err := s.MetaStore.PutExchangeRates(ctx, rates)
	if err != nil {
		return n, err
	}
	if s.opt.RatesChanged != nil {
		s.opt.RatesChanged()
	}
	return n, nil
}

func (s *Store) siteChanged(id string) {
	if s.opt.SiteChanged != nil {
		s.opt.SiteChanged(id)
	}
}

// settingSite returns the site id of a key made by tributary.SiteSettingKey.
func settingSite(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "site:")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	return id, ok && id != ""
}

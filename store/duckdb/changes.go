package duckdb

import (
	"time"

	"github.com/tributary/tributary"
)

// Subscribe registers fn to be told of every committed write that can change an attribution: new
// ledger entries, identities, recomputed visits and deleted site data (the stats engine keeps its
// attribution memo true with it). fn runs on the writer's goroutine and must return quickly.
func (s *Store) Subscribe(fn func(tributary.Change)) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	s.listeners = append(s.listeners, fn)
}

func (s *Store) notify(c tributary.Change) {
	s.listenMu.RLock()
	defer s.listenMu.RUnlock()
	for _, fn := range s.listeners {
		fn(c)
	}
}

func (s *Store) listening() bool {
	s.listenMu.RLock()
	defer s.listenMu.RUnlock()
	return len(s.listeners) > 0
}

// notifyLedger reports stored entries, site by site.
func (s *Store) notifyLedger(entries []tributary.LedgerEntry) {
	if len(entries) == 0 || !s.listening() {
		return
	}
	for site, es := range bySite(entries, func(e tributary.LedgerEntry) string { return e.SiteID }) {
		s.notify(tributary.Change{SiteID: site, Ledger: es})
	}
}

// notifyIdentities reports appended identities, site by site.
func (s *Store) notifyIdentities(ids []tributary.Identity) {
	if len(ids) == 0 || !s.listening() {
		return
	}
	for site, is := range bySite(ids, func(i tributary.Identity) string { return i.SiteID }) {
		s.notify(tributary.Change{SiteID: site, Identities: is})
	}
}

func bySite[T any](items []T, site func(T) string) map[string][]T {
	out := map[string][]T{}
	for _, it := range items {
		out[site(it)] = append(out[site(it)], it)
	}
	return out
}

// notifyVisits reports recomputed visits: site → visitor → earliest start.
func (s *Store) notifyVisits(changed map[string]map[string]time.Time) {
	for site, vs := range changed {
		s.notify(tributary.Change{SiteID: site, Visits: vs})
	}
}

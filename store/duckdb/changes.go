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
	bySite := map[string][]tributary.LedgerEntry{}
	for _, e := range entries {
		bySite[e.SiteID] = append(bySite[e.SiteID], e)
	}
	for site, es := range bySite {
		s.notify(tributary.Change{SiteID: site, Ledger: es})
	}
}

// notifyIdentities reports appended identities, site by site.
func (s *Store) notifyIdentities(ids []tributary.Identity) {
	if !s.listening() {
		return
	}
	bySite := map[string][]tributary.Identity{}
	for _, i := range ids {
		bySite[i.SiteID] = append(bySite[i.SiteID], i)
	}
	for site, is := range bySite {
		s.notify(tributary.Change{SiteID: site, Identities: is})
	}
}

// notifyVisits reports recomputed visits: site → visitor → earliest start.
func (s *Store) notifyVisits(changed map[string]map[string]time.Time) {
	for site, vs := range changed {
		s.notify(tributary.Change{SiteID: site, Visits: vs})
	}
}

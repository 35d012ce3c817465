package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

// memo keeps, between requests, what attributing the payments costs to work out: each payment's link,
// the visitors of its person and their visits over the lookback before it, its entries' credits under
// each model asked for, the site's identity graph, and the ledger of the ranges asked for. It is kept
// true by the store's change reports (tributary.Change), never by time:
//
//   - a new ledger entry is added to the kept ranges it falls in, and a new payment entry drops its
//     payment (a refund or dispute is credited through its payment's kept touchpoints);
//   - an identity drops the payment it links and, when it joins two groups of visitors into one person,
//     the payments of that person;
//   - a recomputed visit drops the payments of its visitor's person made at or after the visit's start.
//
// So a page over unchanged data reads no touchpoint, and after a new payment the next page works out
// that payment alone. Work that reads the store while a change arrives replays the change onto its
// result before keeping it (the journal), so nothing read before a write is kept after it.
type memo struct {
	mu    sync.Mutex
	sites map[string]*siteMemo
	// afterRead, when set (tests), runs between a computation's reads and its keeping the results.
	afterRead func()
	// afterPayingRead, when set (tests), runs between the paying visitors' reads and their keeping.
	afterPayingRead func()
}

// siteMemo is one site's part of the memo; memo.mu guards it.
type siteMemo struct {
	people *people // nil until a query needs it
	// states holds payments by lookback, then payment id; byVisitor indexes them by the visitors whose
	// visits they read (an index entry may outlive its state: dropping then finds nothing).
	states    map[time.Duration]map[string]*payState
	byVisitor map[string]map[string]bool
	ledgers   map[ledgerKey]*ledgerPart
	ledgerGen uint64 // counts ledger changes: a range read across one is not kept
	paying    map[payingKey]*payingPart

	gen      uint64 // counts changes
	inflight int    // computations reading the store; while any runs, changes are journaled
	journal  []journaled
}

type journaled struct {
	gen uint64
	c   tributary.Change
}

type ledgerKey struct {
	test     bool
	from, to int64
}

// ledgerPart is a range's ledger: shared read-only by the requests that ask for the range.
type ledgerPart struct {
	entries     []entry
	unconverted int
	paidAt      map[string]time.Time
}

// with returns the part with the stored entries of its range added (a new part: the old one may be in
// use), or nil when an entry belongs to a payment whose time the part does not hold (it is read again).
func (lp *ledgerPart) with(k ledgerKey, es []tributary.LedgerEntry) *ledgerPart {
	var add []entry
	unconverted := 0
	paid := map[string]time.Time{}
	for _, e := range es {
		at := e.OccurredAt.UTC().Truncate(time.Microsecond) // as the store keeps it
		if e.Livemode == k.test || e.Kind == tributary.EntryPaymentFailed || at.UnixNano() < k.from || at.UnixNano() >= k.to {
			continue
		}
		if !e.Converted {
			unconverted++
			continue
		}
		add = append(add, entry{id: e.ID, kind: e.Kind, payment: e.PaymentID, currency: e.Currency, customer: e.CustomerID, at: at, amount: e.ReportingAmount})
		if _, ok := paid[e.PaymentID]; !ok && e.Kind == tributary.EntryPayment {
			paid[e.PaymentID] = at
		}
	}
	if len(add) == 0 && unconverted == 0 {
		return lp
	}
	for _, en := range add {
		if _, ok := paid[en.payment]; !ok {
			if _, ok := lp.paidAt[en.payment]; !ok {
				return nil
			}
		}
	}
	next := &ledgerPart{unconverted: lp.unconverted + unconverted, paidAt: maps.Clone(lp.paidAt)}
	maps.Copy(next.paidAt, paid)
	next.entries = make([]entry, 0, len(lp.entries)+len(add))
	next.entries = append(append(next.entries, lp.entries...), add...)
	// The order readLedger gives: time, then id. New entries are usually the newest: then no sort.
	cmp := func(a, b entry) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	}
	if !slices.IsSortedFunc(next.entries[max(len(lp.entries)-1, 0):], cmp) {
		slices.SortStableFunc(next.entries, cmp)
	}
	return next
}

// payState is what crediting one payment needs.
type payState struct {
	payment  string
	paidAt   time.Time // zero for a payment without a payment entry: each entry is credited at its own time
	link     *link
	visitors []string              // the paying person's visitors
	sessions map[string][]*session // their visits over the lookback before the payment
	touches  []attribution.Touchpoint
	dims     []*dimVals
	// credits holds each entry's shares by model and entry id (guarded by memo.mu).
	credits map[attribution.Model]map[string][]share
}

// maxLookbacks bounds how many lookback windows a site keeps payments for (the default and the few a
// user switches between).
const maxLookbacks = 4

// listMax is the most payments read by an id list; more are read through the range's subquery.
const listMax = 1000

// WithChanges keeps attribution work between requests (the memo), told of every write by subscribe
// (the embedded store's Subscribe). Only a store that reports all its writes may offer it.
func WithChanges(subscribe func(func(tributary.Change))) Option {
	return func(e *Engine) {
		e.memo = &memo{sites: map[string]*siteMemo{}}
		subscribe(e.memo.apply)
	}
}

func (m *memo) site(id string) *siteMemo {
	sm := m.sites[id]
	if sm == nil {
		sm = &siteMemo{states: map[time.Duration]map[string]*payState{}, byVisitor: map[string]map[string]bool{}, ledgers: map[ledgerKey]*ledgerPart{},
			paying: map[payingKey]*payingPart{}}
		m.sites[id] = sm
	}
	return sm
}

// begin registers a computation that is about to read the store and returns the change count it
// starts from (memo.mu held); memo.end unregisters it.
func (sm *siteMemo) begin() uint64 {
	sm.inflight++
	return sm.gen
}

func (m *memo) end(sm *siteMemo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sm.inflight--
	if sm.inflight == 0 {
		sm.journal = nil
	}
}

// apply is the store's change listener.
func (m *memo) apply(c tributary.Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sm := m.sites[c.SiteID]
	if sm == nil {
		return
	}
	sm.gen++
	if sm.inflight > 0 {
		sm.journal = append(sm.journal, journaled{sm.gen, c})
	}
	if c.Reset {
		delete(m.sites, c.SiteID)
		return
	}
	sm.markPaying(c)
	if len(c.Ledger) > 0 {
		sm.ledgerGen++
		for key, lp := range sm.ledgers {
			if next := lp.with(key, c.Ledger); next != nil {
				sm.ledgers[key] = next
			} else {
				delete(sm.ledgers, key)
			}
		}
		// A refund or dispute is credited through its payment's kept touchpoints (its own shares are
		// worked out on first use); only a payment entry can move a payment's time.
		for _, en := range c.Ledger {
			if en.Kind == tributary.EntryPayment {
				sm.drop(en.PaymentID)
			}
		}
	}
	for _, id := range c.Identities {
		if id.PaymentID != "" {
			sm.drop(id.PaymentID)
		}
		// A visitor's person changes only when groups holding visitors join (a new visitor joining a
		// group is one): then every payment of the joined person is dropped.
		if id.VisitorID != "" && sm.people != nil && (id.PersonID != "" || id.CustomerID != "" || id.Email != "") {
			if merged, group := sm.people.add([4]string{id.VisitorID, id.PersonID, id.CustomerID, id.Email}); merged {
				for _, v := range group {
					sm.dropVisitor(v, time.Time{})
				}
			}
		}
	}
	for v, start := range c.Visits {
		sm.dropVisitor(v, start)
	}
}

// drop forgets a payment under every lookback.
func (sm *siteMemo) drop(payment string) {
	for _, states := range sm.states {
		delete(states, payment)
	}
}

// dropVisitor forgets the payments that read v's visits and were made at or after since (zero: all).
func (sm *siteMemo) dropVisitor(v string, since time.Time) {
	for p := range sm.byVisitor[v] {
		kept := false
		for _, states := range sm.states {
			if st := states[p]; st != nil {
				if !since.IsZero() && since.After(st.paidAt) {
					kept = true
				} else {
					delete(states, p)
				}
			}
		}
		if !kept {
			delete(sm.byVisitor[v], p)
		}
	}
	if len(sm.byVisitor[v]) == 0 {
		delete(sm.byVisitor, v)
	}
}

// stale reports whether a change journaled after st was read may have changed it.
func (sm *siteMemo) stale(st *payState, c tributary.Change) bool {
	if c.Reset {
		return true
	}
	for _, en := range c.Ledger {
		if en.Kind == tributary.EntryPayment && en.PaymentID == st.payment {
			return true
		}
	}
	reads := func(v string) bool { return slices.Contains(st.visitors, v) || st.link != nil && st.link.visitor == v }
	for _, id := range c.Identities {
		if id.PaymentID == st.payment || id.VisitorID != "" && reads(id.VisitorID) {
			return true
		}
		// A key of the row now in the payer's group: the row may have joined it.
		if sm.people != nil && st.link != nil && st.link.visitor != "" {
			if n, ok := sm.people.kinds[0][st.link.visitor]; ok {
				root := sm.people.find(n)
				for k, key := range []string{id.VisitorID, id.PersonID, id.CustomerID, id.Email} {
					if key == "" {
						continue
					}
					if o, ok := sm.people.kinds[k][key]; ok && sm.people.find(o) == root {
						return true
					}
				}
			}
		}
	}
	for v, start := range c.Visits {
		if reads(v) && !start.After(st.paidAt) {
			return true
		}
	}
	return false
}

// ledger returns the range's ledger, read by load unless kept.
func (m *memo) ledger(site string, key ledgerKey, load func() (*ledgerPart, error)) (*ledgerPart, error) {
	m.mu.Lock()
	sm := m.site(site)
	if lp := sm.ledgers[key]; lp != nil {
		m.mu.Unlock()
		return lp, nil
	}
	gen := sm.ledgerGen
	m.mu.Unlock()
	lp, err := load()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sites[site] == sm && sm.ledgerGen == gen {
		sm.ledgers[key] = lp
	}
	return lp, nil
}

// fill gives md the memo's states of its payments under q's lookback, working out the payments the memo
// does not hold (and keeping them); md's links, people and visits are then read through the states
// (moneyData.link, person, firstTouch).
func (m *memo) fill(ctx context.Context, e *Engine, q *Query, md *moneyData) error {
	lookback := q.Lookback
	var order []string
	seen := make(map[string]bool, len(md.entries))
	for i := range md.entries {
		if p := md.entries[i].payment; !seen[p] {
			seen[p] = true
			order = append(order, p)
		}
	}
	m.mu.Lock()
	sm := m.site(md.site)
	states := sm.states[lookback]
	if states == nil {
		if len(sm.states) >= maxLookbacks {
			clear(sm.states)
		}
		states = map[string]*payState{}
		sm.states[lookback] = states
	}
	mine := make(map[string]*payState, len(order))
	if md.states == nil {
		md.states = map[time.Duration]map[string]*payState{}
	}
	md.states[lookback] = mine
	var missing []string
	for _, p := range order {
		if st := states[p]; st != nil {
			mine[p] = st
		} else {
			missing = append(missing, p)
		}
	}
	needPeople := sm.people == nil
	gen := sm.begin()
	m.mu.Unlock()
	defer m.end(sm)
	if len(missing) > 0 {
		got, err := m.compute(ctx, e, q, md, sm, gen, missing, len(missing) == len(order), needPeople)
		if err != nil {
			return err
		}
		for _, st := range got {
			mine[st.payment] = st
		}
	}
	for _, part := range []string{"links", "people", "touches"} {
		md.loaded[part] = true
	}
	return nil
}

// compute reads and works out the missing payments' states, keeping those no change has touched since
// gen. With every payment of md missing, the range's subqueries select them; with many, too (an id
// list of thousands costs more to plan than the extra rows); with few, an id list does.
func (m *memo) compute(ctx context.Context, e *Engine, q *Query, md *moneyData, sm *siteMemo, gen uint64, missing []string, all, needPeople bool) ([]*payState, error) {
	w := &moneyData{site: md.site, test: md.test, from: md.from, to: md.to, paidAt: md.paidAt, links: map[string]*link{},
		sessions: map[string][]*session{}, byID: map[string]*session{}, persons: map[string][]string{}, loaded: map[string]bool{}}
	if !all && len(missing) <= listMax {
		w.only = missing
		w.paidAt = map[string]time.Time{}
		w.from, w.to = time.Time{}, time.Time{}
		at := func(t time.Time) {
			if w.from.IsZero() || t.Before(w.from) {
				w.from = t
			}
			if t.After(w.to) {
				w.to = t
			}
		}
		want := map[string]bool{}
		for _, p := range missing {
			want[p] = true
			if t, ok := md.paidAt[p]; ok {
				w.paidAt[p] = t
				at(t)
			}
		}
		for i := range md.entries {
			if en := &md.entries[i]; want[en.payment] {
				if _, ok := md.paidAt[en.payment]; !ok {
					at(en.at)
				}
			}
		}
		w.to = w.to.Add(time.Microsecond) // a visit starting at the payment's instant counts
	}
	var built *people
	peopleDone := make(chan error, 1)
	if needPeople {
		go func() {
			var err error
			built, err = e.readPeople(ctx, md.site)
			peopleDone <- err
		}()
	} else {
		peopleDone <- nil
	}
	err := e.loadLinks(ctx, w)
	if err == nil {
		err = e.readTouches(ctx, q, w, nil)
	}
	if perr := <-peopleDone; err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if needPeople && sm.people == nil {
		// Identities stored while the graph was read join it now (adding one twice changes nothing).
		for _, j := range sm.journal {
			if j.gen <= gen {
				continue
			}
			for _, id := range j.c.Identities {
				if id.VisitorID != "" && (id.PersonID != "" || id.CustomerID != "" || id.Email != "") {
					built.add([4]string{id.VisitorID, id.PersonID, id.CustomerID, id.Email})
				}
			}
		}
		sm.people = built
	}
	for v := range w.linkedVisitors() {
		w.persons[v] = sm.people.person(v)
	}
	m.mu.Unlock()
	if err := e.extraTouches(ctx, q, w); err != nil {
		return nil, err
	}

	out := make([]*payState, 0, len(missing))
	for _, p := range missing {
		st := &payState{payment: p, paidAt: w.paidAt[p], link: w.links[p], credits: map[attribution.Model]map[string][]share{}}
		if _, ok := md.paidAt[p]; !ok {
			st.paidAt = time.Time{}
		}
		if st.link != nil && st.link.visitor != "" {
			st.visitors = w.persons[st.link.visitor]
			st.sessions = map[string][]*session{}
			from, to := st.paidAt.Add(-q.Lookback), st.paidAt
			if st.paidAt.IsZero() {
				from, to = w.from.Add(-q.Lookback), w.to
			}
			for _, v := range st.visitors {
				for _, s := range w.sessions[v] {
					if !s.start.Before(from) && !s.start.After(to) {
						st.sessions[v] = append(st.sessions[v], s)
					}
				}
			}
		}
		if !st.paidAt.IsZero() {
			var visitors []string
			if st.link != nil && st.link.visitor != "" {
				visitors = st.visitors
			}
			st.touches, st.dims = touchesOf(st.link, visitors, st.sessions, st.paidAt, q.Lookback)
		}
		out = append(out, st)
	}
	if m.afterRead != nil {
		m.afterRead()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sites[md.site] != sm {
		return out, nil // the site's data was deleted meanwhile: nothing is kept
	}
	states := sm.states[q.Lookback]
	if states == nil {
		states = map[string]*payState{}
		sm.states[q.Lookback] = states
	}
keep:
	for _, st := range out {
		if st.paidAt.IsZero() {
			continue // credited per entry each time
		}
		for _, j := range sm.journal {
			if j.gen > gen && sm.stale(st, j.c) {
				continue keep
			}
		}
		states[st.payment] = st
		watch := st.visitors
		if len(watch) == 0 && st.link != nil && st.link.visitor != "" {
			watch = []string{st.link.visitor}
		}
		for _, v := range watch {
			if sm.byVisitor[v] == nil {
				sm.byVisitor[v] = map[string]bool{}
			}
			sm.byVisitor[v][st.payment] = true
		}
	}
	return out, nil
}

// credits returns md's entries' credits under q's model from the payments' states, working out and
// keeping the shares not held yet.
func (m *memo) credits(q *Query, md *moneyData) []credit {
	states := md.states[q.Lookback]
	per := make([][]share, len(md.entries))
	var todo []int
	m.mu.Lock()
	for i := range md.entries {
		en := &md.entries[i]
		if st := states[en.payment]; st != nil {
			if sh, ok := st.credits[q.Model][en.id]; ok {
				per[i] = sh
				continue
			}
		}
		todo = append(todo, i)
	}
	m.mu.Unlock()
	for _, i := range todo {
		en := &md.entries[i]
		st := states[en.payment]
		if st == nil || st.paidAt.IsZero() {
			paid := en.at
			var l *link
			var visitors []string
			var sessions map[string][]*session
			if st != nil {
				l, visitors, sessions = st.link, st.visitors, st.sessions
			}
			touches, dims := touchesOf(l, visitors, sessions, paid, q.Lookback)
			per[i] = shareEntry(q.Model, touches, dims, l, paid, en.amount)
			continue
		}
		per[i] = shareEntry(q.Model, st.touches, st.dims, st.link, st.paidAt, en.amount)
	}
	m.mu.Lock()
	for _, i := range todo {
		en := &md.entries[i]
		if st := states[en.payment]; st != nil && !st.paidAt.IsZero() {
			if st.credits[q.Model] == nil {
				st.credits[q.Model] = map[string][]share{}
			}
			st.credits[q.Model][en.id] = per[i]
		}
	}
	m.mu.Unlock()
	n := 0
	for _, sh := range per {
		n += len(sh)
	}
	out := make([]credit, 0, n)
	for i, sh := range per {
		for _, s := range sh {
			out = append(out, credit{entry: &md.entries[i], amount: s.amount, dims: s.dims, main: s.main})
		}
	}
	return out
}

// Warm fills the memo for the site's default dashboard (the last 30 days and the 30 before, which its
// KPIs compare with, under the default model and lookback), so the first page after a start does not
// work every payment out or read every paying visitor. Without a memo it does nothing.
func (e *Engine) Warm(ctx context.Context, site *tributary.Site, now time.Time) error {
	if e.memo == nil {
		return nil
	}
	body, err := json.Marshal(map[string]any{"site_id": site.ID, "metrics": []string{"revenue", "conversions"}, "dimensions": []string{"visit:channel"},
		"date_range": "30d", "compare": "previous_period"})
	if err != nil {
		return err
	}
	q, err := ParseQuery(body, site, now)
	if err != nil {
		return fmt.Errorf("stats: warm %s: %w", site.ID, err)
	}
	if _, err := e.Run(ctx, q); err != nil {
		return fmt.Errorf("stats: warm %s: %w", site.ID, err)
	}
	return nil
}

// Package touches keeps the payment touches table (tributary.PaymentTouch) true as facts are written:
// a payment's rows are written when it is linked and written again for exactly the payments a write can
// change — a new link or payment entry of the payment, two people joined by an identity, a visit of a
// paying person that starts up to a day before the payment. Every EventStore backend calls its
// Maintainer after each committed write, so the stats engine reads attribution instead of working it
// out per query.
package touches

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/people"
)

// Lookback is how far before its payment a visit is kept as a touch: the longest lookback a query may
// ask for (attribution.MaxLookbackDays).
const Lookback = 365 * 24 * time.Hour

// visitSpan bounds how long a visit lasts (a session rotates after 30 idle minutes, a cookieless one with
// the day): events at t can change only visits that start after t − visitSpan.
const visitSpan = 24 * time.Hour

// chunk bounds how many payments one rewrite reads and writes.
const chunk = 2000

// Store is what a backend offers the maintainer. Every read answers committed facts.
type Store interface {
	// PaymentLinks returns the newest link fact of each payment that has one.
	PaymentLinks(ctx context.Context, siteID string, paymentIDs []string) (map[string]*tributary.Identity, error)
	// IdentityKeys returns the identity graph's rows (visitor, person id, customer id, e-mail).
	IdentityKeys(ctx context.Context, siteID string) ([][4]string, error)
	// PaymentTimes returns each payment's earliest payment entry time.
	PaymentTimes(ctx context.Context, siteID string, paymentIDs []string) (map[string]time.Time, error)
	// VisitsOf returns the visits of the visitors that start in [from, to].
	VisitsOf(ctx context.Context, siteID string, visitorIDs []string, from, to time.Time) ([]tributary.Visit, error)
	// TouchedPayments returns the payments with a member row of one of the visitors whose payment time is
	// at or after paidFrom.
	TouchedPayments(ctx context.Context, siteID string, visitorIDs []string, paidFrom time.Time) ([]string, error)
	// TouchVisitors returns the visitors of the site's member rows.
	TouchVisitors(ctx context.Context, siteID string) ([]string, error)
	// LinkedPayments returns every payment of the site that has a link fact.
	LinkedPayments(ctx context.Context, siteID string) ([]string, error)
	// ReplaceTouches replaces every row of the payments with rows (which belong to those payments), at
	// once for a reader.
	ReplaceTouches(ctx context.Context, siteID string, paymentIDs []string, rows []tributary.PaymentTouch) error
	// MarkTouches records durably that the site's touches may lag its facts (stale) or no longer do.
	MarkTouches(ctx context.Context, siteID string, stale bool) error
	// StaleTouches lists the sites marked stale.
	StaleTouches(ctx context.Context) ([]string, error)
}

// Maintainer keeps one store's touches. Its methods are safe for concurrent use; rewrites run one at a
// time, each from the facts committed when it reads them.
type Maintainer struct {
	st     Store
	log    *slog.Logger
	now    func() time.Time
	reload time.Duration

	mu    sync.Mutex
	sites map[string]*site
	seed  maphash.Seed
}

// site is what the maintainer keeps of one site: its identity graph and the visitors of paying people
// (hashed), so a batch of events of anyone else costs no query. Both are read from the store once and
// then grown by the writes that pass through this process; on a store written by several processes
// they are read again every Shared interval.
type site struct {
	graph    *people.Graph
	watched  map[uint64]struct{}
	loadedAt time.Time
	// marked: the stale mark is stored; failed: a rewrite failed, so the mark stays at Close and the
	// next start rebuilds the site.
	marked, failed bool
}

// Shared is how often a store written by several processes (ClickHouse behind several nodes) reads a
// site's graph and watched visitors again, for the links and identities another process wrote.
const Shared = time.Minute

// New returns a maintainer over st. reload is how often a site's graph and watched visitors are read
// again: 0 for a store only this process writes (the embedded one), Shared for one several write.
func New(st Store, log *slog.Logger, reload time.Duration) *Maintainer {
	if log == nil {
		log = slog.Default()
	}
	return &Maintainer{st: st, log: log, now: time.Now, reload: reload, sites: map[string]*site{}, seed: maphash.MakeSeed()}
}

// Open rebuilds the touches of every site marked stale: a process that stopped between a write and its
// rewrite, or whose rewrite failed, left the mark.
func (m *Maintainer) Open(ctx context.Context) error {
	stale, err := m.st.StaleTouches(ctx)
	if err != nil {
		return fmt.Errorf("touches: stale sites: %w", err)
	}
	for _, s := range stale {
		start := time.Now()
		n, err := m.Rebuild(ctx, s)
		if err != nil {
			return err
		}
		if err := m.st.MarkTouches(ctx, s, false); err != nil {
			return fmt.Errorf("touches: unmark %s: %w", s, err)
		}
		m.log.Info("payment touches rebuilt", slog.String("site", s), slog.Int("payments", n), slog.Duration("took", time.Since(start)))
	}
	return nil
}

// Close clears the stale marks of the sites this process kept without a failure.
func (m *Maintainer) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.sites {
		if s.marked && !s.failed {
			if err := m.st.MarkTouches(ctx, id, false); err != nil {
				return fmt.Errorf("touches: unmark %s: %w", id, err)
			}
			s.marked = false
		}
	}
	return nil
}

// Prepare is called before a write to the site's facts: it stores the stale mark once per process, so
// a crash between the write and its rewrite is healed by the next Open.
func (m *Maintainer) Prepare(ctx context.Context, siteIDs ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range siteIDs {
		s := m.sites[id]
		if s == nil {
			s = &site{}
			m.sites[id] = s
		}
		if s.marked {
			continue
		}
		if err := m.st.MarkTouches(ctx, id, true); err != nil {
			return fmt.Errorf("touches: mark %s: %w", id, err)
		}
		s.marked = true
	}
	return nil
}

// load reads the site's graph and watched visitors when they are missing or old (m.mu held).
func (m *Maintainer) load(ctx context.Context, id string) (*site, error) {
	s := m.sites[id]
	if s == nil {
		s = &site{}
		m.sites[id] = s
	}
	if s.graph != nil && (m.reload == 0 || m.now().Sub(s.loadedAt) < m.reload) {
		return s, nil
	}
	rows, err := m.st.IdentityKeys(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("touches: identity graph of %s: %w", id, err)
	}
	g := people.New()
	for _, r := range rows {
		g.Add(r)
	}
	visitors, err := m.st.TouchVisitors(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("touches: paying visitors of %s: %w", id, err)
	}
	s.graph, s.watched, s.loadedAt = g, make(map[uint64]struct{}, len(visitors)), m.now()
	for _, v := range visitors {
		s.watched[m.hash(v)] = struct{}{}
	}
	return s, nil
}

func (m *Maintainer) hash(v string) uint64 { return maphash.String(m.seed, v) }

// Events rewrites the touches a stored batch of events can change: the payments of the people whose
// visitors the batch has events of, made at or after a day before those events.
func (m *Maintainer) Events(ctx context.Context, events []tributary.Event) error {
	type firstSeen = map[string]time.Time
	bySite := map[string]firstSeen{}
	for i := range events {
		e := &events[i]
		vs := bySite[e.SiteID]
		if vs == nil {
			vs = firstSeen{}
			bySite[e.SiteID] = vs
		}
		if t, ok := vs[e.VisitorID]; !ok || e.Timestamp.Before(t) {
			vs[e.VisitorID] = e.Timestamp
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for id, vs := range bySite {
		s, err := m.load(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var hit []string
		var since time.Time
		for v, t := range vs {
			if _, ok := s.watched[m.hash(v)]; !ok {
				continue
			}
			hit = append(hit, v)
			if since.IsZero() || t.Before(since) {
				since = t
			}
		}
		if len(hit) == 0 {
			continue
		}
		errs = append(errs, m.rewriteOf(ctx, id, s, hit, since.Add(-visitSpan), nil))
	}
	return joinErrs(errs)
}

// Identities rewrites the touches new identity facts can change: the payments they link, and every
// payment of two people they join.
func (m *Maintainer) Identities(ctx context.Context, ids []tributary.Identity) error {
	bySite := map[string][]tributary.Identity{}
	for _, id := range ids {
		bySite[id.SiteID] = append(bySite[id.SiteID], id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for id, list := range bySite {
		s, err := m.load(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var payments, joined []string
		for _, f := range list {
			if f.PaymentID != "" {
				payments = append(payments, f.PaymentID)
			}
			if f.VisitorID == "" || f.PersonID == "" && f.CustomerID == "" && f.Email == "" {
				continue
			}
			if merged, group := s.graph.Add(people.Row{f.VisitorID, f.PersonID, f.CustomerID, f.Email}); merged {
				joined = append(joined, group...)
			}
		}
		errs = append(errs, m.rewriteOf(ctx, id, s, joined, time.Time{}, payments))
	}
	return joinErrs(errs)
}

// Ledger rewrites the touches of the payments that got a payment entry (their payment time may have
// moved).
func (m *Maintainer) Ledger(ctx context.Context, entries []tributary.LedgerEntry) error {
	bySite := map[string][]string{}
	for _, e := range entries {
		if e.Kind == tributary.EntryPayment {
			bySite[e.SiteID] = append(bySite[e.SiteID], e.PaymentID)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for id, payments := range bySite {
		s, err := m.load(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, m.rewriteOf(ctx, id, s, nil, time.Time{}, payments))
	}
	return joinErrs(errs)
}

// Reset forgets what the maintainer keeps of a site whose facts were deleted.
func (m *Maintainer) Reset(siteID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sites[siteID]; s != nil {
		s.graph = nil
	}
}

// rewriteOf rewrites the given payments and those with a member row of one of visitors paid at or
// after paidFrom (m.mu held). A failure marks the site failed, so its stale mark outlives the process.
func (m *Maintainer) rewriteOf(ctx context.Context, id string, s *site, visitors []string, paidFrom time.Time, payments []string) error {
	err := func() error {
		if len(visitors) > 0 {
			more, err := m.st.TouchedPayments(ctx, id, dedup(visitors), paidFrom)
			if err != nil {
				return fmt.Errorf("touches: payments of visitors: %w", err)
			}
			payments = append(payments, more...)
		}
		return m.rewrite(ctx, id, s, dedup(payments))
	}()
	if err != nil {
		s.failed = true
	}
	return err
}

// Rebuild rewrites every linked payment of the site and reports how many there are.
func (m *Maintainer) Rebuild(ctx context.Context, siteID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sites[siteID]; s != nil {
		s.graph = nil // read the graph afresh
	}
	s, err := m.load(ctx, siteID)
	if err != nil {
		return 0, err
	}
	payments, err := m.st.LinkedPayments(ctx, siteID)
	if err != nil {
		return 0, fmt.Errorf("touches: linked payments of %s: %w", siteID, err)
	}
	if err := m.rewrite(ctx, siteID, s, payments); err != nil {
		s.failed = true
		return 0, err
	}
	return len(payments), nil
}

// rewrite works out and replaces the rows of payments, a chunk at a time (m.mu held).
func (m *Maintainer) rewrite(ctx context.Context, id string, s *site, payments []string) error {
	for i := 0; i < len(payments); i += chunk {
		part := payments[i:min(i+chunk, len(payments))]
		rows, err := m.rows(ctx, id, s, part)
		if err != nil {
			return err
		}
		if err := m.st.ReplaceTouches(ctx, id, part, rows); err != nil {
			return fmt.Errorf("touches: replace %d payments of %s: %w", len(part), id, err)
		}
		for _, r := range rows {
			if r.SessionID == "" {
				s.watched[m.hash(r.VisitorID)] = struct{}{}
			}
		}
	}
	return nil
}

// rows works out the touches of payments from the committed facts.
func (m *Maintainer) rows(ctx context.Context, id string, s *site, payments []string) ([]tributary.PaymentTouch, error) {
	links, err := m.st.PaymentLinks(ctx, id, payments)
	if err != nil {
		return nil, fmt.Errorf("touches: links: %w", err)
	}
	times, err := m.st.PaymentTimes(ctx, id, payments)
	if err != nil {
		return nil, fmt.Errorf("touches: payment times: %w", err)
	}
	type paying struct {
		id      string
		at      time.Time
		members []string
	}
	var list []paying
	var from, to time.Time
	seen := map[string]bool{}
	var visitors []string
	var out []tributary.PaymentTouch
	for _, p := range payments {
		l := links[p]
		if l == nil {
			continue // not linked: counted as Direct
		}
		at, ok := times[p]
		if !ok {
			at = l.At // linked before its entry was stored; the entry rewrites it
		}
		if l.VisitorID == "" {
			// Unattributed: one row holding the visit its link describes.
			out = append(out, tributary.PaymentTouch{PaymentID: p, Visit: tributary.Visit{Start: at, Values: tributary.UnattributedValues(l)},
				TouchOrder: tributary.TouchOrder{Paid: at}})
			continue
		}
		pp := paying{id: p, at: at, members: s.graph.Members(l.VisitorID)}
		list = append(list, pp)
		if from.IsZero() || at.Add(-Lookback).Before(from) {
			from = at.Add(-Lookback)
		}
		if at.After(to) {
			to = at
		}
		for _, v := range pp.members {
			if !seen[v] {
				seen[v] = true
				visitors = append(visitors, v)
			}
		}
	}
	if len(list) == 0 {
		return out, nil
	}
	sort.Strings(visitors)
	visits, err := m.st.VisitsOf(ctx, id, visitors, from, to)
	if err != nil {
		return nil, fmt.Errorf("touches: visits: %w", err)
	}
	byVisitor := map[string][]tributary.Visit{}
	for _, v := range visits {
		byVisitor[v.VisitorID] = append(byVisitor[v.VisitorID], v)
	}
	for _, p := range list {
		person := p.members[0]
		var touched []tributary.PaymentTouch
		for _, v := range p.members {
			out = append(out, tributary.PaymentTouch{PaymentID: p.id, Person: person, Visit: tributary.Visit{VisitorID: v, Start: p.at},
				TouchOrder: tributary.TouchOrder{Paid: p.at}})
			for _, vis := range byVisitor[v] {
				if !vis.Start.Before(p.at.Add(-Lookback)) && !vis.Start.After(p.at) {
					touched = append(touched, tributary.PaymentTouch{PaymentID: p.id, Person: person, Visit: vis})
				}
			}
		}
		out = append(out, order(touched, p.at)...)
	}
	return out, nil
}

// order fills the TouchOrder of one payment's visit rows, in the order the attribution models read
// visits (start, then session id).
func order(rows []tributary.PaymentTouch, paid time.Time) []tributary.PaymentTouch {
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].Start.Equal(rows[j].Start) {
			return rows[i].Start.Before(rows[j].Start)
		}
		return rows[i].SessionID < rows[j].SessionID
	})
	lastND := -1
	for i := range rows {
		rows[i].Paid = paid
		if i > 0 {
			rows[i].Prev = rows[i-1].Start
		}
		if !attribution.IsDirectChannel(rows[i].Values[0]) {
			lastND = i
		}
	}
	if n := len(rows); n > 0 {
		rows[n-1].Last = true
	}
	if lastND >= 0 {
		rows[lastND].LastNonDirect = true
		for i := range rows {
			rows[i].LastNonDirectStart = rows[lastND].Start
		}
	}
	return rows
}

func dedup(list []string) []string {
	if len(list) < 2 {
		return list
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

func joinErrs(errs []error) error {
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return fmt.Errorf("%w (and %d more)", out[0], len(out)-1)
}

// PickModels are the single-touch models a store may keep each payment's pick of at the default lookback
// (DuckDB's payment_picks, written with the payment's touches): one row a payment, which a money query at
// that lookback reads instead of applying the pick's condition (tributary.TouchOrder) to every touch row
// of the site.
var PickModels = []attribution.Model{attribution.FirstTouch, attribution.LastTouch, attribution.LastNonDirect}

// Pick is the index in rows (one payment's touches) of the row model m credits the payment to at the
// default lookback, false when none: the unattributed payment's own row under every model, else the
// visit row tributary.TouchOrder marks for m among the visits starting inside the lookback. It is the
// condition the stats engine applies to the touches at any lookback (stats/moneysql.go), for a store that
// keeps the picks and works them out in Go: ClickHouse, which keeps whole seconds, so the times are
// compared on whole seconds as its statements compare them.
func Pick(rows []tributary.PaymentTouch, m attribution.Model) (int, bool) {
	sec := func(t time.Time) time.Time { return t.Truncate(time.Second) }
	for i := range rows {
		r := &rows[i]
		if r.SessionID == "" {
			if r.VisitorID == "" {
				return i, true
			}
			continue // a member row
		}
		from := sec(r.Paid).Add(-attribution.DefaultLookbackDays * 24 * time.Hour)
		if sec(r.Start).Before(from) {
			continue
		}
		var ok bool
		switch m {
		case attribution.FirstTouch:
			ok = sec(r.Prev).Before(from)
		case attribution.LastTouch:
			ok = r.Last
		default:
			ok = r.LastNonDirect || r.Last && sec(r.LastNonDirectStart).Before(from)
		}
		if ok {
			return i, true
		}
	}
	return 0, false
}

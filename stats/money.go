package stats

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

// ledgerPart is the range's ledger as read.
type ledgerPart struct {
	entries     []entry
	unconverted int
	paidAt      map[string]time.Time
}

type entry struct {
	id, kind, payment, currency, customer string
	at                                    time.Time
	amount                                int64 // reporting currency, minor units
}

// countable returns the entries that count their payment once (payments, customers): each payment's first
// payment entry, when its payment entries add up to more than zero. The reconciliation appends
// differences, so one payment may have several payment entries (a corrected gross), and a payment found
// to be the same money as another nets to zero and counts nowhere.
func (md *moneyData) countable() map[*entry]bool {
	net := map[string]int64{}
	first := map[string]*entry{}
	for i := range md.entries {
		en := &md.entries[i]
		if en.kind != tributary.EntryPayment {
			continue
		}
		net[en.payment] += en.amount
		if f := first[en.payment]; f == nil || en.at.Before(f.at) || (en.at.Equal(f.at) && en.id < f.id) {
			first[en.payment] = en
		}
	}
	out := make(map[*entry]bool, len(first))
	for p, en := range first {
		if net[p] > 0 {
			out[en] = true
		}
	}
	return out
}

type link struct {
	visitor, session, method, person, customer, email  string
	channel, source, utmSource, utmMedium, utmCampaign string
}

type session struct {
	id, visitor string
	start       time.Time
	dims        *dimVals
}

// visitDimNames are the visit dimensions in the order a touchpoint keeps their values.
var visitDimNames = []string{"visit:channel", "visit:source", "visit:referrer", "visit:utm_source", "visit:utm_medium", "visit:utm_campaign",
	"visit:utm_term", "visit:utm_content", "visit:click_id_platform", "visit:country", "visit:region", "visit:device", "visit:browser", "visit:os",
	"visit:entry_page", "visit:exit_page"}

// dimVals holds a touchpoint's visit dimension values, indexed as visitDimNames.
type dimVals [16]string

var visitDimIndex = func() map[string]int {
	m := map[string]int{}
	for i, d := range visitDimNames {
		m[d] = i
	}
	return m
}()

// get is the value of visit dimension d ("" for a nil touchpoint: an entry credited without one).
func (v *dimVals) get(d string) string {
	if v == nil {
		return ""
	}
	return v[visitDimIndex[d]]
}

// moneyData is what the money metrics of one range need. Parts are loaded as queries need them and
// kept for the request: the KPIs need only the ledger, the panels the touches too.
type moneyData struct {
	entries     []entry
	unconverted int
	paidAt      map[string]time.Time // payment → time of its payment entry (for refunds of older payments)
	links       map[string]*link
	products    map[string]string
	// touched holds each linked payment's visits of the payment touches (touches/): the paying person's
	// visits in the year before the payment. persons holds each linked payment's person (its member rows).
	touched map[string]*payTouches
	persons map[string]string

	site     string
	test     bool
	from, to time.Time
	loaded   map[string]bool // "links", "products", "touches", "people"

	// credited holds each model's credits (by model and lookback): the dashboard's panels group the
	// same credits differently, so they are worked out once per page (md lives in a request's Cache).
	credited map[string][]credit

	// mu is held to load parts and read-held while a query reads them (a page's queries run
	// concurrently); creditMu guards credited.
	mu       sync.RWMutex
	creditMu sync.Mutex
}

// payTouches are one payment's touches.
type payTouches struct {
	person string
	// paid is the payment time the touches were chosen by (their member rows'): the lookback counts back
	// from it, on this path as where the store sums money (moneysql.go).
	paid   time.Time
	visits []*session // in no particular order (attribution.Select orders them)
}

// moneyNeeds lists the parts of moneyData q reads beyond the ledger. Without a visit dimension, a visit
// filter or time to convert, no touchpoint is needed: every entry's credits sum to the entry.
func moneyNeeds(q *Query) []string {
	var links, products, touches, people bool
	for _, d := range q.Dimensions {
		switch {
		case visitDims[d] != "":
			touches = true
		case d == "payment:product":
			products = true
		case d == "payment:link_method":
			links = true
		}
	}
	if visitFiltered(q.Filters) {
		touches = true
	}
	for _, m := range q.Metrics {
		switch m {
		case "time_to_convert":
			touches = true
		case "customers", "ltv":
			people = true // the paying person
		}
	}
	var out []string
	if links || touches || people {
		out = append(out, "links")
	}
	if products {
		out = append(out, "products")
	}
	if touches {
		out = append(out, "touches")
	}
	if people {
		out = append(out, "people")
	}
	return out
}

func visitFiltered(fs []Filter) bool {
	for _, d := range filterDims(fs) {
		if visitDims[d] != "" {
			return true
		}
	}
	return false
}

// credits returns the entries' credits under q's model, computed once per model for md; queries that
// need no touchpoint get each entry whole.
func (e *Engine) credits(q *Query, md *moneyData) []credit {
	key := fmt.Sprint(q.Model, "/", q.Lookback)
	if !md.loaded["touches"] {
		key = "whole"
	}
	md.creditMu.Lock()
	defer md.creditMu.Unlock()
	if c, ok := md.credited[key]; ok {
		return c
	}
	var c []credit
	if key == "whole" {
		c = make([]credit, len(md.entries))
		for i := range md.entries {
			c[i] = credit{entry: &md.entries[i], amount: md.entries[i].amount, main: true}
		}
	} else {
		c = e.attribute(q, md)
	}
	if md.credited == nil {
		md.credited = map[string][]credit{}
	}
	md.credited[key] = c
	return c
}

// rangeArgs is md's range of ledger entries, " FROM … WHERE …" (Dialect.LedgerIn), with its own argument
// list.
func (md *moneyData) rangeArgs(d Dialect) (*args, string) {
	a := &args{d: d}
	site, from, to := a.add(md.site), a.add(md.from), a.add(md.to)
	return a, ` FROM ` + d.LedgerIn(site, from, to) + ` WHERE site_id = ` + site + ` AND livemode = ` + a.add(!md.test) + ` AND occurred_at >= ` + from +
		` AND occurred_at < ` + to + ` AND kind <> 'payment_failed'`
}

// paymentSet is the SQL of the range's payments (for an IN clause), with its own argument list.
func (md *moneyData) paymentSet(d Dialect) (*args, string) {
	a, rangeWhere := md.rangeArgs(d)
	return a, `SELECT payment_id` + rangeWhere
}

func (e *Engine) loadMoney(ctx context.Context, q *Query, from, to time.Time) (*moneyData, error) {
	load := func() (any, error) { return e.loadLedger(ctx, q, from, to) }
	var v any
	var err error
	if c := cacheFrom(ctx); c != nil {
		v, err = c.get(fmt.Sprint("money/", q.Site.ID, q.Test, from.UnixNano(), to.UnixNano()), load)
	} else {
		v, err = load()
	}
	if err != nil {
		return nil, err
	}
	md := v.(*moneyData)
	md.mu.Lock()
	defer md.mu.Unlock()
	// The parts are independent reads, each into its own map: they run at once.
	var missing []string
	for _, part := range moneyNeeds(q) {
		if !md.loaded[part] && (len(md.paidAt) > 0 || len(md.entries) > 0) {
			missing = append(missing, part)
		}
	}
	errs := make([]error, len(missing))
	var wg sync.WaitGroup
	for i, part := range missing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch part {
			case "links":
				errs[i] = e.loadLinks(ctx, md)
			case "products":
				errs[i] = e.loadProducts(ctx, md)
			case "touches":
				errs[i] = e.loadTouches(ctx, md)
			case "people":
				errs[i] = e.loadPeople(ctx, md)
			}
		}()
	}
	wg.Wait()
	for i, part := range missing {
		if errs[i] != nil {
			return nil, errs[i]
		}
		md.loaded[part] = true
	}
	return md, nil
}

// loadLedger reads the range's entries and the payment time of each payment they belong to.
func (e *Engine) loadLedger(ctx context.Context, q *Query, from, to time.Time) (*moneyData, error) {
	md := &moneyData{links: map[string]*link{}, products: map[string]string{}, touched: map[string]*payTouches{},
		persons: map[string]string{}, site: q.Site.ID, test: q.Test, from: from, to: to, loaded: map[string]bool{}}
	lp, err := e.readLedger(ctx, md)
	if err != nil {
		return nil, err
	}
	md.entries, md.unconverted, md.paidAt = lp.entries, lp.unconverted, lp.paidAt
	return md, nil
}

// readLedger reads md's range of the ledger.
func (e *Engine) readLedger(ctx context.Context, md *moneyData) (*ledgerPart, error) {
	lp := &ledgerPart{paidAt: map[string]time.Time{}}
	// The range's payments are a subquery the later reads join on (an IN list of thousands of literals
	// costs more to plan than to run).
	a, rangeWhere := md.rangeArgs(e.d)
	rows, err := e.db.QueryContext(ctx, `SELECT id, kind, payment_id, occurred_at, reporting_amount, converted, currency, customer_id`+
		rangeWhere+` ORDER BY occurred_at, id`, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: ledger: %w", err)
	}
	payments := map[string]bool{}
	for rows.Next() {
		var en entry
		var converted bool
		if err := rows.Scan(&en.id, &en.kind, &en.payment, &en.at, &en.amount, &converted, &en.currency, &en.customer); err != nil {
			rows.Close()
			return nil, fmt.Errorf("stats: ledger: %w", err)
		}
		if !converted {
			lp.unconverted++
			continue
		}
		lp.entries = append(lp.entries, en)
		payments[en.payment] = true
		if _, ok := lp.paidAt[en.payment]; !ok && en.kind == tributary.EntryPayment {
			lp.paidAt[en.payment] = en.at
		}
	}
	rows.Close()
	// Refunds and disputes of payments made before the range are credited through those payments.
	var missing []string
	for p := range payments {
		if _, ok := lp.paidAt[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		ma := &args{d: e.d}
		site := ma.add(md.site)
		r, err := e.db.QueryContext(ctx, `SELECT payment_id, min(occurred_at) FROM ledger WHERE site_id = `+site+` AND kind = 'payment' AND payment_id IN (`+
			ma.list(missing)+`) GROUP BY payment_id`, ma.vals...)
		if err != nil {
			return nil, fmt.Errorf("stats: payment times: %w", err)
		}
		for r.Next() {
			var p string
			var t time.Time
			if err := r.Scan(&p, &t); err != nil {
				r.Close()
				return nil, fmt.Errorf("stats: payment times: %w", err)
			}
			lp.paidAt[p] = t
		}
		r.Close()
	}
	return lp, nil
}

// loadLinks reads the newest link of each of the range's payments.
func (e *Engine) loadLinks(ctx context.Context, md *moneyData) error {
	a, inRange := md.paymentSet(e.d)
	r, err := e.db.QueryContext(ctx, `SELECT payment_id, visitor_id, session_id, link_method, channel, referrer_source, utm_source, utm_medium, utm_campaign, ts
		FROM identities WHERE site_id = `+a.add(md.site)+` AND payment_id IN (`+inRange+`) ORDER BY ts, rowid`, a.vals...)
	if err != nil {
		return fmt.Errorf("stats: links: %w", err)
	}
	defer r.Close()
	for r.Next() {
		l := &link{}
		var p string
		var ts time.Time
		if err := r.Scan(&p, &l.visitor, &l.session, &l.method, &l.channel, &l.source, &l.utmSource, &l.utmMedium, &l.utmCampaign, &ts); err != nil {
			return fmt.Errorf("stats: links: %w", err)
		}
		md.links[p] = l
	}
	return r.Err()
}

// loadProducts reads each payment's product: from its payment record (Stripe, through the engine's
// PaymentRecords) where it has one, else from its ledger entries (API payments).
func (e *Engine) loadProducts(ctx context.Context, md *moneyData) error {
	a, rangeWhere := md.rangeArgs(e.d)
	inRange := `SELECT payment_id` + rangeWhere
	pr, err := e.db.QueryContext(ctx, `SELECT payment_id, max(product) FROM ledger WHERE site_id = `+a.add(md.site)+` AND product <> '' AND payment_id IN (`+inRange+`) GROUP BY payment_id`, a.vals...)
	if err != nil {
		return fmt.Errorf("stats: products: %w", err)
	}
	for pr.Next() {
		var p, prod string
		if err := pr.Scan(&p, &prod); err != nil {
			pr.Close()
			return fmt.Errorf("stats: products: %w", err)
		}
		md.products[p] = prod
	}
	pr.Close()
	if err := pr.Err(); err != nil {
		return fmt.Errorf("stats: products: %w", err)
	}
	if e.records == nil {
		return nil
	}
	ids := make([]string, 0, len(md.paidAt))
	for p := range md.paidAt {
		ids = append(ids, p)
	}
	recs, err := e.records.PaymentsByID(ctx, md.site, ids)
	if err != nil {
		return fmt.Errorf("stats: payment records: %w", err)
	}
	for p, r := range recs {
		if r != nil && r.Product != "" {
			md.products[p] = r.Product
		}
	}
	return nil
}

// loadTouches reads the payment touches of the range's payments: each paying person and their visits
// in the year before the payment (the lookback is a filter over them, applied as credits are worked out).
func (e *Engine) loadTouches(ctx context.Context, md *moneyData) error {
	a, inRange := md.paymentSet(e.d)
	// The dimension values travel as one text per row: reading sixteen columns a value at a time costs
	// more than the query.
	r, err := e.db.QueryContext(ctx, `SELECT payment_id, person, visitor_id, session_id, start_ts, paid_ts, `+e.d.JoinText(tributary.VisitColumns[:])+
		` FROM `+e.d.Touches()+` t WHERE site_id = `+a.add(md.site)+` AND session_id <> '' AND payment_id IN (`+inRange+`)`, a.vals...)
	if err != nil {
		return fmt.Errorf("stats: payment touches: %w", err)
	}
	type key struct{ payment, session string }
	var ambiguous []key
	for r.Next() {
		var p, person, visitor, sid, joined string
		var start, paid time.Time
		if err := r.Scan(&p, &person, &visitor, &sid, &start, &paid, &joined); err != nil {
			r.Close()
			return fmt.Errorf("stats: payment touches: %w", err)
		}
		pt := md.touched[p]
		if pt == nil {
			pt = &payTouches{person: person, paid: paid}
			md.touched[p] = pt
		}
		s := &session{id: sid, visitor: visitor, start: start, dims: &dimVals{}}
		if strings.Count(joined, textSep) != len(s.dims)-1 {
			ambiguous = append(ambiguous, key{p, sid}) // a value holds the separator itself
		} else {
			for i := range s.dims {
				s.dims[i], joined, _ = strings.Cut(joined, textSep)
			}
		}
		pt.visits = append(pt.visits, s)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return fmt.Errorf("stats: payment touches: %w", err)
	}
	for _, k := range ambiguous {
		if err := e.readTouchValues(ctx, md, k.payment, k.session); err != nil {
			return err
		}
	}
	return nil
}

// loadPeople reads the paying person of each of the range's linked payments, from its member rows
// (customers and LTV count people; the member rows carry no visit).
func (e *Engine) loadPeople(ctx context.Context, md *moneyData) error {
	a, inRange := md.paymentSet(e.d)
	r, err := e.db.QueryContext(ctx, `SELECT payment_id, min(person) FROM `+e.d.Touches()+` t WHERE site_id = `+a.add(md.site)+
		` AND session_id = '' AND visitor_id <> '' AND payment_id IN (`+inRange+`) GROUP BY payment_id`, a.vals...)
	if err != nil {
		return fmt.Errorf("stats: paying people: %w", err)
	}
	defer r.Close()
	for r.Next() {
		var p, person string
		if err := r.Scan(&p, &person); err != nil {
			return fmt.Errorf("stats: paying people: %w", err)
		}
		md.persons[p] = person
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("stats: paying people: %w", err)
	}
	return nil
}

// readTouchValues reads one touch's values column by column (rare: a value holds textSep).
func (e *Engine) readTouchValues(ctx context.Context, md *moneyData, payment, session string) error {
	a := &args{d: e.d}
	cols := make([]string, len(tributary.VisitColumns))
	for i, c := range tributary.VisitColumns {
		cols[i] = c
	}
	var v dimVals
	dest := make([]any, len(v))
	for i := range v {
		dest[i] = &v[i]
	}
	err := e.db.QueryRowContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+e.d.Touches()+` t WHERE site_id = `+a.add(md.site)+
		` AND payment_id = `+a.add(payment)+` AND session_id = `+a.add(session)+` LIMIT 1`, a.vals...).Scan(dest...)
	if err != nil {
		return fmt.Errorf("stats: payment touches: %w", err)
	}
	for _, s := range md.touched[payment].visits {
		if s.id == session {
			*s.dims = v
		}
	}
	return nil
}

// textSep separates the values JoinText joins (the unit separator); a visit whose values hold it is
// read again column by column.
const textSep = "\x1f"

// credit is one share of an entry to a touchpoint.
type credit struct {
	entry  *entry
	amount int64
	dims   *dimVals // nil when the entry is credited whole, without a touchpoint
	main   bool     // the payment's largest share: counts the payment and the customer once
}

// attribute credits every entry to touchpoints under the query's model.
func (e *Engine) attribute(q *Query, md *moneyData) []credit {
	var out []credit
	type touched struct {
		touches []attribution.Touchpoint
		dims    []*dimVals
	}
	cache := map[string]touched{}
	for i := range md.entries {
		en := &md.entries[i]
		paid := md.paid(en)
		t, ok := cache[en.payment]
		if !ok {
			t.touches, t.dims = md.touches(en.payment, paid, q.Lookback)
			cache[en.payment] = t
		}
		for _, s := range shareEntry(q.Model, t.touches, t.dims, md.links[en.payment], paid, en.amount) {
			out = append(out, credit{entry: en, amount: s.amount, dims: s.dims, main: s.main})
		}
	}
	return out
}

// paid is the time the lookback of en's payment counts back from: the touches' payment time, else the
// payment's first payment entry, else en's own time (a refund of a payment never stored).
func (md *moneyData) paid(en *entry) time.Time {
	if pt := md.touched[en.payment]; pt != nil {
		return pt.paid
	}
	if t, ok := md.paidAt[en.payment]; ok {
		return t
	}
	return en.at
}

// share is one part of an entry's credits, without the entry (the memo keeps them between requests).
type share struct {
	amount int64
	dims   *dimVals
	main   bool
}

// shareEntry credits an entry of amount, of a payment made at paid, over the payment's touchpoints.
func shareEntry(model attribution.Model, touches []attribution.Touchpoint, dims []*dimVals, l *link, paid time.Time, amount int64) []share {
	// The main share is the largest; an entry of nothing goes where a unit would (the model's touch).
	weigh := amount
	if weigh == 0 {
		weigh = 1
	}
	shares := attribution.Credit(model, touches, paid, weigh)
	best, bestAmt := -1, int64(-1)
	for si, s := range shares {
		if a := abs(s.Amount); a > bestAmt {
			best, bestAmt = si, a
		}
	}
	if amount == 0 {
		for si := range shares {
			shares[si].Amount = 0
		}
	}
	out := make([]share, 0, len(shares))
	for si, s := range shares {
		if s.Amount == 0 && si != best {
			continue // a touch the model gives nothing is not a row of its own
		}
		var d *dimVals
		if s.Index >= 0 && s.Index < len(dims) {
			d = dims[s.Index]
		} else {
			d = synthetic(l)
		}
		out = append(out, share{amount: s.Amount, dims: d, main: si == best})
	}
	return out
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// touches returns the payment's touchpoints inside the lookback and their dimension values: the paying
// person's visits, or one synthetic touch from the link (an unattributed payment's referrer/utm, else
// Direct; a linked payment without a visit in the lookback is Direct).
func (md *moneyData) touches(payment string, paid time.Time, lookback time.Duration) ([]attribution.Touchpoint, []*dimVals) {
	l := md.links[payment]
	if l == nil || l.visitor == "" {
		d := synthetic(l)
		return []attribution.Touchpoint{{SessionID: "", Start: paid, Channel: d.get("visit:channel"), Direct: true}}, []*dimVals{d}
	}
	var all []attribution.Touchpoint
	byID := map[string]*dimVals{}
	if pt := md.touched[payment]; pt != nil {
		for _, s := range pt.visits {
			ch := s.dims[0]
			all = append(all, attribution.Touchpoint{SessionID: s.id, Start: s.start, Channel: ch, Source: s.dims[1], Direct: attribution.IsDirectChannel(ch)})
			byID[s.id] = s.dims
		}
	}
	sel := attribution.Select(all, paid, lookback)
	if len(sel) == 0 {
		d := &dimVals{}
		d[0] = "Direct"
		return []attribution.Touchpoint{{Start: paid, Channel: "Direct", Direct: true}}, []*dimVals{d}
	}
	dims := make([]*dimVals, len(sel))
	for i, t := range sel {
		dims[i] = byID[t.SessionID]
	}
	return sel, dims
}

// synthetic is the session an unattributed payment is counted in (the touches keep the same values in
// the payment's own row, which the store's sums read).
func synthetic(l *link) *dimVals {
	var id *tributary.Identity
	if l != nil {
		id = &tributary.Identity{Channel: l.channel, ReferrerSource: l.source, UTMSource: l.utmSource, UTMMedium: l.utmMedium, UTMCampaign: l.utmCampaign}
	}
	d := dimVals(tributary.UnattributedValues(id))
	return &d
}

// matches applies visit filters to a credit's touchpoint.
func matches(fs []Filter, dims *dimVals) bool {
	for _, f := range fs {
		if !matchOne(f, dims) {
			return false
		}
	}
	return true
}

func matchOne(f Filter, dims *dimVals) bool {
	switch f.Op {
	case "and":
		for _, c := range f.Children {
			if !matchOne(c, dims) {
				return false
			}
		}
		return true
	case "or":
		for _, c := range f.Children {
			if matchOne(c, dims) {
				return true
			}
		}
		return false
	}
	if visitDims[f.Dim] == "" {
		return true // event filters do not restrict money (it is credited to visits)
	}
	v := dims.get(f.Dim)
	hit := false
	for i, want := range f.Values {
		switch f.Op {
		case "is", "is_not":
			hit = hit || v == want
		case "contains":
			hit = hit || strings.Contains(v, want)
		case "matches":
			hit = hit || f.re[i].MatchString(v)
		}
	}
	if f.Op == "is_not" {
		return !hit
	}
	return hit
}

// list adds ids as bind parameters and returns their placeholders, so no id is ever spliced into SQL
// (ClickHouse reads backslash escapes in literals, so quoting rules differ between stores).
func (a *args) list(ids []string) string {
	ps := make([]string, len(ids))
	for i, id := range ids {
		ps[i] = a.add(id)
	}
	return strings.Join(ps, ",")
}

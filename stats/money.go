package stats

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

type entry struct {
	id, kind, payment, currency, customer string
	at                                    time.Time
	amount                                int64 // reporting currency, minor units
}

type link struct {
	visitor, session, method, person, customer, email  string
	channel, source, utmSource, utmMedium, utmCampaign string
}

type session struct {
	id, visitor string
	start       time.Time
	dims        map[string]string // visit:* dimension → value
}

// moneyData is what the money metrics of one range need.
type moneyData struct {
	entries     []entry
	unconverted int
	paidAt      map[string]time.Time // payment → time of its payment entry (for refunds of older payments)
	links       map[string]*link
	products    map[string]string
	sessions    map[string][]*session // visitor → sessions
	persons     map[string][]string   // visitor → all visitors of the same person

	// credited holds each model's credits (by model and lookback): the dashboard's panels group the
	// same credits differently, so they are worked out once per page (md lives in a request's Cache).
	credited map[string][]credit
}

// credits returns the entries' credits under q's model, computed once per model for md.
func (e *Engine) credits(q *Query, md *moneyData) []credit {
	key := fmt.Sprint(q.Model, "/", q.Lookback)
	if c, ok := md.credited[key]; ok {
		return c
	}
	c := e.attribute(q, md)
	if md.credited == nil {
		md.credited = map[string][]credit{}
	}
	md.credited[key] = c
	return c
}

func (e *Engine) loadMoney(ctx context.Context, q *Query, from, to time.Time) (md *moneyData, err error) {
	if c := cacheFrom(ctx); c != nil {
		key := fmt.Sprint(q.Site.ID, q.Test, from.UnixNano(), to.UnixNano(), q.Lookback)
		if md, ok := c.money[key]; ok {
			return md, nil
		}
		defer func() {
			if md != nil && err == nil {
				c.money[key] = md
			}
		}()
	}
	md = &moneyData{paidAt: map[string]time.Time{}, links: map[string]*link{}, products: map[string]string{}, sessions: map[string][]*session{}, persons: map[string][]string{}}
	// The range's payments, as a subquery the later reads join on (an IN list of thousands of literals
	// costs more to plan than to run). Each read gets its own argument list.
	rangeArgs := func() (*args, string) {
		a := &args{d: e.d}
		return a, ` WHERE site_id = ` + a.add(q.Site.ID) + ` AND livemode = ` + a.add(!q.Test) + ` AND occurred_at >= ` + a.add(from) +
			` AND occurred_at < ` + a.add(to) + ` AND kind <> 'payment_failed'`
	}
	a, rangeWhere := rangeArgs()
	rows, err := e.db.QueryContext(ctx, `SELECT id, kind, payment_id, occurred_at, reporting_amount, converted, currency, customer_id FROM ledger`+
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
			md.unconverted++
			continue
		}
		md.entries = append(md.entries, en)
		payments[en.payment] = true
		if en.kind == tributary.EntryPayment {
			md.paidAt[en.payment] = en.at
		}
	}
	rows.Close()
	if len(payments) == 0 {
		return md, nil
	}
	// Refunds and disputes of payments made before the range are credited through those payments.
	var missing []string
	for p := range payments {
		if _, ok := md.paidAt[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		ma := &args{d: e.d}
		site := ma.add(q.Site.ID)
		r, err := e.db.QueryContext(ctx, `SELECT payment_id, min(occurred_at) FROM ledger WHERE site_id = `+site+` AND kind = 'payment' AND payment_id IN (`+
			ma.list(missing)+`) GROUP BY payment_id`, ma.vals...)
		if err != nil {
			return nil, fmt.Errorf("stats: payment times: %w", err)
		}
		for r.Next() {
			var p string
			var t time.Time
			r.Scan(&p, &t)
			md.paidAt[p] = t
		}
		r.Close()
	}
	// Newest link per payment.
	a, rangeWhere = rangeArgs()
	inRange := `SELECT payment_id FROM ledger` + rangeWhere
	r, err := e.db.QueryContext(ctx, `SELECT payment_id, visitor_id, session_id, link_method, channel, referrer_source, utm_source, utm_medium, utm_campaign, ts
		FROM identities WHERE site_id = `+a.add(q.Site.ID)+` AND payment_id IN (`+inRange+`) ORDER BY ts, rowid`, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: links: %w", err)
	}
	visitors := map[string]bool{}
	for r.Next() {
		l := &link{}
		var p string
		var ts time.Time
		if err := r.Scan(&p, &l.visitor, &l.session, &l.method, &l.channel, &l.source, &l.utmSource, &l.utmMedium, &l.utmCampaign, &ts); err != nil {
			r.Close()
			return nil, fmt.Errorf("stats: links: %w", err)
		}
		md.links[p] = l
	}
	r.Close()
	for _, l := range md.links {
		if l.visitor != "" {
			visitors[l.visitor] = true
		}
	}
	// Products from payment records (Stripe) or ledger entries (API).
	a, rangeWhere = rangeArgs()
	inRange = `SELECT payment_id FROM ledger` + rangeWhere
	pr, err := e.db.QueryContext(ctx, `SELECT payment_id, max(product) FROM ledger WHERE site_id = `+a.add(q.Site.ID)+` AND product <> '' AND payment_id IN (`+inRange+`) GROUP BY payment_id`, a.vals...)
	if err == nil {
		for pr.Next() {
			var p, prod string
			pr.Scan(&p, &prod)
			md.products[p] = prod
		}
		pr.Close()
	}
	a, rangeWhere = rangeArgs()
	if err := e.loadPayments(ctx, q, `SELECT payment_id FROM ledger`+rangeWhere, a, md); err != nil {
		return nil, err
	}
	if len(visitors) == 0 {
		return md, nil
	}
	if err := e.loadPersons(ctx, q, visitors, md); err != nil {
		return nil, err
	}
	all := map[string]bool{}
	for _, vs := range md.persons {
		for _, v := range vs {
			all[v] = true
		}
	}
	lookFrom := from.Add(-q.Lookback)
	if early := earliest(md.paidAt); !early.IsZero() && early.Add(-q.Lookback).Before(lookFrom) {
		lookFrom = early.Add(-q.Lookback)
	}
	// The linked visitors join on the range's links; other visitors of the same people (rare: a second
	// device) are listed.
	var extra []string
	for v := range all {
		if !visitors[v] {
			extra = append(extra, v)
		}
	}
	a, rangeWhere = rangeArgs()
	inRange = `SELECT payment_id FROM ledger` + rangeWhere
	ps, pf, pt := a.add(q.Site.ID), a.add(lookFrom), a.add(to)
	who := `visitor_id IN (SELECT visitor_id FROM identities WHERE site_id = ` + ps + ` AND visitor_id <> '' AND payment_id IN (` + inRange + `))`
	if len(extra) > 0 {
		who = "(" + who + " OR visitor_id IN (" + a.list(extra) + "))"
	}
	sr, err := e.db.QueryContext(ctx, `SELECT session_id, visitor_id, start_ts, end_ts, pv, ev, entry_page, exit_page, channel, referrer_source, referrer,
		utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_platform, country, region, device, browser, os
		FROM `+e.d.Visits(e.sessionColumns(), ps, pf, pt)+` v WHERE site_id = `+ps+` AND start_ts >= `+pf+` AND start_ts < `+pt+` AND `+who, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: touchpoints: %w", err)
	}
	defer sr.Close()
	for sr.Next() {
		s := &session{}
		var end time.Time
		var pv, ev int64
		var entryPage, exitPage *string
		v := make([]string, 14)
		dest := []any{&s.id, &s.visitor, &s.start, &end, &pv, &ev, &entryPage, &exitPage}
		for i := range v {
			dest = append(dest, &v[i])
		}
		if err := sr.Scan(dest...); err != nil {
			return nil, fmt.Errorf("stats: touchpoints: %w", err)
		}
		s.dims = map[string]string{
			"visit:channel": v[0], "visit:source": v[1], "visit:referrer": v[2], "visit:utm_source": v[3], "visit:utm_medium": v[4],
			"visit:utm_campaign": v[5], "visit:utm_term": v[6], "visit:utm_content": v[7], "visit:click_id_platform": v[8],
			"visit:country": v[9], "visit:region": v[10], "visit:device": v[11], "visit:browser": v[12], "visit:os": v[13],
			"visit:entry_page": deref(entryPage), "visit:exit_page": deref(exitPage),
		}
		md.sessions[s.visitor] = append(md.sessions[s.visitor], s)
	}
	return md, sr.Err()
}

func (e *Engine) loadPayments(ctx context.Context, q *Query, inRange string, a *args, md *moneyData) error {
	r, err := e.db.QueryContext(ctx, `SELECT id, json_extract_string(data, '$.product') FROM payments WHERE site_id = `+a.add(q.Site.ID)+
		` AND id IN (`+inRange+`)`, a.vals...)
	if err != nil {
		return nil // the payments table belongs to the MetaStore; on split backends products come from the ledger only
	}
	defer r.Close()
	for r.Next() {
		var p string
		var prod *string
		r.Scan(&p, &prod)
		if prod != nil && *prod != "" {
			md.products[p] = *prod
		}
	}
	return nil
}

// loadPersons groups visitors that identities say are one person (same person id, customer or e-mail).
func (e *Engine) loadPersons(ctx context.Context, q *Query, visitors map[string]bool, md *moneyData) error {
	r, err := e.db.QueryContext(ctx, `SELECT visitor_id, person_id, customer_id, email FROM identities WHERE site_id = $1 AND visitor_id <> ''`, q.Site.ID)
	if err != nil {
		return fmt.Errorf("stats: identities: %w", err)
	}
	defer r.Close()
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			parent[x] = find(p)
			return parent[x]
		}
		parent[x] = x
		return x
	}
	union := func(a, b string) { parent[find(a)] = find(b) }
	for r.Next() {
		var v, person, customer, email string
		if err := r.Scan(&v, &person, &customer, &email); err != nil {
			return fmt.Errorf("stats: identities: %w", err)
		}
		find("v:" + v)
		for _, k := range []string{"p:" + person, "c:" + customer, "e:" + email} {
			if len(k) > 2 {
				union("v:"+v, k)
			}
		}
	}
	groups := map[string][]string{}
	for k := range parent {
		if strings.HasPrefix(k, "v:") {
			root := find(k)
			groups[root] = append(groups[root], k[2:])
		}
	}
	for v := range visitors {
		root := find("v:" + v)
		vs := groups[root]
		if len(vs) == 0 {
			vs = []string{v}
		}
		sort.Strings(vs)
		md.persons[v] = vs
	}
	return r.Err()
}

// credit is one share of an entry to a touchpoint.
type credit struct {
	entry  *entry
	amount int64
	dims   map[string]string
	main   bool // the payment's largest share: counts the payment and the customer once
}

// attribute credits every entry to touchpoints under the query's model.
func (e *Engine) attribute(q *Query, md *moneyData) []credit {
	var out []credit
	cache := map[string][]attribution.Touchpoint{}
	for i := range md.entries {
		en := &md.entries[i]
		paid, ok := md.paidAt[en.payment]
		if !ok {
			paid = en.at
		}
		touches, ok := cache[en.payment]
		if !ok {
			touches = md.touches(en.payment, paid, q.Lookback)
			cache[en.payment] = touches
		}
		shares := attribution.Credit(q.Model, touches, paid, en.amount)
		best, bestAmt := -1, int64(-1)
		for si, s := range shares {
			if a := abs(s.Amount); a > bestAmt {
				best, bestAmt = si, a
			}
		}
		for si, s := range shares {
			if s.Amount == 0 && si != best {
				continue // a touch the model gives nothing is not a row of its own
			}
			var dims map[string]string
			if s.Index >= 0 && s.Index < len(touches) {
				dims = touches[s.Index].Dims
			} else {
				dims = synthetic(md.links[en.payment])
			}
			out = append(out, credit{entry: en, amount: s.Amount, dims: dims, main: si == best})
		}
	}
	return out
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// touches returns the payment's touchpoints: the sessions of the paying person within the lookback, or
// one synthetic touch from the link (an unattributed payment's referrer/utm, else Direct).
func (md *moneyData) touches(payment string, paid time.Time, lookback time.Duration) []attribution.Touchpoint {
	l := md.links[payment]
	if l == nil || l.visitor == "" {
		return []attribution.Touchpoint{{SessionID: "", Start: paid, Channel: synthetic(l)["visit:channel"], Direct: true, Dims: synthetic(l)}}
	}
	var all []attribution.Touchpoint
	for _, v := range md.persons[l.visitor] {
		for _, s := range md.sessions[v] {
			all = append(all, attribution.Touchpoint{SessionID: s.id, Start: s.start, Channel: s.dims["visit:channel"], Source: s.dims["visit:source"],
				Direct: s.dims["visit:channel"] == "Direct" || s.dims["visit:channel"] == "", Dims: s.dims})
		}
	}
	sel := attribution.Select(all, paid, lookback)
	if len(sel) == 0 {
		d := map[string]string{"visit:channel": "Direct"}
		return []attribution.Touchpoint{{Start: paid, Channel: "Direct", Direct: true, Dims: d}}
	}
	return sel
}

// synthetic is the session an unattributed payment is counted in.
func synthetic(l *link) map[string]string {
	d := map[string]string{"visit:channel": "Direct", "visit:source": ""}
	if l != nil {
		if l.channel != "" {
			d["visit:channel"] = l.channel
		}
		d["visit:source"] = l.source
		d["visit:utm_source"], d["visit:utm_medium"], d["visit:utm_campaign"] = l.utmSource, l.utmMedium, l.utmCampaign
	}
	return d
}

// matches applies visit filters to a credit's touchpoint.
func matches(fs []Filter, dims map[string]string) bool {
	for _, f := range fs {
		if !matchOne(f, dims) {
			return false
		}
	}
	return true
}

func matchOne(f Filter, dims map[string]string) bool {
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
	v := dims[f.Dim]
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

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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

func earliest(m map[string]time.Time) time.Time {
	var t time.Time
	for _, v := range m {
		if t.IsZero() || v.Before(t) {
			t = v
		}
	}
	return t
}

package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

// The money of the dashboard's own queries — the KPIs and the visit-dimension panels under a
// single-touch model — is summed by the store: the payment touches mark each visit's place among its
// payment's visits (tributary.TouchOrder), so the touch a model credits inside the lookback is one row a
// condition selects, and one statement joins the range's entries to those rows and groups. Reading the
// range's ledger, links and touches into Go costs a page several times more (a row through database/sql
// costs more than the store's whole aggregation). The rules are the Go path's (money.go, attribute),
// which every other query takes and which stays the reference: statstest's "money summed by the store
// as in Go" holds the two to the same answers on every backend.

// moneyInSQL reports whether the store can sum q's money: no dimension but visit ones, only visit
// filters (money ignores event filters inside and/or in ways a condition cannot mirror), a single-touch
// model, and no metric that counts people or times.
func moneyInSQL(q *Query) bool {
	switch q.Model {
	case attribution.LastNonDirect, attribution.FirstTouch, attribution.LastTouch, "":
	default:
		return false
	}
	for _, d := range q.Dimensions {
		if visitDims[d] == "" {
			return false
		}
	}
	for _, d := range filterDims(q.Filters) {
		if visitDims[d] == "" {
			return false
		}
	}
	for _, m := range q.Metrics {
		switch m {
		case "customers", "ltv", "time_to_convert":
			return false
		}
	}
	return true
}

// filterDims lists the dimensions q's filters read, inside and/or as well.
func filterDims(fs []Filter) []string {
	var out []string
	for _, f := range fs {
		if f.Op == "and" || f.Op == "or" {
			out = append(out, filterDims(f.Children)...)
		} else {
			out = append(out, f.Dim)
		}
	}
	return out
}

// moneySums are one group's sums as the store adds them up.
type moneySums struct{ revenue, refunds, disputes, payments int64 }

func (m moneySums) addTo(r *row) {
	r.ints["revenue"] += m.revenue
	r.ints["refunds"] -= m.refunds // refund entries are negative; the metric is positive
	r.ints["disputes"] -= m.disputes
	r.ints["payments"] += m.payments
}

// moneySQL adds the range's money to rs as the store sums it, and returns the number of the range's
// entries without a conversion to the reporting currency (left out, as on the Go path). Within a page
// (RunAll) a panel by one of the page's visit columns reads the sums of every such column, computed
// once by the page's first panel, and the KPIs read their totals from the same statement when an
// unfiltered panel of theirs runs it (moneyByColumn).
func (e *Engine) moneySQL(ctx context.Context, q *Query, from, to time.Time, rs *rows) (int, error) {
	if c := cacheFrom(ctx); c != nil {
		cols := c.pageColumns()
		// A panel by one of the page's columns, or the page's totals over its own range (the statement
		// sums those too when its panels have no filter), read the page's one statement.
		col := ""
		if len(q.Dimensions) == 1 {
			col = visitDims[q.Dimensions[0]]
		}
		key := pageMoneyKey(q, from, to)
		if len(q.Dimensions) == 1 && slices.Contains(cols, col) || len(q.Dimensions) == 0 && len(q.Filters) == 0 && c.panelMoney(key) {
			v, err := c.get(key, func() (any, error) { return e.moneyByColumn(ctx, q, from, to, cols) })
			if err != nil {
				return 0, err
			}
			for val, sums := range v.(map[string]map[string]moneySums)[col] {
				var dims []string
				if col != "" {
					dims = []string{val}
				}
				sums.addTo(rs.get(dims))
			}
			return e.unconverted(ctx, q, from, to)
		}
	}
	if len(q.Dimensions) == 0 && len(q.Filters) == 0 {
		return e.moneyTotals(ctx, q, from, to, rs)
	}
	a := &args{d: e.d}
	var groups []string
	for _, d := range q.Dimensions {
		groups = append(groups, visitDims[d])
	}
	// Unfiltered, the statement counts the range's unconverted entries too (filtered, they are all the
	// range's all the same: counted apart).
	whole := len(q.Filters) == 0
	aggs := e.moneyAggregates()
	if whole {
		aggs = append(aggs, e.d.Sum("unconverted"), e.d.Sum("converted_n"))
	}
	text := "SELECT " + strings.Join(append(slices.Clone(groups), aggs...), ", ") + " FROM (" + e.moneySource(q, from, to, groups, whole, a) + ") c"
	if len(groups) > 0 {
		text += " GROUP BY " + strings.Join(groups, ", ")
	}
	r, err := e.db.QueryContext(ctx, text, a.vals...)
	if err != nil {
		return 0, fmt.Errorf("stats: money: %w", err)
	}
	defer r.Close()
	var n int64
	for r.Next() {
		var m moneySums
		dest := []any{&m.revenue, &m.refunds, &m.disputes, &m.payments}
		un, cn := int64(0), int64(1)
		if whole {
			dest = append(dest, &un, &cn)
		}
		dims, err := scanGroup(r, len(groups), dest...)
		if err != nil {
			return 0, fmt.Errorf("stats: money: %w", err)
		}
		n += un
		if cn > 0 || len(groups) == 0 {
			// A group of unconverted payments only has no money: it is no group.
			m.addTo(rs.get(dims))
		}
	}
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("stats: money: %w", err)
	}
	if whole {
		return e.sharedUnconverted(ctx, q, from, to, n), nil
	}
	return e.unconverted(ctx, q, from, to)
}

// pageMoneyKey names the page's statement of money by its visit columns over [from, to) for q's mode,
// model, lookback and filters.
func pageMoneyKey(q *Query, from, to time.Time) string {
	fs, _ := json.Marshal(q.Filters)
	return fmt.Sprint("moneysql/", q.Site.ID, q.Test, from.UnixNano(), to.UnixNano(), q.Model, q.Lookback, string(fs))
}

// moneyByColumn sums the range's money by each of the visit columns cols apart, in one statement; with
// no filter, also in total (column "") and with the count of the range's unconverted entries, which it
// shares with the page (unconverted).
func (e *Engine) moneyByColumn(ctx context.Context, q *Query, from, to time.Time, cols []string) (map[string]map[string]moneySums, error) {
	cols = slices.Sorted(slices.Values(cols))
	a := &args{d: e.d}
	whole := len(q.Filters) == 0
	groups, aggs := cols, e.moneyAggregates()
	if whole {
		cols = append([]string{""}, cols...)
		groups, aggs = append([]string{"''"}, groups...), append(aggs, e.d.Sum("unconverted"), e.d.Sum("converted_n"))
	}
	text := e.d.GroupEach(e.moneySource(q, from, to, cols, whole, a), groups, aggs)
	r, err := e.db.QueryContext(ctx, text, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: money by column: %w", err)
	}
	defer r.Close()
	out := map[string]map[string]moneySums{}
	for r.Next() {
		var d, un int64
		cn := int64(1)
		var v string
		var m moneySums
		dest := []any{&d, &v, &m.revenue, &m.refunds, &m.disputes, &m.payments}
		if whole {
			dest = append(dest, &un, &cn)
		}
		if err := r.Scan(dest...); err != nil {
			return nil, fmt.Errorf("stats: money by column: %w", err)
		}
		col := cols[d]
		if col == "" {
			e.sharedUnconverted(ctx, q, from, to, un)
		} else if cn == 0 {
			continue // unconverted payments only: no money
		}
		if out[col] == nil {
			out[col] = map[string]moneySums{}
		}
		out[col][v] = m
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("stats: money by column: %w", err)
	}
	return out, nil
}

// moneyAggregates are the sums moneySums scans, in its order, over moneySource's rows (one per payment).
// A payment counts once, where its money is credited, when its payment entries of the range add up to
// more than zero (a reconciliation may append differences; a payment found to be the same money as
// another nets to zero and counts nowhere).
func (e *Engine) moneyAggregates() []string {
	return []string{e.d.Sum("revenue"), e.d.Sum("refunds"), e.d.Sum("disputes"), e.d.CountIf("revenue > 0")}
}

// moneySource is the SELECT of the range's payments — each one's sums of its converted entries of the
// range by kind (revenue, refunds, disputes), and with unconverted the counts of its unconverted and
// converted entries (rangePayments) — with, for each visit column in cols ("" for none) and in q's
// filters, the value of the touch the payment is credited to (a single-touch model credits all of a
// payment's entries to one touch); q's filters applied.
func (e *Engine) moneySource(q *Query, from, to time.Time, cols []string, unconverted bool, a *args) string {
	site := a.add(q.Site.ID)
	payments := e.rangePayments(q, from, to, site, unconverted, a)

	need := map[string]bool{}
	for _, c := range cols {
		if c != "" {
			need[c] = true
		}
	}
	for _, d := range filterDims(q.Filters) {
		need[visitDims[d]] = true // all visit dimensions: moneyInSQL
	}
	src := payments
	if len(need) > 0 {
		var ordered, picks []string
		for _, c := range tributary.VisitColumns {
			if need[c] {
				ordered = append(ordered, c)
				picks = append(picks, c+" AS t_"+c)
			}
		}
		lookback := q.Lookback
		if lookback <= 0 {
			lookback = attribution.DefaultLookbackDays * 24 * time.Hour
		}
		// The touch each payment is credited to is one row of the payment touches (tributary.TouchOrder):
		// the visit the model picks inside the lookback, or the unattributed payment's own row. A payment
		// with a visitor but no visit in the lookback, or with no link, has none and is Direct.
		since := e.d.MinusSeconds("paid_ts", int64(lookback/time.Second))
		var pick string
		switch q.Model {
		case attribution.FirstTouch:
			pick = "prev_ts < " + since
		case attribution.LastTouch:
			pick = "is_last = 1"
		default:
			pick = "(is_last_nd = 1 OR (is_last = 1 AND last_nd_ts < " + since + "))"
		}
		// Every payment's pick, not only the range's: the left join keeps the range's, and matching the
		// touches against the range's payments first cost more than it saved (a third of the statement's
		// CPU at 10M events).
		picked := "SELECT payment_id, 1 AS has_touch, " + strings.Join(picks, ", ") + " FROM " + e.d.Touches() + " t WHERE site_id = " + site +
			" AND ((session_id = '' AND visitor_id = '') OR (session_id <> '' AND start_ts >= " + since + " AND " + pick + "))"
		// (Picks is "" for any model when the store keeps none.)
		if e.d.Picks(site, "''") != "" && lookback == attribution.DefaultLookbackDays*24*time.Hour {
			// The store keeps these picks (the same condition, applied as the touches were written): a
			// model's rows are read instead of every touch row's ids and times. (The model is bound only
			// here: a statement must use every parameter bound for it.)
			model := q.Model
			if model != attribution.FirstTouch && model != attribution.LastTouch {
				model = attribution.LastNonDirect
			}
			pm := a.add(string(model))
			picked = "SELECT payment_id, 1 AS has_touch, " + strings.Join(picks, ", ") + " FROM " + e.d.Picks(site, pm) + " WHERE site_id = " + site +
				" AND model = " + pm
		}
		var credited []string // the visit columns each entry is credited with, named as the visits relation names them
		for _, c := range ordered {
			none := "''"
			if c == "channel" {
				none = "'" + attribution.DirectChannel + "'"
			}
			credited = append(credited, "CASE WHEN coalesce(has_touch, 0) = 1 THEN t_"+c+" ELSE "+none+" END AS "+c)
		}
		sums := "revenue, refunds, disputes, "
		if unconverted {
			sums += "unconverted, converted_n, "
		}
		src = "SELECT " + sums + strings.Join(credited, ", ") + " FROM " + e.d.LeftJoin(payments, picked, "payment_id")
	}
	if f := e.filterSQL(q.Filters, a, q.Site.ID, from, to, false); f != "" {
		src = "SELECT * FROM (" + src + ") s WHERE " + f
	}
	return src
}

// rangePayments is the SELECT of the range's payments (site bound as site), each one's sums of its
// converted entries of the range by kind (revenue, refunds, disputes); with unconverted, also the
// payments of no converted entry, and the count of each one's unconverted and converted entries
// (unconverted, converted_n).
func (e *Engine) rangePayments(q *Query, from, to time.Time, site string, unconverted bool, a *args) string {
	live, pf, pt := a.add(!q.Test), a.add(from), a.add(to)
	conv, last, where := "", "", " AND converted"
	if unconverted {
		conv, last, where = "converted AND ", ", "+e.d.CountIf("NOT converted")+" AS unconverted, "+e.d.CountIf("converted")+" AS converted_n", ""
	}
	return "SELECT payment_id, " + e.d.SumIf("reporting_amount", conv+"kind = 'payment'") + " AS revenue, " +
		e.d.SumIf("reporting_amount", conv+"kind = 'refund'") + " AS refunds, " +
		e.d.SumIf("reporting_amount", conv+"kind IN ('dispute_withdrawn', 'dispute_reinstated')") + " AS disputes" + last +
		" FROM " + e.d.LedgerIn(site, pf, pt) + " WHERE site_id = " + site + " AND livemode = " + live + " AND occurred_at >= " + pf +
		" AND occurred_at < " + pt + " AND kind <> 'payment_failed'" + where + " GROUP BY payment_id"
}

// moneyTotals is moneySQL for a query of no dimension and no filter: the range's sums and its count of
// unconverted entries in one statement, the count then shared with the page's panels (unconverted). A
// payment of no converted entry adds nothing to the sums.
func (e *Engine) moneyTotals(ctx context.Context, q *Query, from, to time.Time, rs *rows) (int, error) {
	a := &args{d: e.d}
	text := "SELECT " + strings.Join(e.moneyAggregates(), ", ") + ", " + e.d.Sum("unconverted") + " FROM (" +
		e.rangePayments(q, from, to, a.add(q.Site.ID), true, a) + ") c"
	var m moneySums
	var n int64
	if err := e.db.QueryRowContext(ctx, text, a.vals...).Scan(&m.revenue, &m.refunds, &m.disputes, &m.payments, &n); err != nil {
		return 0, fmt.Errorf("stats: money: %w", err)
	}
	m.addTo(rs.get(nil))
	return e.sharedUnconverted(ctx, q, from, to, n), nil
}

// sharedUnconverted offers n, the range's unconverted entries counted by a statement of the page, to
// the page's other queries (unconverted), and returns it.
func (e *Engine) sharedUnconverted(ctx context.Context, q *Query, from, to time.Time, n int64) int {
	if c := cacheFrom(ctx); c != nil {
		c.get(unconvertedKey(q, from, to), func() (any, error) { return int(n), nil })
	}
	return int(n)
}

func unconvertedKey(q *Query, from, to time.Time) string {
	return fmt.Sprint("unconverted/", q.Site.ID, q.Test, from.UnixNano(), to.UnixNano())
}

// unconverted counts the range's entries the ledger could not convert to the reporting currency, once
// per page and range.
func (e *Engine) unconverted(ctx context.Context, q *Query, from, to time.Time) (int, error) {
	if c := cacheFrom(ctx); c != nil {
		v, err := c.get(unconvertedKey(q, from, to), func() (any, error) {
			return e.countUnconverted(ctx, q, from, to)
		})
		if err != nil {
			return 0, err
		}
		return v.(int), nil
	}
	return e.countUnconverted(ctx, q, from, to)
}

func (e *Engine) countUnconverted(ctx context.Context, q *Query, from, to time.Time) (int, error) {
	a := &args{d: e.d}
	var n int64
	site, pf, pt := a.add(q.Site.ID), a.add(from), a.add(to)
	err := e.db.QueryRowContext(ctx, "SELECT count(*) FROM "+e.d.LedgerIn(site, pf, pt)+" WHERE site_id = "+site+" AND livemode = "+a.add(!q.Test)+
		" AND occurred_at >= "+pf+" AND occurred_at < "+pt+" AND kind <> 'payment_failed' AND NOT converted", a.vals...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("stats: unconverted entries: %w", err)
	}
	return int(n), nil
}

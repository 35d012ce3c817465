package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

// The money of the dashboard's own queries — the KPIs and the visit-dimension panels under a
// single-touch model — is summed by the store: one statement picks each payment's touch from the
// payment touches, credits every entry of the range to it whole and groups. Reading the range's ledger,
// links and touches into Go costs a page about ten times more (a row through database/sql costs more
// than the store's whole aggregation). The rules are the Go path's (money.go, attribute), which every
// other query takes; TestMoneySQLMatchesGo holds the two to the same answers.

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
	if !onlyVisitFilters(q.Filters) {
		return false
	}
	for _, m := range q.Metrics {
		switch m {
		case "customers", "ltv", "time_to_convert":
			return false
		}
	}
	return true
}

func onlyVisitFilters(fs []Filter) bool {
	for _, f := range fs {
		switch {
		case f.Op == "and" || f.Op == "or":
			if !onlyVisitFilters(f.Children) {
				return false
			}
		case visitDims[f.Dim] == "":
			return false
		}
	}
	return true
}

// filterColumns are the visit columns q's filters read.
func filterColumns(fs []Filter, into map[string]bool) {
	for _, f := range fs {
		if f.Op == "and" || f.Op == "or" {
			filterColumns(f.Children, into)
		} else if c := visitDims[f.Dim]; c != "" {
			into[c] = true
		}
	}
}

// moneySQL adds the range's money to rs as the store sums it, and returns the number of the range's
// entries without a conversion to the reporting currency (left out, as on the Go path).
func (e *Engine) moneySQL(ctx context.Context, q *Query, from, to time.Time, rs *rows) (int, error) {
	a := &args{d: e.d}
	site, live, pf, pt := a.add(q.Site.ID), a.add(!q.Test), a.add(from), a.add(to)
	rangeWhere := " WHERE site_id = " + site + " AND livemode = " + live + " AND occurred_at >= " + pf + " AND occurred_at < " + pt +
		" AND kind <> 'payment_failed'"
	entries := "SELECT id, kind, payment_id, occurred_at, reporting_amount AS amount FROM ledger" + rangeWhere + " AND converted"
	inRange := "SELECT payment_id FROM ledger" + rangeWhere

	// Each payment's first payment entry of the range counts it, when its payment entries of the range
	// add up to more than zero (countable).
	firsts := "SELECT payment_id, " + e.d.ArgMin("id", e.d.Tuple("occurred_at", "id")) + " AS first_id, sum(amount) AS net FROM (" + entries +
		") f WHERE kind = 'payment' GROUP BY payment_id"
	from1 := e.d.LeftJoin(entries, firsts, "payment_id")

	cols := map[string]bool{}
	for _, d := range q.Dimensions {
		cols[visitDims[d]] = true
	}
	filterColumns(q.Filters, cols)
	var credited []string // the visit columns each entry is credited with, named as the visits relation names them
	src := "SELECT * FROM " + from1
	if len(cols) > 0 {
		var picks []string
		var ordered []string
		for _, c := range tributary.VisitColumns {
			if cols[c] {
				ordered = append(ordered, c)
			}
		}
		// The payment time is the member rows' (the touches' own: the payment's first payment entry).
		paid := "SELECT payment_id, min(start_ts) AS paid FROM " + e.d.Touches() + " m WHERE site_id = " + site +
			" AND session_id = '' AND payment_id IN (" + inRange + ") GROUP BY payment_id"
		key := e.d.Tuple("start_ts", "session_id")
		direct := "(channel = '' OR lower(channel) = 'direct')"
		for _, c := range ordered {
			var pick string
			switch q.Model {
			case attribution.FirstTouch:
				pick = e.d.ArgMin(c, key)
			case attribution.LastTouch:
				pick = e.d.ArgMax(c, key)
			default:
				pick = "CASE WHEN " + e.d.CountIf("NOT "+direct) + " > 0 THEN " + e.d.ArgMaxIf(c, key, "NOT "+direct) + " ELSE " + e.d.ArgMax(c, key) + " END"
			}
			picks = append(picks, pick+" AS t_"+c)
		}
		lookback := q.Lookback
		if lookback <= 0 {
			lookback = attribution.DefaultLookbackDays * 24 * time.Hour
		}
		picked := "SELECT payment_id, 1 AS has_touch, " + strings.Join(picks, ", ") + " FROM " + e.d.InnerJoin("SELECT * FROM "+e.d.Touches()+" t", paid, "payment_id") +
			" WHERE site_id = " + site + " AND session_id <> '' AND start_ts >= " + e.d.MinusSeconds("paid", int64(lookback/time.Second)) +
			" AND start_ts <= paid GROUP BY payment_id"
		// The payment's newest link: who paid, and for an unattributed payment the referrer and campaign
		// it came with.
		by := e.d.Tuple("ts", "rowid")
		links := "SELECT payment_id, 1 AS has_link, " + e.d.ArgMax("visitor_id", by) + " AS l_visitor, " + e.d.ArgMax("channel", by) + " AS l_channel, " +
			e.d.ArgMax("referrer_source", by) + " AS l_referrer_source, " + e.d.ArgMax("utm_source", by) + " AS l_utm_source, " +
			e.d.ArgMax("utm_medium", by) + " AS l_utm_medium, " + e.d.ArgMax("utm_campaign", by) + " AS l_utm_campaign FROM identities WHERE site_id = " + site +
			" AND payment_id IN (" + inRange + ") GROUP BY payment_id"
		from2 := e.d.LeftJoin("SELECT * FROM "+from1, picked, "payment_id")
		from3 := e.d.LeftJoin("SELECT * FROM "+from2, links, "payment_id")
		// A payment without a visitor is counted in the session its link describes (synthetic); one with
		// a visitor but no visit in the lookback is Direct.
		for _, c := range ordered {
			var synth, none string
			switch c {
			case "channel":
				synth, none = "CASE WHEN coalesce(l_channel, '') <> '' THEN l_channel ELSE 'Direct' END", "'Direct'"
			case "referrer_source", "utm_source", "utm_medium", "utm_campaign":
				synth, none = "coalesce(l_"+c+", '')", "''"
			default:
				synth, none = "''", "''"
			}
			credited = append(credited, "CASE WHEN coalesce(l_visitor, '') = '' THEN "+synth+" WHEN coalesce(has_touch, 0) = 1 THEN t_"+c+
				" ELSE "+none+" END AS "+c)
		}
		src = "SELECT kind, id, amount, first_id, net, " + strings.Join(credited, ", ") + " FROM " + from3
	}
	var groups []string
	for _, d := range q.Dimensions {
		groups = append(groups, visitDims[d])
	}
	sel := append([]string(nil), groups...)
	sel = append(sel,
		e.d.SumIf("amount", "kind = 'payment'"),
		e.d.SumIf("amount", "kind = 'refund'"),
		e.d.SumIf("amount", "kind IN ('dispute_withdrawn', 'dispute_reinstated')"),
		e.d.CountIf("kind = 'payment' AND id = first_id AND net > 0"))
	text := "SELECT " + strings.Join(sel, ", ") + " FROM (" + src + ") c"
	if f := e.filterSQL(q.Filters, a, q.Site.ID, from, to, false); f != "" {
		text += " WHERE " + f
	}
	if len(groups) > 0 {
		text += " GROUP BY " + strings.Join(groups, ", ")
	}
	r, err := e.db.QueryContext(ctx, text, a.vals...)
	if err != nil {
		return 0, fmt.Errorf("stats: money: %w", err)
	}
	defer r.Close()
	if rs.m == nil {
		rs.m = map[string]*row{}
	}
	for r.Next() {
		dims := make([]string, len(groups))
		var revenue, refunds, disputes, payments int64
		dest := make([]any, 0, len(groups)+4)
		for i := range dims {
			dest = append(dest, &dims[i])
		}
		dest = append(dest, &revenue, &refunds, &disputes, &payments)
		if err := r.Scan(dest...); err != nil {
			return 0, fmt.Errorf("stats: money: %w", err)
		}
		row := rs.get(dims)
		row.ints["revenue"] += revenue
		row.ints["refunds"] -= refunds
		row.ints["disputes"] -= disputes
		row.ints["payments"] += payments
	}
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("stats: money: %w", err)
	}
	return e.unconverted(ctx, q, from, to)
}

// unconverted counts the range's entries the ledger could not convert to the reporting currency.
func (e *Engine) unconverted(ctx context.Context, q *Query, from, to time.Time) (int, error) {
	a := &args{d: e.d}
	var n int64
	err := e.db.QueryRowContext(ctx, "SELECT count(*) FROM ledger WHERE site_id = "+a.add(q.Site.ID)+" AND livemode = "+a.add(!q.Test)+
		" AND occurred_at >= "+a.add(from)+" AND occurred_at < "+a.add(to)+" AND kind <> 'payment_failed' AND NOT converted", a.vals...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("stats: unconverted entries: %w", err)
	}
	return int(n), nil
}

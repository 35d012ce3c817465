package stats

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tributary/tributary/attribution"
)

// On ClickHouse the money of an unfiltered query by one visit column or none is joined in Go: the range's
// payments with their sums, and the touch each is credited to, are read once per request (two statements
// at most, each a few tens of thousands of rows at 10M events) and every panel of the page is grouped
// from them. ClickHouse 18.16 took 100-230 ms a statement for the join moneySQL writes, once per panel
// and period, beside one more statement for the entries left unconverted. The embedded store keeps
// moneySQL: there a row through database/sql costs more than its whole aggregation.

// rowMoney marks a dialect whose money the engine joins in Go.
type rowMoney interface{ rowMoney() }

func (ClickHouse) rowMoney() {}

// rangeMoney is a range's payments, each one's sums over its converted entries (a payment of none adds
// nothing anywhere), and the number of its entries left unconverted.
type rangeMoney struct {
	payments    map[string]moneySums
	unconverted int
}

// moneyRows adds q's money in [from, to) to rs as moneySQL would, when the engine joins it in Go (false
// otherwise), and returns the number of the range's entries without a conversion.
func (e *Engine) moneyRows(ctx context.Context, q *Query, from, to time.Time, rs *rows) (bool, int, error) {
	if _, ok := e.d.(rowMoney); !ok || len(q.Filters) > 0 || len(q.Dimensions) > 1 {
		return false, 0, nil
	}
	col := ""
	if len(q.Dimensions) == 1 {
		col = visitDims[q.Dimensions[0]]
	}
	if cacheFrom(ctx) == nil {
		ctx = WithCache(ctx)
	}
	var picks *pickedValues
	var perr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if col != "" {
			picks, perr = e.picks(ctx, q, from, to, col)
		}
	}()
	m, err := perRequest(ctx, fmt.Sprint("range-money/", q.Site.ID, "/", q.Test, "/", from.UnixNano(), "/", to.UnixNano()), func() (*rangeMoney, error) {
		return e.readRangeMoney(ctx, q, from, to)
	})
	<-done
	if err != nil {
		return true, 0, err
	}
	if perr != nil {
		return true, 0, perr
	}
	if col == "" {
		var total moneySums
		for _, p := range m.payments {
			total.add(p)
		}
		total.addTo(rs.get([]string{}))
		return true, m.unconverted, nil
	}
	i := slices.Index(picks.cols, col)
	none := ""
	if col == "channel" {
		none = attribution.DirectChannel
	}
	groups := map[string]*moneySums{}
	for id, p := range m.payments {
		val := none
		if v, ok := picks.of[id]; ok {
			val = v[i]
		}
		g := groups[val]
		if g == nil {
			g = &moneySums{}
			groups[val] = g
		}
		g.add(p)
	}
	for val, g := range groups {
		g.addTo(rs.get([]string{val}))
	}
	return true, m.unconverted, nil
}

// readRangeMoney reads the range's payments of q's mode: each one's sums of its converted entries by
// kind, and the entries left unconverted, as moneySource and countUnconverted select them.
func (e *Engine) readRangeMoney(ctx context.Context, q *Query, from, to time.Time) (*rangeMoney, error) {
	a := &args{d: e.d}
	site, live, pf, pt := a.add(q.Site.ID), a.add(!q.Test), a.add(from), a.add(to)
	text := "SELECT payment_id, " + e.d.SumIf("reporting_amount", "converted AND kind = 'payment'") + ", " +
		e.d.SumIf("reporting_amount", "converted AND kind = 'refund'") + ", " +
		e.d.SumIf("reporting_amount", "converted AND kind IN ('dispute_withdrawn', 'dispute_reinstated')") + ", " +
		e.d.CountIf("NOT converted") +
		" FROM " + e.d.LedgerIn(site, pf, pt) + " WHERE site_id = " + site + " AND livemode = " + live + " AND occurred_at >= " + pf +
		" AND occurred_at < " + pt + " AND kind <> 'payment_failed' GROUP BY payment_id"
	r, err := e.db.QueryContext(ctx, text, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: range payments: %w", err)
	}
	defer r.Close()
	out := &rangeMoney{payments: map[string]moneySums{}}
	for r.Next() {
		var id string
		var p moneySums
		var unconverted uint64
		if err := r.Scan(&id, &p.revenue, &p.refunds, &p.disputes, &unconverted); err != nil {
			return nil, fmt.Errorf("stats: range payments: %w", err)
		}
		if p.revenue > 0 { // moneyAggregates' count
			p.payments = 1
		}
		out.payments[id] = p
		out.unconverted += int(unconverted)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("stats: range payments: %w", err)
	}
	return out, nil
}

// pickedValues are the values of cols of each payment's pick, by payment id.
type pickedValues struct {
	cols []string
	of   map[string][]string
}

// picks reads the value of the visit column col (and of the page's other columns, when it announced
// col) of the touch each payment with an entry in [from, to) is credited to under q's model and
// lookback, by column and payment, once per request.
func (e *Engine) picks(ctx context.Context, q *Query, from, to time.Time, col string) (*pickedValues, error) {
	// Every column the page groups by at once: reading the touches' columns is most of the statement.
	cols := []string{col}
	if c := cacheFrom(ctx); c != nil && slices.Contains(c.pageColumns(), col) {
		cols = c.pageColumns()
	}
	slices.Sort(cols)
	key := fmt.Sprint("picks/", q.Site.ID, "/", from.UnixNano(), "/", to.UnixNano(), "/", q.Model, "/", q.Lookback, "/", cols)
	return perRequest(ctx, key, func() (*pickedValues, error) {
		a := &args{d: e.d}
		site, pf, pt := a.add(q.Site.ID), a.add(from), a.add(to)
		where, _ := e.pickWhere(q)
		text := "SELECT payment_id, " + strings.Join(cols, ", ") + " FROM " +
			touchesOf(site, "SELECT payment_id FROM ledger_facts WHERE site_id = "+site+" AND occurred_at >= "+pf+" AND occurred_at < "+pt) +
			" t WHERE " + where
		r, err := e.db.QueryContext(ctx, text, a.vals...)
		if err != nil {
			return nil, fmt.Errorf("stats: picks: %w", err)
		}
		defer r.Close()
		out := &pickedValues{cols: cols, of: map[string][]string{}}
		for r.Next() {
			var id string
			vals := make([]string, len(cols))
			dest := []any{&id}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := r.Scan(dest...); err != nil {
				return nil, fmt.Errorf("stats: picks: %w", err)
			}
			if _, ok := out.of[id]; !ok { // as ANY LEFT JOIN: one row a payment
				out.of[id] = vals
			}
		}
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("stats: picks: %w", err)
		}
		return out, nil
	})
}

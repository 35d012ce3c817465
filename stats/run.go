package stats

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// Result is the answer to a query.
type Result struct {
	Results []ResultRow `json:"results"`
	Meta    Meta        `json:"meta"`
	q       *Query
}

// ResultRow is one group.
type ResultRow struct {
	Dimensions []string    `json:"dimensions"`
	Metrics    []Value     `json:"metrics"`
	Comparison *Comparison `json:"comparison,omitempty"`
}

// Comparison holds the previous period's values and the change in percent.
type Comparison struct {
	Metrics []Value    `json:"metrics"`
	Change  []*float64 `json:"change"`
}

// Meta describes how to read the numbers.
type Meta struct {
	Metrics             []string  `json:"metrics"`
	Dimensions          []string  `json:"dimensions"`
	Currency            string    `json:"currency"`
	MoneyMetrics        []string  `json:"money_metrics,omitempty"`
	TimeZone            string    `json:"time_zone"`
	DateRange           [2]string `json:"date_range"`
	Model               string    `json:"attribution_model"`
	LookbackDays        int       `json:"lookback_days"`
	Mode                string    `json:"mode"`
	UnconvertedPayments int       `json:"unconverted_entries"`
	ComparedTo          []string  `json:"compared_to,omitempty"`
	Total               int       `json:"total_rows"`
}

// Run executes q.
func (e *Engine) Run(ctx context.Context, q *Query) (*Result, error) {
	pf, pt := PreviousPeriod(q.From, q.To, siteLoc(q.Site))
	if r, ok := e.d.(resolver); ok {
		from := q.From
		if q.Compare && pf.Before(from) {
			from = pf
		}
		// A day to either side: a visits relation reads a range's neighbouring days too.
		from, to := from.AddDate(0, 0, -2), q.To.AddDate(0, 0, 2)
		load := func() (any, error) { return r.resolve(ctx, e.db, q.Site.ID, from, to) }
		var d any
		var err error
		if c := cacheFrom(ctx); c != nil {
			d, err = c.get(fmt.Sprint("resolved/", q.Site.ID, from.UnixNano(), to.UnixNano()), load)
		} else {
			d, err = load()
		}
		if err != nil {
			return nil, err
		}
		resolved := *e
		resolved.d = d.(Dialect)
		e = &resolved
	}
	if q.Funnel != nil {
		return e.runFunnel(ctx, q)
	}
	// The previous period, when compared with, is worked out beside the current one.
	type computed struct {
		rs  *rows
		err error
	}
	var prevDone chan computed
	if q.Compare {
		prevDone = make(chan computed, 1)
		go func() {
			rs, _, err := e.compute(ctx, q, pf, pt)
			prevDone <- computed{rs, err}
		}()
	}
	cur, unconverted, err := e.compute(ctx, q, q.From, q.To)
	if err != nil {
		if prevDone != nil {
			<-prevDone
		}
		return nil, err
	}
	loc := siteLoc(q.Site)
	res := &Result{q: q, Meta: Meta{Metrics: q.Metrics, Dimensions: q.Dimensions, Currency: q.Site.Currency, TimeZone: q.Site.Timezone,
		DateRange: [2]string{q.From.In(loc).Format("2006-01-02"), q.To.In(loc).AddDate(0, 0, -1).Format("2006-01-02")},
		Model:     string(q.Model), LookbackDays: q.LookbackDay, Mode: "live", UnconvertedPayments: unconverted}}
	if q.Test {
		res.Meta.Mode = "test"
	}
	for _, m := range q.Metrics {
		if moneyMetric[m] {
			res.Meta.MoneyMetrics = append(res.Meta.MoneyMetrics, m)
		}
	}
	list := make([]*row, 0, len(cur.order))
	for _, k := range cur.order {
		list = append(list, cur.m[k])
	}
	vals := func(r *row) []float64 {
		out := make([]float64, len(q.Metrics))
		for i, m := range q.Metrics {
			out[i] = e.value(q, r, m)
		}
		return out
	}
	sortRows(q, list, func(r *row, m string) float64 { return e.value(q, r, m) })
	res.Meta.Total = len(list)
	if q.Offset < len(list) {
		list = list[q.Offset:]
	} else {
		list = nil
	}
	if len(list) > q.Limit {
		list = list[:q.Limit]
	}
	var prev *rows
	if q.Compare {
		c := <-prevDone
		if c.err != nil {
			return nil, c.err
		}
		prev = c.rs
		res.Meta.ComparedTo = []string{pf.In(loc).Format("2006-01-02"), pt.In(loc).AddDate(0, 0, -1).Format("2006-01-02")}
	}
	for i, r := range list {
		rr := ResultRow{Dimensions: r.dims}
		if rr.Dimensions == nil {
			rr.Dimensions = []string{}
		}
		v := vals(r)
		for j, m := range q.Metrics {
			rr.Metrics = append(rr.Metrics, rowValue(q, r, m, v[j]))
		}
		if prev != nil {
			var p *row
			if hasTimeDim(q) {
				if i < len(prev.order) {
					pl := make([]*row, 0, len(prev.order))
					for _, k := range prev.order {
						pl = append(pl, prev.m[k])
					}
					sortRows(q, pl, func(r *row, m string) float64 { return e.value(q, r, m) })
					p = pl[i]
				}
			} else {
				p = prev.m[strings.Join(r.dims, "\x00")]
			}
			c := &Comparison{}
			for j, m := range q.Metrics {
				pv := 0.0
				if p != nil {
					pv = e.value(q, p, m)
				}
				c.Metrics = append(c.Metrics, rowValue(q, p, m, pv))
				if pv == 0 {
					c.Change = append(c.Change, nil)
				} else {
					ch := float64(int64((v[j]-pv)/abs64(pv)*1000+0.5*sign(v[j]-pv))) / 10
					c.Change = append(c.Change, &ch)
				}
			}
			rr.Comparison = c
		}
		res.Results = append(res.Results, rr)
	}
	if res.Results == nil {
		res.Results = []ResultRow{}
	}
	return res, nil
}

// PreviousPeriod is the period [from, to) is compared with: as many whole local days before it when it
// is whole local days (so across a change of offset it is still whole days: a duration would start it
// an hour off midnight), else the same duration before it.
func PreviousPeriod(from, to time.Time, loc *time.Location) (time.Time, time.Time) {
	_, okFrom := localMidnight(from, loc)
	_, okTo := localMidnight(to, loc)
	if !okFrom || !okTo {
		return from.Add(-to.Sub(from)), from
	}
	f, t := from.In(loc), to.In(loc)
	// Calendar days, counted on UTC dates, where every day is 24 hours.
	days := int(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Sub(time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
	return time.Date(f.Year(), f.Month(), f.Day()-days, 0, 0, 0, 0, loc).UTC(), from
}

func hasTimeDim(q *Query) bool {
	for _, d := range q.Dimensions {
		if timeDims[d] != "" {
			return true
		}
	}
	return false
}

func abs64(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

// compute fills the groups of one range.
func (e *Engine) compute(ctx context.Context, q *Query, from, to time.Time) (*rows, int, error) {
	rs := &rows{}
	fams := map[Family]bool{}
	for _, m := range q.Metrics {
		fams[metricFamily[m]] = true
	}
	needVisitors := contains(q.Metrics, "revenue_per_visitor")
	unconverted := 0
	// The store's money sums and the traffic are independent statements: they run at once, the money
	// into rows of its own, added to the traffic's after.
	inSQL := fams[Revenue] && !contains(q.Dimensions, GoalDimension) && moneyInSQL(q) && !e.moneyInGo
	var sums rows
	var sumsErr error
	done := make(chan struct{})
	if inSQL {
		go func() {
			defer close(done)
			unconverted, sumsErr = e.moneySQL(ctx, q, from, to, &sums)
		}()
	} else {
		close(done)
	}
	if fams[Traffic] || needVisitors {
		if err := e.traffic(ctx, q, from, to, rs); err != nil {
			<-done
			return nil, 0, err
		}
	}
	<-done
	if sumsErr != nil {
		return nil, 0, sumsErr
	}
	for _, k := range sums.order {
		r := sums.m[k]
		into := rs.get(r.dims)
		for name, v := range r.ints {
			into.ints[name] += v
		}
	}
	if fams[Revenue] && !inSQL {
		if contains(q.Dimensions, GoalDimension) {
			n, err := e.goalRevenue(ctx, q, from, to, rs)
			if err != nil {
				return nil, 0, err
			}
			unconverted = n
		} else {
			md, err := e.loadMoney(ctx, q, from, to)
			if err != nil {
				return nil, 0, err
			}
			unconverted = md.unconverted
			md.mu.RLock()
			e.money(q, md, rs)
			md.mu.RUnlock()
		}
	}
	if fams[MRR] {
		if err := e.mrr(ctx, q, from, to, rs); err != nil {
			return nil, 0, err
		}
	}
	if len(q.Dimensions) == 0 && len(rs.order) == 0 {
		rs.get(nil)
	}
	return rs, unconverted, nil
}

// bucket renders t's time bucket in loc as DuckDB's LocalBucket does.
func bucket(t time.Time, unit string, loc *time.Location) string {
	l := t.In(loc)
	var b time.Time
	switch unit {
	case "hour":
		b = time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, time.UTC)
	case "week":
		wd := (int(l.Weekday()) + 6) % 7 // Monday first, as date_trunc('week')
		d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
		b = d.AddDate(0, 0, -wd)
	case "month":
		b = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, time.UTC)
	default:
		b = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	}
	return b.Format("2006-01-02 15:04:05")
}

func (e *Engine) money(q *Query, md *moneyData, rs *rows) {
	loc := siteLoc(q.Site)
	credits := e.credits(q, md)
	// Customers and time to convert cost a person lookup per payment: only when asked for.
	wantCustomers := contains(q.Metrics, "customers") || contains(q.Metrics, "ltv")
	wantTTC := contains(q.Metrics, "time_to_convert")
	customers := map[string]map[string]bool{}
	ttc := map[string][]float64{}
	// Each dimension's value, chosen once: a page's panels group tens of thousands of credits.
	values := make([]func(c *credit) string, len(q.Dimensions))
	for i, d := range q.Dimensions {
		switch {
		case timeDims[d] != "":
			unit := timeDims[d]
			values[i] = func(c *credit) string { return bucket(c.entry.at, unit, loc) }
		case d == "payment:currency":
			values[i] = func(c *credit) string { return c.entry.currency }
		case d == "payment:product":
			values[i] = func(c *credit) string { return md.products[c.entry.payment] }
		case d == "payment:link_method":
			values[i] = func(c *credit) string {
				if l := md.link(c.entry.payment); l != nil {
					return l.method
				}
				return tributary.LinkUnattributed
			}
		default:
			at := visitDimIndex[d]
			values[i] = func(c *credit) string {
				if c.dims == nil {
					return ""
				}
				return c.dims[at]
			}
		}
	}
	if rs.m == nil {
		rs.m = map[string]*row{}
	}
	counts := md.countable()
	dims := make([]string, len(q.Dimensions))
	for ci := range credits {
		c := &credits[ci]
		if !matches(q.Filters, c.dims) {
			continue
		}
		for i, value := range values {
			dims[i] = value(c)
		}
		r := rs.lookup(dims)
		switch c.entry.kind {
		case tributary.EntryPayment:
			r.ints["revenue"] += c.amount
			if c.main && counts[c.entry] {
				r.ints["payments"]++
				var k string
				if wantCustomers || wantTTC {
					k = strings.Join(dims, "\x00")
				}
				if wantCustomers {
					if customers[k] == nil {
						customers[k] = map[string]bool{}
					}
					customers[k][md.person(c.entry)] = true
				}
				if wantTTC {
					if l := md.link(c.entry.payment); l != nil && l.visitor != "" {
						paid := md.paid(c.entry)
						if first := md.firstTouch(c.entry.payment, paid, q.Lookback); !first.IsZero() {
							ttc[k] = append(ttc[k], paid.Sub(first).Seconds())
						}
					}
				}
			}
		case tributary.EntryRefund:
			r.ints["refunds"] -= c.amount
		case tributary.EntryDisputeWithdrawn, tributary.EntryDisputeReinstated:
			r.ints["disputes"] -= c.amount
		}
	}
	for k, set := range customers {
		rs.m[k].ints["customers"] = int64(len(set))
	}
	for k, v := range ttc {
		sort.Float64s(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		rs.m[k].floats["time_to_convert"] = med
	}
}

func (md *moneyData) person(en *entry) string {
	if l := md.links[en.payment]; l != nil && l.visitor != "" {
		if p, ok := md.persons[en.payment]; ok {
			return "v:" + p
		}
		return "v:" + l.visitor
	}
	if en.customer != "" {
		return "c:" + en.customer
	}
	return "p:" + en.payment
}

// link is the payment's newest link.
func (md *moneyData) link(payment string) *link { return md.links[payment] }

// firstTouch is the start of the paying person's first visit within the lookback before paid.
func (md *moneyData) firstTouch(payment string, paid time.Time, lookback time.Duration) time.Time {
	pt := md.touched[payment]
	if pt == nil {
		return time.Time{}
	}
	var first time.Time
	for _, s := range pt.visits {
		if !s.start.After(paid) && !s.start.Before(paid.Add(-lookback)) && (first.IsZero() || s.start.Before(first)) {
			first = s.start
		}
	}
	return first
}

func (e *Engine) mrr(ctx context.Context, q *Query, from, to time.Time, rs *rows) error {
	loc := siteLoc(q.Site)
	r, err := e.db.QueryContext(ctx, `SELECT subscription_id, ts, kind, reporting_delta FROM mrr_movements WHERE site_id = $1 AND livemode = $2 AND converted AND ts < $3 ORDER BY ts, id`,
		q.Site.ID, !q.Test, to)
	if err != nil {
		return fmt.Errorf("stats: mrr: %w", err)
	}
	defer r.Close()
	type mv struct {
		sub   string
		at    time.Time
		kind  string
		delta int64
	}
	var all []mv
	for r.Next() {
		var m mv
		if err := r.Scan(&m.sub, &m.at, &m.kind, &m.delta); err != nil {
			return fmt.Errorf("stats: mrr: %w", err)
		}
		all = append(all, m)
	}
	var td string
	for _, d := range q.Dimensions {
		td = timeDims[d]
	}
	// Buckets: the whole range, or each time bucket of it.
	var buckets []string
	var ends []time.Time
	if td == "" {
		buckets, ends = []string{""}, []time.Time{to}
	} else {
		for t := from; t.Before(to); {
			b := bucket(t, td, loc)
			next := t
			for next.Before(to) && bucket(next, td, loc) == b {
				switch td {
				case "hour":
					next = next.Add(time.Hour)
				default:
					next = next.Add(time.Hour) // walk hours so DST and month lengths need no special cases
				}
			}
			buckets, ends = append(buckets, b), append(ends, next)
			t = next
		}
	}
	for i, b := range buckets {
		dims := []string(nil)
		if td != "" {
			dims = []string{b}
		}
		row := rs.get(dims)
		start := from
		if i > 0 {
			start = ends[i-1]
		}
		per := map[string]int64{}
		for _, m := range all {
			if m.at.Before(ends[i]) {
				per[m.sub] += m.delta
			}
			if !m.at.Before(start) && m.at.Before(ends[i]) {
				switch m.kind {
				case tributary.MRRNew, tributary.MRRReactivation:
					row.ints["new_mrr"] += m.delta
				case tributary.MRRExpansion:
					row.ints["expansion_mrr"] += m.delta
				case tributary.MRRContraction:
					row.ints["contraction_mrr"] += m.delta
				case tributary.MRRChurn:
					row.ints["churned_mrr"] += m.delta
				}
			}
		}
		var total, paying int64
		for _, v := range per {
			total += v
			if v > 0 {
				paying++
			}
		}
		row.ints["mrr"], row.ints["paying_subscriptions"] = total, paying
	}
	return nil
}

// value is a metric of a row as a number (money in minor units).
func (e *Engine) value(q *Query, r *row, m string) float64 {
	i := func(k string) float64 { return float64(r.ints[k]) }
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	switch m {
	case "views_per_visit":
		return div(i("pageviews"), i("visits"))
	case "bounce_rate":
		return div(i("bounces")*100, i("visits"))
	case "visit_duration":
		return div(r.floats["duration"], i("visits"))
	case "conversion_rate":
		if n, ok := r.ints[goalTotal]; ok {
			return div(i("visitors")*100, float64(n)) // a goal's visitors over the view's
		}
		return div(i("conversions")*100, i("visitors"))
	case "net_revenue":
		return i("revenue") - i("refunds") - i("disputes")
	case "average_order_value":
		return div(i("revenue"), i("payments"))
	case "revenue_per_visitor":
		return div(i("revenue"), i("visitors"))
	case "ltv":
		return div(i("revenue")-i("refunds")-i("disputes"), i("customers"))
	case "arpu":
		return div(i("mrr"), i("paying_subscriptions"))
	case "time_to_convert":
		return r.floats["time_to_convert"]
	}
	return i(m)
}

// moneyRat is a money metric of a row as an exact fraction of minor units: sums as they are, ratios
// (average order value, revenue per visitor, LTV, ARPU) without passing through a float.
func moneyRat(r *row, m string) *big.Rat {
	if r == nil {
		return new(big.Rat)
	}
	i := func(k string) int64 { return r.ints[k] }
	frac := func(a, b int64) *big.Rat {
		if b == 0 {
			return new(big.Rat)
		}
		return big.NewRat(a, b)
	}
	switch m {
	case "net_revenue":
		return big.NewRat(i("revenue")-i("refunds")-i("disputes"), 1)
	case "average_order_value":
		return frac(i("revenue"), i("payments"))
	case "revenue_per_visitor":
		return frac(i("revenue"), i("visitors"))
	case "ltv":
		return frac(i("revenue")-i("refunds")-i("disputes"), i("customers"))
	case "arpu":
		return frac(i("mrr"), i("paying_subscriptions"))
	}
	return big.NewRat(i(m), 1)
}

// rowValue is metric m of row r (nil: an absent comparison row): money exactly from the row's integers,
// other metrics from their value v.
func rowValue(q *Query, r *row, m string, v float64) Value {
	if moneyMetric[m] {
		return moneyValue(moneyRat(r, m), q.Site.Currency)
	}
	return numberValue(metricDefs[m].Unit, v)
}

// WriteCSV writes the result as CSV: a header of dimension and metric names, then one line per group,
// each value as the JSON answer writes it.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := append(append([]string{}, r.Meta.Dimensions...), r.Meta.Metrics...)
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, row := range r.Results {
		line := append([]string{}, row.Dimensions...)
		for _, m := range row.Metrics {
			line = append(line, m.String())
		}
		if err := cw.Write(csvSafe(line)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe neutralises values a spreadsheet would run as formulas (referrers and UTM values are
// user-controlled).
func csvSafe(line []string) []string {
	for i, v := range line {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				line[i] = "'" + v
			}
		}
	}
	return line
}

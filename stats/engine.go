package stats

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/zone"
)

// Engine runs queries against one store. It only reads: the visits and the payment touches it reads
// are derived by the store as facts are written.
type Engine struct {
	db      *sql.DB
	d       Dialect
	records tributary.PaymentRecords
	// moneyInGo sends every query's money through the Go path (tests compare it with the store's sums).
	moneyInGo bool
	// tailMax is the most visitors a query corrects a store's visits by day by (units.go); 0: tailLimit.
	tailMax int
}

// Option configures an Engine.
type Option func(*Engine)

// WithPaymentRecords gives the engine the MetaStore's payment records, where Stripe payments keep their
// product (payment:product); without it products come from the ledger only.
func WithPaymentRecords(r tributary.PaymentRecords) Option { return func(e *Engine) { e.records = r } }

// MoneyInGo sends every query's money through the Go path (money.go), which otherwise serves only the
// queries the store cannot sum (moneysql.go): the correctness suite checks the two give the same answers.
func MoneyInGo() Option { return func(e *Engine) { e.moneyInGo = true } }

// TailLimit sets the most visitors named by the events after the newest run of the ClickHouse store's
// open days by whom a query corrects its visits by day (default 2,000: their ids are written into the
// statements, which 18.16 caps at 256 KB), and so the most of those events it reads (20 a visitor); past
// either the query reads the visits. It bounds too the payment links written since the job copied a
// day's payers' visits whose visitors a count of paying visitors names; past it the count reads every
// visit of the finished days.
func TailLimit(n int) Option { return func(e *Engine) { e.tailMax = n } }

// WithoutPaidLinks matches each query's links against the ledger's payment entries, as on a store that
// keeps no paid links (Dialect.PaidLinks), even where the store keeps them: the correctness suite checks
// the two give the same answers.
func WithoutPaidLinks() Option { return func(e *Engine) { e.d = noPaidLinks{e.d} } }

// noPaidLinks is a dialect whose store keeps no paid links.
type noPaidLinks struct{ Dialect }

func (noPaidLinks) PaidLinks() string { return "" }

// With returns a copy of e with opts applied.
func (e *Engine) With(opts ...Option) *Engine {
	c := *e
	for _, o := range opts {
		o(&c)
	}
	return &c
}

// NewEngine returns an engine over db speaking dialect d.
func NewEngine(db *sql.DB, d Dialect, opts ...Option) *Engine {
	e := &Engine{db: db, d: d}
	for _, o := range opts {
		o(e)
	}
	return e
}

// row is one group of a result while it is being computed.
type row struct {
	dims   []string
	ints   map[string]int64   // counts and minor-unit sums
	floats map[string]float64 // ratios and durations
}

func newRow(dims []string) *row {
	return &row{dims: dims, ints: map[string]int64{}, floats: map[string]float64{}}
}

type rows struct {
	order []string
	m     map[string]*row
}

func (rs *rows) get(dims []string) *row {
	if rs.m == nil {
		rs.m = map[string]*row{}
	}
	k := strings.Join(dims, "\x00")
	r := rs.m[k]
	if r == nil {
		r = newRow(dims)
		rs.m[k] = r
		rs.order = append(rs.order, k)
	}
	return r
}

// lookup is get for a dims slice the caller reuses: it is copied only when it starts a new row.
func (rs *rows) lookup(dims []string) *row {
	var k string
	if len(dims) == 1 {
		k = dims[0] // strings.Join's answer, without its call
	} else {
		k = strings.Join(dims, "\x00")
	}
	if r := rs.m[k]; r != nil {
		return r
	}
	return rs.get(slices.Clone(dims))
}

// args accumulates bind parameters.
type args struct {
	d    Dialect
	vals []any
}

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	return a.d.Placeholder(len(a.vals))
}

// scanGroup scans a grouped row: its ndims dimension values, returned, then vals.
func scanGroup(r *sql.Rows, ndims int, vals ...any) ([]string, error) {
	dv := make([]string, ndims)
	dest := make([]any, 0, ndims+len(vals))
	for i := range dv {
		dest = append(dest, &dv[i])
	}
	return dv, r.Scan(append(dest, vals...)...)
}

// filterSQL renders filters on a relation whose columns are session attributes (visit dims) and, for
// event dims, a subquery over events.
func (e *Engine) filterSQL(fs []Filter, a *args, site string, from, to time.Time, eventLevel bool) string {
	var parts []string
	for _, f := range fs {
		if s := e.oneFilter(f, a, site, from, to, eventLevel); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " AND ")
}

func (e *Engine) oneFilter(f Filter, a *args, site string, from, to time.Time, eventLevel bool) string {
	if f.Op == "and" || f.Op == "or" {
		var parts []string
		for _, c := range f.Children {
			parts = append(parts, "("+e.oneFilter(c, a, site, from, to, eventLevel)+")")
		}
		// Parenthesised whole: the caller ANDs it after the range condition.
		return "(" + strings.Join(parts, " "+strings.ToUpper(f.Op)+" ") + ")"
	}
	col := ""
	isEvent := false
	switch {
	case visitDims[f.Dim] != "":
		col = visitDims[f.Dim]
	case f.Dim == "event:page":
		col, isEvent = "path", true
	case f.Dim == "event:name":
		col, isEvent = "name", true
	default:
		col, isEvent = e.d.JSONString("props", strings.TrimPrefix(f.Dim, "event:props:")), true
	}
	var ors []string
	for _, v := range f.Values {
		p := a.add(v)
		switch f.Op {
		case "is", "is_not":
			ors = append(ors, col+" = "+p)
		case "contains":
			ors = append(ors, e.d.Contains(col, p))
		case "matches":
			ors = append(ors, e.d.Regexp(col, p))
		}
	}
	cond := "(" + strings.Join(ors, " OR ") + ")"
	if f.Op == "is_not" {
		cond = "NOT " + cond
	}
	if isEvent && !eventLevel {
		// A visit matches an event filter when one of its events does.
		return "session_id IN (SELECT session_id FROM events WHERE site_id = " + a.add(site) + " AND ts >= " + a.add(from) + " AND ts < " + a.add(to) + " AND " + cond + ")"
	}
	if !isEvent && eventLevel {
		ps, pf, pt := a.add(site), a.add(from), a.add(to)
		return "session_id IN (SELECT session_id FROM " + e.d.Visits(ps, pf, pt) + " v WHERE site_id = " + ps +
			" AND start_ts >= " + pf + " AND start_ts < " + pt + " AND " + cond + ")"
	}
	return cond
}

func isEventDim(d string) bool {
	return d == "event:page" || d == "event:name" || d == GoalDimension || strings.HasPrefix(d, "event:props:")
}

// dimExpr is the SQL a dimension is grouped by, over sessions (or events when eventLevel).
func (e *Engine) dimExpr(dim string, z Zone, eventLevel bool) string {
	switch {
	case timeDims[dim] != "":
		col := "start_ts"
		if eventLevel {
			col = "ts"
		}
		return e.d.LocalBucket(col, timeDims[dim], z)
	case visitDims[dim] != "":
		return "coalesce(" + visitDims[dim] + ", '')"
	case dim == "event:page":
		return "path"
	case dim == "event:name", dim == GoalDimension:
		return "name"
	case strings.HasPrefix(dim, "event:props:"):
		return e.d.JSONString("props", strings.TrimPrefix(dim, "event:props:"))
	}
	return "''"
}

// dimSelect is what a query selects for a dimension it groups by group.
func (e *Engine) dimSelect(dim, group string) string {
	if timeDims[dim] != "" {
		return e.d.BucketText(group)
	}
	return group
}

// firstVisit is the condition that marks, among the visits of [from, to) (param pf), the first of each
// visitor in each group, when the store keeps prev_* columns and the grouping allows it: no filters (a
// filter would change which visit is first) and at most one visit dimension and one time bucket. Counting
// those visits gives distinct visitors without a distinct aggregate, which is most of a query's cost. ""
// means count distinct. count is the aggregate counting them.
func (e *Engine) firstVisit(q *Query, z Zone, pf string) (first, count string) {
	if !e.d.KeepsFirsts() || len(q.Filters) > 0 {
		return "", ""
	}
	prev, unit := "prev_visit", ""
	for _, d := range q.Dimensions {
		switch {
		case visitDims[d] != "" && prev == "prev_visit":
			prev = "prev_" + visitDims[d]
		case timeDims[d] != "" && unit == "":
			unit = timeDims[d]
		default:
			return "", ""
		}
	}
	first = "(" + prev + " IS NULL OR " + prev + " < " + pf
	if unit != "" {
		first += " OR " + e.d.LocalBucket(prev, unit, z) + " <> " + e.d.LocalBucket("start_ts", unit, z) + ")"
		return first, e.d.CountIf(first)
	}
	// Counting the visits that are not first, one comparison that NULL fails, costs a quarter less
	// than counting the first ones.
	return first + ")", "count(*) - " + e.d.CountIf(prev+" >= "+pf)
}

// traffic computes the traffic metrics for q into rs.
func (e *Engine) traffic(ctx context.Context, q *Query, from, to time.Time, rs *rows) error {
	eventLevel := false
	for _, d := range q.Dimensions {
		if isEventDim(d) {
			eventLevel = true
		}
	}
	z := zone.Span(q.Site.Timezone, siteLoc(q.Site), from, to)
	var dims, sels []string
	for _, d := range q.Dimensions {
		if paymentDims[d] {
			return nil // traffic metrics do not combine with payment dimensions (rejected at parse time)
		}
		g := e.dimExpr(d, z, eventLevel)
		dims, sels = append(dims, g), append(sels, e.dimSelect(d, g))
	}
	if eventLevel {
		return e.eventTraffic(ctx, q, from, to, dims, sels, rs)
	}
	return e.visitTraffic(ctx, q, from, to, z, dims, sels, rs)
}

// eventTraffic groups the range's events (a query by an event dimension): visitors, pageviews, events.
func (e *Engine) eventTraffic(ctx context.Context, q *Query, from, to time.Time, dims, sels []string, rs *rows) error {
	a := &args{d: e.d}
	site := q.Site.ID
	where := "site_id = " + a.add(site) + " AND ts >= " + a.add(from) + " AND ts < " + a.add(to)
	if f := e.filterSQL(q.Filters, a, site, from, to, true); f != "" {
		where += " AND " + f
	}
	if contains(q.Dimensions, GoalDimension) {
		where += goalWhere(q, a)
	}
	sel := strings.Join(append(sels, "count(DISTINCT visitor_id)", e.d.CountIf("name = 'pageview'"), e.d.CountIf("name <> 'pageview'")), ", ")
	sqlText := "SELECT " + sel + " FROM events WHERE " + where
	if len(dims) > 0 {
		sqlText += " GROUP BY " + strings.Join(dims, ", ")
	}
	rowsSQL, err := e.db.QueryContext(ctx, sqlText, a.vals...)
	if err != nil {
		return fmt.Errorf("stats: events query: %w", err)
	}
	defer rowsSQL.Close()
	for rowsSQL.Next() {
		var visitors, pageviews, events int64
		dv, err := scanGroup(rowsSQL, len(dims), &visitors, &pageviews, &events)
		if err != nil {
			return fmt.Errorf("stats: events query: %w", err)
		}
		r := rs.get(dv)
		r.ints["visitors"] += visitors
		r.ints["pageviews"] += pageviews
		r.ints["events"] += events
	}
	if err := rowsSQL.Err(); err != nil {
		return err
	}
	if contains(q.Dimensions, GoalDimension) && contains(q.Metrics, "conversion_rate") {
		return e.goalRates(ctx, q, from, to, rs)
	}
	return nil
}

// goalWhere restricts events to goals: the custom events, not pageviews, not the names classified
// "ignored".
func goalWhere(q *Query, a *args) string {
	w := " AND name <> 'pageview'"
	for _, n := range q.IgnoredNames {
		w += " AND name <> " + a.add(n)
	}
	return w
}

// goalRates gives each goal row the visitors of the whole view (the same query without the dimension,
// as the dashboard's KPIs count them), over which a goal's conversion rate is its own visitors.
func (e *Engine) goalRates(ctx context.Context, q *Query, from, to time.Time, rs *rows) error {
	all := *q
	all.Dimensions, all.Metrics = nil, []string{"visitors"}
	total := &rows{}
	if err := e.visitTraffic(ctx, &all, from, to, zone.Span(q.Site.Timezone, siteLoc(q.Site), from, to), nil, nil, total); err != nil {
		return err
	}
	n := total.get(nil).ints["visitors"]
	for _, r := range rs.m {
		r.ints[goalTotal] = n
	}
	return nil
}

// goalTotal is the row key of the view's visitors in a goal breakdown (see goalRates).
const goalTotal = "goal_view_visitors"

// goalRevenue credits each goal with the payments its server events became (the events keep their
// payment id in tributary.PaymentIDProp): the gross of their payment entries in the range, converted
// to the reporting currency, in q's mode. It returns the range's unconverted entries.
func (e *Engine) goalRevenue(ctx context.Context, q *Query, from, to time.Time, rs *rows) (int, error) {
	ledgerOnly := *q
	ledgerOnly.Dimensions, ledgerOnly.Filters, ledgerOnly.Metrics = nil, nil, []string{"revenue"}
	md, err := e.loadMoney(ctx, &ledgerOnly, from, to)
	if err != nil {
		return 0, err
	}
	md.mu.RLock()
	paid := map[string]int64{}
	for i := range md.entries {
		if en := &md.entries[i]; en.kind == tributary.EntryPayment {
			paid[en.payment] += en.amount
		}
	}
	unconverted := md.unconverted
	md.mu.RUnlock()
	if len(paid) == 0 {
		return unconverted, nil
	}
	a := &args{d: e.d}
	site := q.Site.ID
	prop := e.d.JSONString("props", tributary.PaymentIDProp)
	where := "site_id = " + a.add(site) + " AND ts >= " + a.add(from) + " AND ts < " + a.add(to) + goalWhere(q, a) + " AND " + prop + " <> ''"
	if f := e.filterSQL(q.Filters, a, site, from, to, true); f != "" {
		where += " AND " + f
	}
	res, err := e.db.QueryContext(ctx, "SELECT name, "+prop+" FROM events WHERE "+where, a.vals...)
	if err != nil {
		return 0, fmt.Errorf("stats: goal revenue: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var name, payment string
		if err := res.Scan(&name, &payment); err != nil {
			return 0, fmt.Errorf("stats: goal revenue: %w", err)
		}
		if amount, ok := paid[payment]; ok {
			rs.get([]string{name}).ints["revenue"] += amount
		}
	}
	return unconverted, res.Err()
}

// visitTraffic groups the range's visits.
func (e *Engine) visitTraffic(ctx context.Context, q *Query, from, to time.Time, z Zone, dims, sels []string, rs *rows) error {
	a := &args{d: e.d}
	site := q.Site.ID
	// Visits come from the sessions table (one row per visit, kept current by the store) and belong to
	// the range they start in; conversions look at the range's events and payment links. Only the
	// aggregates the metrics need are computed.
	need := map[string]bool{"visits": true}
	for _, m := range q.Metrics {
		for _, agg := range trafficAggregates[m] {
			need[agg] = true
		}
	}
	var converting string
	// paying is the visitors who paid in the range; its parameters are bound only if it is used.
	payingSQL := ""
	paying := func() string {
		if payingSQL == "" {
			payingSQL = payingVisitors(a, q, from, to)
		}
		return payingSQL
	}
	if need["conversions"] {
		converting = convertingVisits(a, q, from, to)
	}
	ps, pf, pt := a.add(site), a.add(from), a.add(to)
	where := " WHERE site_id = " + ps + " AND start_ts >= " + pf + " AND start_ts < " + pt
	if f := e.filterSQL(q.Filters, a, site, from, to, false); f != "" {
		where += " AND " + f
	}
	var visitors, conversions string
	var paidIn map[string]int64 // paying visitors by group, when counted apart
	var paidApart chan error    // when counted apart by a statement running beside this one, into apart
	var apart map[string]int64
	if ok, err := e.unitTraffic(ctx, q, from, to, need, rs); ok || err != nil {
		return err
	}
	// Written after the units had their say: on ClickHouse the relation reads the fresh finished days
	// when first written, which a query answered from the units need not wait for.
	visits := e.d.Visits(ps, pf, pt)
	first, count := e.firstVisit(q, z, pf)
	if c := cacheFrom(ctx); first == "" && c != nil && len(q.Filters) == 0 && from.Equal(q.From) && to.Equal(q.To) {
		if ok, err := e.pageVisits(ctx, c, q, from, to, need, rs); ok || err != nil {
			return err
		}
	}
	if first != "" {
		// A paying visitor converts in each group they have a visit in (counted at that first visit); a
		// conversion event converts its visit's visitor, who is counted apart unless already paying.
		visitors = count
		if need["conversions"] {
			byVisit := len(q.Dimensions) == 1 && visitDims[q.Dimensions[0]] != ""
			switch batch := cacheFrom(ctx); {
			case batch == nil && e.d.PayerVisits() != "" && (byVisit || len(q.Dimensions) == 0):
				// Alone, the paying visitors are counted from the store's copies of the payers' visits,
				// beside the visits' query, rather than by matching every visit of the range.
				cols, key := []string{}, ""
				if byVisit {
					cols, key = []string{visitDims[q.Dimensions[0]]}, visitDims[q.Dimensions[0]]
				}
				paidApart = make(chan error, 1)
				go func() {
					m, err := e.countPaying(ctx, cols, !byVisit, q, from, to)
					apart = m[key]
					paidApart <- err
				}()
			case batch != nil && byVisit:
				// A page's panels share one count of paying visitors for every dimension.
				m, err := e.payingFirsts(ctx, batch, q, from, to)
				if err != nil {
					return err
				}
				paidIn = m[visitDims[q.Dimensions[0]]] // nil when the page did not announce this dimension
			case batch != nil && len(q.Dimensions) == 0:
				// The KPIs read the same count, without a dimension; the period they are compared with is
				// no panel's, so it is counted without the dimensions.
				var m map[string]map[string]int64
				var err error
				if from.Equal(q.From) && to.Equal(q.To) {
					m, err = e.payingFirsts(ctx, batch, q, from, to)
				} else {
					m, err = e.payingTotal(ctx, batch, q, from, to)
				}
				if err != nil {
					return err
				}
				paidIn = m[""]
			}
			if paidIn != nil || paidApart != nil {
				conversions = "0"
			} else {
				conversions = e.d.CountIf(first + " AND visitor_id IN (" + paying() + ")")
			}
			if converting != "" {
				conversions += " + coalesce(count(DISTINCT CASE WHEN session_id IN (" + converting + ") AND visitor_id NOT IN (" + paying() + ") THEN visitor_id END), 0)"
			}
		}
	} else if need["conversions"] {
		conversions = distinctConversions(paying(), converting)
	}
	exprs := e.visitExprs(visitors, conversions)
	var aggs []string
	sel := sels
	for _, agg := range visitAggregates {
		if need[agg] {
			aggs, sel = append(aggs, agg), append(sel, exprs[agg])
		}
	}
	sqlText := "SELECT " + strings.Join(sel, ", ") + " FROM " + visits + " s" + where
	if len(dims) > 0 {
		sqlText += " GROUP BY " + strings.Join(dims, ", ")
	}
	queryText, queryArgs := sqlText, a.vals
	// Without a filter, on whole local days, and with conversions counted apart, the visits summed by
	// day answer instead of the visits; the conversion events' visitors are then counted apart too.
	byDay := first != "" && (!need["conversions"] || paidIn != nil || paidApart != nil)
	if byDay {
		if queryText, queryArgs = e.dayTraffic(q, from, to, aggs); queryText == "" {
			byDay, queryText, queryArgs = false, sqlText, a.vals
		}
	}
	res, err := e.db.QueryContext(ctx, queryText, queryArgs...)
	if paidApart != nil {
		// Waited for whatever happened, so apart is read only once written.
		if perr := <-paidApart; err == nil && perr != nil {
			res.Close()
			return perr
		}
		paidIn = apart
	}
	if err != nil {
		return fmt.Errorf("stats: sessions query: %w", err)
	}
	n, err := readVisits(res, len(dims), aggs, paidIn, rs)
	if err == nil && n == 0 && byDay {
		// No row: the site's visits by day are being rebuilt (a zone change) or the range has no
		// visit; the visits answer.
		byDay = false
		if res, err = e.db.QueryContext(ctx, sqlText, a.vals...); err != nil {
			return fmt.Errorf("stats: sessions query: %w", err)
		}
		_, err = readVisits(res, len(dims), aggs, paidIn, rs)
	}
	if err != nil {
		return fmt.Errorf("stats: sessions query: %w", err)
	}
	if byDay && converting != "" {
		return e.convertingApart(ctx, q, from, to, dims, sels, rs)
	}
	return nil
}

// visitAggregates are the aggregates a visits query can compute, in the order it selects them.
var visitAggregates = []string{"visitors", "visits", "pageviews", "bounces", "duration", "events", "conversions"}

// visitExprs are the SQL of visitAggregates over a range's visits: visitors counts distinct unless the
// caller counts first visits (visitors not ""), and conversions is the caller's.
func (e *Engine) visitExprs(visitors, conversions string) map[string]string {
	if visitors == "" {
		visitors = "count(DISTINCT visitor_id)"
	}
	return map[string]string{"visitors": visitors, "visits": "count(*)", "pageviews": "coalesce(sum(pv), 0)", "bounces": e.d.CountIf("pv = 1"),
		"duration": "coalesce(sum(" + e.d.Epoch("end_ts") + " - " + e.d.Epoch("start_ts") + "), 0)", "events": "coalesce(sum(ev), 0)", "conversions": conversions}
}

// distinctConversions counts the distinct visitors who paid in the range (paying) or had a conversion
// event in a visit of it (converting, "" when the site names none).
func distinctConversions(paying, converting string) string {
	conv := "visitor_id IN (" + paying + ")"
	if converting != "" {
		conv = "session_id IN (" + converting + ") OR " + conv
	}
	// coalesce: ClickHouse 18.16 answers NULL, not 0, for a distinct count over only NULLs.
	return "coalesce(count(DISTINCT CASE WHEN " + conv + " THEN visitor_id END), 0)"
}

// groupedVisits is a range's traffic grouped by several visit columns apart (pageVisits): for each
// group (a column, or "" for all the visits) and value, the aggregates aggs.
type groupedVisits struct {
	aggs []string
	rows map[string]map[string][]sql.NullFloat64
}

// pageVisits answers an unfiltered traffic query of a page by one visit column or by none over the
// page's range, where the store keeps no firsts (ClickHouse). There each such query counts distinct
// visitors over every visit of the range, reading the finished visits, merging the unfinished ones and
// listing the paying visitors; one statement does all that once for the page and groups the visits by
// every column its queries announced (RunAll) and in total. ok is false when the page announced no such
// group or aggregate of q's: the query then runs alone.
func (e *Engine) pageVisits(ctx context.Context, c *Cache, q *Query, from, to time.Time, need map[string]bool, rs *rows) (bool, error) {
	group := ""
	if len(q.Dimensions) == 1 {
		group = visitDims[q.Dimensions[0]]
	}
	c.mu.Lock()
	ok := len(q.Dimensions) == 0 || group != ""
	ok = ok && c.visitGroups[group]
	var groups, aggs []string
	for g := range c.visitGroups {
		groups = append(groups, g)
	}
	for _, agg := range visitAggregates {
		if c.visitAggs[agg] {
			aggs = append(aggs, agg)
		} else if need[agg] {
			ok = false
		}
	}
	c.mu.Unlock()
	if !ok {
		return false, nil
	}
	sort.Strings(groups)
	key := fmt.Sprint("page-visits/", q.Site.ID, q.Test, from.UnixNano(), to.UnixNano(), groups, aggs, q.ConversionNames)
	v, err := c.get(key, func() (any, error) { return e.groupVisits(ctx, q, from, to, groups, aggs) })
	if err != nil {
		return true, err
	}
	g := v.(*groupedVisits)
	found := g.rows[group]
	if group == "" && len(found) == 0 {
		// Without a dimension the query answers one row, as its own statement would: zeros when the
		// range has no visit.
		found = map[string][]sql.NullFloat64{"": make([]sql.NullFloat64, len(g.aggs))}
	}
	dv := []string{}
	if group != "" {
		dv = []string{""}
	}
	for val, vals := range found {
		if group != "" {
			dv[0] = val
		}
		addVisitAggs(rs.lookup(dv), g.aggs, vals, need)
	}
	return true, nil
}

// addVisitAggs adds a visits statement's values of aggs to r, those need names only (all when nil).
func addVisitAggs(r *row, aggs []string, vals []sql.NullFloat64, need map[string]bool) {
	for i, agg := range aggs {
		switch {
		case need != nil && !need[agg]:
		case agg == "duration":
			r.floats[agg] += vals[i].Float64
		default:
			r.ints[agg] += int64(vals[i].Float64)
		}
	}
}

// groupVisits is the statement of pageVisits: the range's visits grouped by each of groups apart
// (Dialect.GroupEach), computing aggs.
func (e *Engine) groupVisits(ctx context.Context, q *Query, from, to time.Time, groups, aggs []string) (*groupedVisits, error) {
	a := &args{d: e.d}
	conversions := ""
	if slices.Contains(aggs, "conversions") {
		conversions = distinctConversions(payingVisitors(a, q, from, to), convertingVisits(a, q, from, to))
	}
	ps, pf, pt := a.add(q.Site.ID), a.add(from), a.add(to)
	exprs := e.visitExprs("", conversions)
	sel := make([]string, len(aggs))
	for i, agg := range aggs {
		sel[i] = exprs[agg]
	}
	cols := make([]string, len(groups))
	for i, g := range groups {
		cols[i] = "''"
		if g != "" {
			cols[i] = "coalesce(" + g + ", '')"
		}
	}
	src := "SELECT * FROM " + e.d.Visits(ps, pf, pt) + " s WHERE site_id = " + ps + " AND start_ts >= " + pf + " AND start_ts < " + pt
	res, err := e.db.QueryContext(ctx, e.d.GroupEach(src, cols, sel), a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: page visits: %w", err)
	}
	defer res.Close()
	g := &groupedVisits{aggs: aggs, rows: map[string]map[string][]sql.NullFloat64{}}
	for res.Next() {
		var d int64
		var v string
		vals := make([]sql.NullFloat64, len(aggs))
		dest := []any{&d, &v}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := res.Scan(dest...); err != nil {
			return nil, fmt.Errorf("stats: page visits: %w", err)
		}
		if g.rows[groups[d]] == nil {
			g.rows[groups[d]] = map[string][]sql.NullFloat64{}
		}
		g.rows[groups[d]][v] = vals
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("stats: page visits: %w", err)
	}
	return g, nil
}

// readVisits adds the rows of a visits query (its groups, then aggs) to rs, with the paying visitors
// of each group counted apart (paidIn) as conversions, closes res and returns how many rows it read.
func readVisits(res *sql.Rows, ndims int, aggs []string, paidIn map[string]int64, rs *rows) (int, error) {
	defer res.Close()
	n := 0
	for res.Next() {
		vals := make([]sql.NullFloat64, len(aggs))
		dest := make([]any, len(vals))
		for i := range vals {
			dest[i] = &vals[i]
		}
		dv, err := scanGroup(res, ndims, dest...)
		if err != nil {
			return n, err
		}
		n++
		r := rs.get(dv)
		addVisitAggs(r, aggs, vals, nil)
		if paidIn != nil {
			r.ints["conversions"] += paidIn[strings.Join(dv, "")]
		}
	}
	return n, res.Err()
}

// payingVisitors is the visitors linked to a payment of q's mode made in [from, to), binding its
// parameters in a.
func payingVisitors(a *args, q *Query, from, to time.Time) string {
	ps := a.add(q.Site.ID)
	if rel := a.d.PaidLinks(); rel != "" {
		return "SELECT visitor_id FROM " + rel + " WHERE site_id = " + ps + " AND livemode = " + a.add(!q.Test) + " AND ts >= " + a.add(from) + " AND ts < " + a.add(to)
	}
	return "SELECT visitor_id FROM identities WHERE site_id = " + ps + " AND payment_id <> '' AND visitor_id <> '' AND ts >= " +
		a.add(from) + " AND ts < " + a.add(to) + " AND payment_id IN (" + a.d.Payments(ps, a.add(!q.Test)) + ")"
}

// convertingVisits is the visits with an event the site counts as a conversion in [from, to), binding
// its parameters in a; "" when the site names none.
func convertingVisits(a *args, q *Query, from, to time.Time) string {
	if len(q.ConversionNames) == 0 {
		return ""
	}
	var ps []string
	for _, n := range q.ConversionNames {
		ps = append(ps, a.add(n))
	}
	return "SELECT session_id FROM events WHERE site_id = " + a.add(q.Site.ID) + " AND ts >= " + a.add(from) + " AND ts < " + a.add(to) +
		" AND name IN (" + strings.Join(ps, ", ") + ")"
}

// convertingApart adds to rs's conversions the visitors of each group with a conversion event in the
// range who did not pay in it (those are counted with the payers), for a query answered by day.
func (e *Engine) convertingApart(ctx context.Context, q *Query, from, to time.Time, dims, sels []string, rs *rows) error {
	a := &args{d: e.d}
	ps, pf, pt := a.add(q.Site.ID), a.add(from), a.add(to)
	sqlText := "SELECT " + strings.Join(append(append([]string{}, sels...), "count(DISTINCT visitor_id)"), ", ") + " FROM " + e.d.Visits(ps, pf, pt) +
		" s WHERE site_id = " + ps + " AND start_ts >= " + pf + " AND start_ts < " + pt +
		" AND session_id IN (" + convertingVisits(a, q, from, to) + ") AND visitor_id NOT IN (" + payingVisitors(a, q, from, to) + ")"
	if len(dims) > 0 {
		sqlText += " GROUP BY " + strings.Join(dims, ", ")
	}
	res, err := e.db.QueryContext(ctx, sqlText, a.vals...)
	if err != nil {
		return fmt.Errorf("stats: converting visitors: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var n int64
		dv, err := scanGroup(res, len(dims), &n)
		if err != nil {
			return fmt.Errorf("stats: converting visitors: %w", err)
		}
		rs.get(dv).ints["conversions"] += n
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("stats: converting visitors: %w", err)
	}
	return nil
}

// dayTraffic is the statement answering aggs for q over [from, to) from the store's visits by local
// day (Dialect.VisitsByDay), with its parameters; "" when it cannot: the store keeps none, the range is
// not whole local days, or a dimension is not one visit dimension and one day, week or month (the
// caller has checked there is no filter). A site's first visit of a group in the range is a visit
// whose previous visit of that group is on a day before the range (or of another bucket); summing
// those visits counts distinct visitors. The statement answers no row when the store's days are not
// in the site's zone (being rebuilt), and the caller reads the visits then.
func (e *Engine) dayTraffic(q *Query, from, to time.Time, aggs []string) (string, []any) {
	rel := e.d.VisitsByDay()
	if rel == "" {
		return "", nil
	}
	loc := siteLoc(q.Site)
	fromDay, ok1 := localMidnight(from, loc)
	toDay, ok2 := localMidnight(to, loc)
	if !ok1 || !ok2 {
		return "", nil
	}
	a := &args{d: e.d}
	dim, unit := "", ""
	var sels, groups []string
	for _, d := range q.Dimensions {
		switch {
		case visitDims[d] != "":
			dim = visitDims[d]
			sels, groups = append(sels, "value"), append(groups, "value")
		case timeDims[d] == "day" || timeDims[d] == "week" || timeDims[d] == "month":
			unit = timeDims[d]
			g := "CAST(date_trunc('" + unit + "', day) AS TIMESTAMP)"
			sels, groups = append(sels, e.d.BucketText(g)), append(groups, g)
		default:
			return "", nil
		}
	}
	pf := "CAST(" + a.add(fromDay) + " AS DATE)"
	first := "prev_day IS NULL OR prev_day < " + pf
	if unit != "" {
		first += " OR date_trunc('" + unit + "', prev_day) <> date_trunc('" + unit + "', day)"
	}
	exprs := map[string]string{"visitors": e.d.SumIf("visits", first), "visits": e.d.Sum("visits"), "pageviews": e.d.Sum("pageviews"),
		"bounces": e.d.Sum("bounces"), "duration": "CAST(coalesce(sum(duration), 0) AS DOUBLE) / 1000000", "events": e.d.Sum("events"), "conversions": "0"}
	for _, agg := range aggs {
		sels = append(sels, exprs[agg])
	}
	ps := a.add(q.Site.ID)
	text := "SELECT " + strings.Join(sels, ", ") + " FROM " + rel + " WHERE site_id = " + ps + " AND dim = " + a.add(dim) +
		" AND day >= " + pf + " AND day < CAST(" + a.add(toDay) + " AS DATE) AND EXISTS (SELECT 1 FROM " + rel + "_zone WHERE site_id = " + ps +
		" AND timezone = " + a.add(q.Site.Timezone) + ")"
	if len(groups) > 0 {
		text += " GROUP BY " + strings.Join(groups, ", ")
	}
	return text + " HAVING sum(visits) <> 0", a.vals
}

// localMidnight is t's local date ("2006-01-02") when t is the first instant of that day in loc.
func localMidnight(t time.Time, loc *time.Location) (string, bool) {
	l := t.In(loc)
	return l.Format("2006-01-02"), time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).Equal(t)
}

// payingFirsts counts the visitors who paid in [from, to) by the value of each visit dimension of their
// visits in it, for every dimension in one query, once per request: the paying half of conversions,
// which each panel would otherwise work out with a join of its own.
func (e *Engine) payingFirsts(ctx context.Context, c *Cache, q *Query, from, to time.Time) (map[string]map[string]int64, error) {
	v, err := c.get(fmt.Sprint("paying/", q.Site.ID, q.Test, from.UnixNano(), to.UnixNano()), func() (any, error) { return e.countPaying(ctx, c.pageColumns(), true, q, from, to) })
	if err != nil {
		return nil, err
	}
	return v.(map[string]map[string]int64), nil
}

// payingTotal counts the visitors who paid in [from, to) without a dimension, once per request.
func (e *Engine) payingTotal(ctx context.Context, c *Cache, q *Query, from, to time.Time) (map[string]map[string]int64, error) {
	v, err := c.get(fmt.Sprint("paying-total/", q.Site.ID, q.Test, from.UnixNano(), to.UnixNano()), func() (any, error) { return e.countPaying(ctx, []string{}, true, q, from, to) })
	if err != nil {
		return nil, err
	}
	return v.(map[string]map[string]int64), nil
}

// countPaying counts for the visit columns cols (all of them when cols is nil), and without a dimension
// (key "") when total.
func (e *Engine) countPaying(ctx context.Context, cols []string, total bool, q *Query, from, to time.Time) (map[string]map[string]int64, error) {
	a := &args{d: e.d}
	ps, pf, pt := a.add(q.Site.ID), a.add(from), a.add(to)
	if cols == nil {
		for _, col := range visitDims {
			cols = append(cols, col)
		}
	}
	sort.Strings(cols)
	if !e.d.KeepsFirsts() {
		return e.countPayingDistinct(ctx, cols, total, q, from, to)
	}
	first := func(prev string) string { return "(" + prev + " IS NULL OR " + prev + " < " + pf + ")" }
	// The paying visitors' visits are read once (a few percent of the range) and grouped once per
	// dimension; one GROUPING SETS query would aggregate every count in every set. Only the visits that
	// are a visitor's first of some group in the range are read: a visit first overall (prev_visit) is
	// first in every group too, since a previous visit of the same value is never later than the
	// previous visit.
	need := []string{}
	var parts, firsts []string
	for i, col := range cols {
		need = append(need, col, "prev_"+col)
		firsts = append(firsts, first("prev_"+col))
		parts = append(parts, "SELECT "+strconv.Itoa(i)+" AS d, coalesce("+col+", '') AS v, "+e.d.CountIf(first("prev_"+col))+" AS n FROM paying GROUP BY 2")
	}
	if total {
		// Without a dimension (d -1): the KPIs' paying visitors.
		need = append(need, "prev_visit")
		parts = append(parts, "SELECT -1 AS d, '' AS v, "+e.d.CountIf(first("prev_visit"))+" AS n FROM paying")
		if len(firsts) == 0 {
			firsts = append(firsts, first("prev_visit"))
		}
	}
	if len(parts) == 0 {
		return map[string]map[string]int64{}, nil
	}
	// Every visit of a paying visitor is among the payers' visits, where the store keeps them.
	rel := e.d.PayerVisits()
	if rel == "" {
		rel = e.d.Visits(ps, pf, pt)
	}
	paying := "SELECT " + strings.Join(need, ", ") + " FROM " + rel + " s WHERE site_id = " + ps + " AND start_ts >= " + pf + " AND start_ts < " + pt +
		" AND (" + strings.Join(firsts, " OR ") + ") AND visitor_id IN (" + payingVisitors(a, q, from, to) + ")"
	var sqlText string
	if len(parts) == 1 {
		sqlText = strings.Replace(parts[0], "FROM paying", "FROM ("+paying+") p", 1)
	} else {
		sqlText = "WITH paying AS MATERIALIZED (" + paying + ") " + strings.Join(parts, " UNION ALL ")
	}
	res, err := e.db.QueryContext(ctx, sqlText, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: paying visitors: %w", err)
	}
	defer res.Close()
	m := map[string]map[string]int64{}
	for _, col := range cols {
		m[col] = map[string]int64{}
	}
	for res.Next() {
		var d int
		var v string
		var n int64
		if err := res.Scan(&d, &v, &n); err != nil {
			return nil, fmt.Errorf("stats: paying visitors: %w", err)
		}
		if d < 0 {
			m[""] = map[string]int64{"": n}
			continue
		}
		m[cols[d]][v] = n
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("stats: paying visitors: %w", err)
	}
	return m, nil
}

// sortRows orders results: by order_by, else time ascending, else the first metric descending.
func sortRows(q *Query, list []*row, value func(r *row, m string) float64) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		orders := q.OrderBy
		if len(orders) == 0 {
			for di, d := range q.Dimensions {
				if timeDims[d] != "" {
					orders = append(orders, [2]string{q.Dimensions[di], "asc"})
				}
			}
			orders = append(orders, [2]string{q.Metrics[0], "desc"})
		}
		for _, o := range orders {
			if di := indexOf(q.Dimensions, o[0]); di >= 0 {
				if a.dims[di] != b.dims[di] {
					return (a.dims[di] < b.dims[di]) == (o[1] == "asc")
				}
				continue
			}
			va, vb := value(a, o[0]), value(b, o[0])
			if va != vb {
				return (va < vb) == (o[1] == "asc")
			}
		}
		return strings.Join(a.dims, "\x00") < strings.Join(b.dims, "\x00")
	})
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// siteLoc is the site's location, cached per query.
func siteLoc(s *tributary.Site) *time.Location { return s.Location() }

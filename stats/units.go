package stats

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary/visitday"
	"github.com/tributary/tributary/zone"
)

// The ClickHouse store keeps the visits summed by local day as the embedded store's visits_by_day, but
// written by a job in units (a UTC day of visits' starts, or a run of the days not finished yet), each
// read only while the events it was built from are unchanged (store/clickhouse/visitsday.go). A query
// reads the units that cover its range when every one of them is current, and corrects the sums by the
// tail: the visits with an event after the newest run's bound. Otherwise it reads the visits.

// unitSums marks a dialect whose store keeps visits by day in units (ClickHouse).
type unitSums interface{ unitSums() }

func (ClickHouse) unitSums() {}

// unitState is what a site's units cover: the UTC days (since 1970) with events, the current finished
// days' generations and their payers' marks (visits_paid), and the newest run when it is current.
type unitState struct {
	events map[int64]bool
	done   map[int64]uint64
	paid   map[int64]paidMark
	open   bool
	gen    uint64
	first  int64
	bound  time.Time
}

// paidMark is what a finished day's visits_paid rows cover: the visits of every visitor with a payment
// link whose rowid is at most mark, while the site's links with a rowid at most mark still number links
// (store/clickhouse/visitspaid.go).
type paidMark struct{ mark, links uint64 }

// readUnits reads a site's units in one statement: the events by UTC day (kind 0), the newest sums of
// each finished day (1), the newest run (2) with its site's events from the bound's day to it, and the
// payers' marks of each finished day's generations (3).
func (e *Engine) readUnits(ctx context.Context, site, zone string) (*unitState, error) {
	a := &args{d: e.d}
	ps := a.add(site)
	bound := "(SELECT argMax(bound, gen) FROM visit_open_runs WHERE site_id = " + ps + ")"
	q := `SELECT toUInt8(0), day, toUInt64(sum(events)), toUInt64(0), '', toDateTime(0, 'UTC'), toUInt64(0) FROM visit_day_events WHERE site_id = ` + ps + ` GROUP BY day
		UNION ALL SELECT toUInt8(1), day, argMax(prefix, gen), max(gen), argMax(zone, gen), toDateTime(0, 'UTC'), toUInt64(0) FROM visit_day_sums WHERE site_id = ` + ps + ` GROUP BY day
		UNION ALL SELECT toUInt8(2), argMax(first_day, gen), argMax(prefix, gen), max(gen), argMax(zone, gen), argMax(bound, gen),
			(SELECT count() FROM events WHERE site_id = ` + ps + ` AND ts >= toStartOfDay(` + bound + `) AND ts < ` + bound + `)
			FROM visit_open_runs WHERE site_id = ` + ps + ` HAVING count() > 0
		UNION ALL SELECT toUInt8(3), day, argMax(links, (mark, links)), gen, '', toDateTime(0, 'UTC'), max(mark) FROM visit_paid_marks WHERE site_id = ` + ps + ` GROUP BY day, gen`
	res, err := e.db.QueryContext(ctx, q, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: visit units: %w", err)
	}
	defer res.Close()
	st := &unitState{events: map[int64]bool{}, done: map[int64]uint64{}, paid: map[int64]paidMark{}}
	counts := map[int64]uint64{}
	marks := map[[2]uint64]paidMark{}
	type sums struct {
		prefix, gen uint64
	}
	days := map[int64]sums{}
	var run struct {
		first         int64
		prefix, today uint64
		gen           uint64
		zone          string
		bound         time.Time
	}
	haveRun := false
	for res.Next() {
		var kind uint8
		var day, bound time.Time
		var n, gen, today uint64
		var z string
		if err := res.Scan(&kind, &day, &n, &gen, &z, &bound, &today); err != nil {
			return nil, fmt.Errorf("stats: visit units: %w", err)
		}
		// The driver gives a Date as midnight in the server's zone: its calendar day is the day.
		y, m, dd := day.Date()
		d := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix() / 86400
		switch kind {
		case 0:
			counts[d] = n
			st.events[d] = true
		case 1:
			if z == zone {
				days[d] = sums{n, gen}
			}
		case 2:
			haveRun = true
			run.first, run.prefix, run.gen, run.zone, run.bound, run.today = d, n, gen, z, bound.UTC(), today
		case 3:
			marks[[2]uint64{uint64(d), gen}] = paidMark{mark: today, links: n}
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("stats: visit units: %w", err)
	}
	// before(d) is the site's events dated before day d, as the job counted them.
	sorted := make([]int64, 0, len(counts))
	for d := range counts {
		sorted = append(sorted, d)
	}
	slices.Sort(sorted)
	cum := make([]uint64, len(sorted)+1)
	for i, d := range sorted {
		cum[i+1] = cum[i] + counts[d]
	}
	before := func(d int64) uint64 {
		i, _ := slices.BinarySearch(sorted, d)
		return cum[i]
	}
	for d, s := range days {
		if s.prefix == before(d+2) {
			st.done[d] = s.gen
			if m, ok := marks[[2]uint64{uint64(d), s.gen}]; ok {
				st.paid[d] = m
			}
		}
	}
	if haveRun && run.zone == zone && run.prefix == before(run.bound.Unix()/86400)+run.today {
		st.open, st.gen, st.first, st.bound = true, run.gen, run.first, run.bound
	}
	return st, nil
}

// units reads the site's units once per request.
func (e *Engine) units(ctx context.Context, q *Query) (*unitState, error) {
	return perRequest(ctx, "units/"+q.Site.ID+"/"+q.Site.Timezone, func() (*unitState, error) { return e.readUnits(ctx, q.Site.ID, q.Site.Timezone) })
}

// perRequest is load's value, computed once per request when ctx carries a Cache (WithCache).
func perRequest[T any](ctx context.Context, key string, load func() (T, error)) (T, error) {
	c := cacheFrom(ctx)
	if c == nil {
		return load()
	}
	v, err := c.get(key, func() (any, error) { return load() })
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// dimIndex is a visit column's index in visitday's sums (0: none), -1 when they hold no such column.
func dimIndex(col string) int {
	if col == "" {
		return 0
	}
	if i := slices.Index(visitday.Dims[:], col); i >= 0 {
		return i + 1
	}
	return -1
}

// unitTraffic answers an unfiltered visits query over whole local days from the store's units and
// their tail, when its store keeps them and they cover [from, to): false otherwise (the caller reads
// the visits).
func (e *Engine) unitTraffic(ctx context.Context, q *Query, from, to time.Time, need map[string]bool, rs *rows) (bool, error) {
	if _, ok := e.d.(unitSums); !ok || len(q.Filters) > 0 {
		return false, nil
	}
	loc := siteLoc(q.Site)
	fromDay, ok1 := localMidnight(from, loc)
	toDay, ok2 := localMidnight(to, loc)
	if !ok1 || !ok2 {
		return false, nil
	}
	col, unit := "", ""
	for _, d := range q.Dimensions {
		switch {
		case visitDims[d] != "" && col == "":
			col = visitDims[d]
		case (timeDims[d] == "day" || timeDims[d] == "week" || timeDims[d] == "month") && unit == "":
			unit = timeDims[d]
		default:
			return false, nil
		}
	}
	dim := dimIndex(col)
	if dim < 0 || need["conversions"] && len(q.Dimensions) > 0 && (col == "" || unit != "") {
		// Conversions are counted apart by one visit column or none (paying), as the embedded store's
		// visits by day count them.
		return false, nil
	}
	if cacheFrom(ctx) == nil {
		// One query alone: its sums, conversions and tail still share what they read.
		ctx = WithCache(ctx)
	}
	st, err := e.units(ctx, q)
	if err != nil {
		return true, err
	}
	var done []string
	for d := from.Unix() / 86400; d <= (to.Unix()-1)/86400; d++ {
		switch gen, ok := st.done[d]; {
		case st.open && d >= st.first:
		case ok:
			done = append(done, "(toDate('"+dayString(d)+"'), toUInt64("+strconv.FormatUint(gen, 10)+"))")
		case st.events[d]:
			return false, nil // a day being finished again, or not yet
		}
	}
	useOpen := st.open && (to.Unix()-1)/86400 >= st.first
	// A visit starting before to can have events up to a day later: past the bound, the run lacks them.
	withTail := useOpen && to.Add(24*time.Hour).After(st.bound)
	// The sums, the tail and the paying visitors are read at once: each is a chain of statements that
	// waits on the server, and the page's queries share the tail through the request's cache.
	var wg sync.WaitGroup
	var tail *tailData
	var tailErr, paidErr error
	var paidIn map[string]int64
	if withTail {
		wg.Go(func() { tail, tailErr = e.tail(ctx, q, st, from, to) })
	}
	if need["conversions"] {
		wg.Go(func() { paidIn, paidErr = e.unitPaying(ctx, q, st, from, to, col, useOpen) })
	}
	got, err := e.sumUnits(ctx, q, st, from, to, fromDay, toDay, col, unit, done, useOpen)
	wg.Wait()
	if errors.Is(tailErr, errLongTail) {
		return false, nil
	}
	if err = cmp.Or(err, tailErr, paidErr); err != nil {
		return true, err
	}
	if withTail {
		d, _ := time.Parse(time.DateOnly, fromDay)
		fd := int32(d.Unix() / 86400)
		for _, c := range tail.fixes {
			if c.v.Start < from.UnixMicro() || c.v.Start >= to.UnixMicro() {
				continue
			}
			addTail(got, q, c, dim, unit, fd, loc)
		}
	}
	if len(q.Dimensions) == 0 {
		got.get([]string{})
	}
	for _, k := range got.order {
		r := got.m[k]
		if r.ints["visits"] == 0 && len(q.Dimensions) > 0 {
			continue
		}
		out := rs.get(r.dims)
		for name, n := range r.ints {
			if need[name] {
				out.ints[name] += n
			}
		}
		if need["duration"] {
			out.floats["duration"] += r.floats["duration"]
		}
		if paidIn != nil {
			out.ints["conversions"] += paidIn[strings.Join(r.dims, "")]
		}
	}
	if need["conversions"] && len(q.ConversionNames) > 0 {
		var dims, sels []string
		z := zone.Span(q.Site.Timezone, loc, from, to)
		for _, d := range q.Dimensions {
			g := e.dimExpr(d, z, false)
			dims, sels = append(dims, g), append(sels, e.dimSelect(d, g))
		}
		return true, e.convertingApart(ctx, q, from, to, dims, sels, rs)
	}
	return true, nil
}

// unitSumAggs are the aggregates sumUnits computes, whatever a query needs of them (they cost little
// beside reading the rows).
var unitSumAggs = []string{"visitors", "visits", "pageviews", "bounces", "duration", "events"}

// sumUnits reads the sums of the units over [from, to) (whole local days fromDay to toDay; done the
// finished days' (day, generation) pairs, useOpen whether the newest run is read) by col ("" for none)
// and unit (a time bucket, "" for none), into rows of their own the caller may change. Within a page an
// unbucketed query by one of the page's visit columns, or by none over the page's range, reads the sums
// of every such column and the total in one statement, once: at 10M events one column's statement took
// 12 ms and all eight panels' and the total 16 ms.
func (e *Engine) sumUnits(ctx context.Context, q *Query, st *unitState, from, to time.Time, fromDay, toDay, col, unit string, done []string,
	useOpen bool) (*rows, error) {
	c := cacheFrom(ctx)
	if c == nil || unit != "" || !from.Equal(q.From) || !to.Equal(q.To) || col != "" && !slices.Contains(c.pageColumns(), col) {
		m, err := e.readUnitSums(ctx, q, st, fromDay, toDay, []string{col}, unit, done, useOpen)
		if err != nil {
			return nil, err
		}
		return m[col], nil
	}
	cols := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(append([]string{""}, c.pageColumns()...)))),
		func(c string) bool { return dimIndex(c) < 0 })
	key := fmt.Sprint("unit-sums/", q.Site.ID, "/", from.Unix(), "/", to.Unix(), "/", cols)
	m, err := perRequest(ctx, key, func() (map[string]*rows, error) {
		return e.readUnitSums(ctx, q, st, fromDay, toDay, cols, "", done, useOpen)
	})
	if err != nil {
		return nil, err
	}
	// The page's queries share the sums and each adds its tail to them: each gets a copy.
	out := &rows{}
	if rs := m[col]; rs != nil {
		for _, k := range rs.order {
			r := rs.m[k]
			cp := out.get(r.dims)
			maps.Copy(cp.ints, r.ints)
			maps.Copy(cp.floats, r.floats)
		}
	}
	return out, nil
}

// readUnitSums is sumUnits' statement: the sums by each of cols apart (and by unit's bucket), as rows
// by column.
func (e *Engine) readUnitSums(ctx context.Context, q *Query, st *unitState, fromDay, toDay string, cols []string, unit string, done []string,
	useOpen bool) (map[string]*rows, error) {
	out := map[string]*rows{}
	for _, c := range cols {
		out[c] = &rows{}
	}
	if len(done) == 0 && !useOpen {
		return out, nil
	}
	f, t := "toDate('"+fromDay+"')", "toDate('"+toDay+"')"
	a := &args{d: e.d}
	ps := a.add(q.Site.ID)
	var dims []string
	for _, c := range cols {
		dims = append(dims, a.add(c))
	}
	cols0 := "dim, value, day, prev_day, visits, pageviews, bounces, duration, events"
	where := "site_id = " + ps + " AND dim IN (" + strings.Join(dims, ", ") + ") AND day >= " + f + " AND day < " + t
	var parts []string
	if len(done) > 0 {
		parts = append(parts, "SELECT "+cols0+" FROM visits_by_day WHERE "+where+" AND (unit, gen) IN ("+strings.Join(done, ", ")+")")
	}
	if useOpen {
		parts = append(parts, "SELECT "+cols0+" FROM visits_by_day_open WHERE "+where+" AND gen = "+strconv.FormatUint(st.gen, 10)+
			" AND unit >= toDate('"+dayString(st.first)+"')")
	}
	bucket := func(c string) string {
		switch unit {
		case "week":
			return "toMonday(" + c + ")"
		case "month":
			return "toStartOfMonth(" + c + ")"
		}
		return c
	}
	// The groups in the query's order of dimensions: the column's value, the bucket's text.
	sels := []string{"dim"}
	for _, d := range q.Dimensions {
		if visitDims[d] != "" {
			sels = append(sels, "value")
		} else if timeDims[d] != "" {
			sels = append(sels, "concat(toString("+bucket("day")+"), ' 00:00:00')")
		}
	}
	if unit == "" && len(cols) > 1 {
		// A page's statement: every column's values, whatever this query groups by.
		sels = []string{"dim", "value"}
	}
	groups := slices.Clone(sels)
	first := "prev_day < " + f
	if unit != "" {
		first += " OR " + bucket("prev_day") + " <> " + bucket("day")
	}
	exprs := map[string]string{"visitors": e.d.SumIf("visits", first), "visits": e.d.Sum("visits"), "pageviews": e.d.Sum("pageviews"),
		"bounces": e.d.Sum("bounces"), "duration": "toFloat64(sum(duration)) / 1000000", "events": e.d.Sum("events")}
	for _, agg := range unitSumAggs {
		sels = append(sels, exprs[agg])
	}
	text := "SELECT " + strings.Join(sels, ", ") + " FROM (" + strings.Join(parts, " UNION ALL ") + ") GROUP BY " + strings.Join(groups, ", ")
	res, err := e.db.QueryContext(ctx, text, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: visits by day: %w", err)
	}
	defer res.Close()
	ndims := len(groups) - 1
	for res.Next() {
		vals := make([]sql.NullFloat64, len(unitSumAggs))
		dest := make([]any, len(vals))
		for i := range vals {
			dest[i] = &vals[i]
		}
		dv, err := scanGroup(res, ndims+1, dest...)
		if err != nil {
			return nil, fmt.Errorf("stats: visits by day: %w", err)
		}
		dim := dv[0]
		dv = dv[1:]
		rs := out[dim]
		if rs == nil {
			continue
		}
		if dim == "" && len(cols) > 1 {
			dv = nil // the total: no group
		} else if len(cols) > 1 {
			dv = dv[:1]
		}
		addVisitAggs(rs.get(dv), unitSumAggs, vals, nil)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("stats: visits by day: %w", err)
	}
	return out, nil
}

// unitPaying counts the visitors who paid in [from, to) by the value of col ("" for none), from the
// range's units and its tail: for every column the page announced at once, once per request.
func (e *Engine) unitPaying(ctx context.Context, q *Query, st *unitState, from, to time.Time, col string, useOpen bool) (map[string]int64, error) {
	cols := []string{"", col}
	// A page's panels share one count for every column; the period its KPIs are compared with is no
	// panel's.
	if c := cacheFrom(ctx); c != nil && from.Equal(q.From) && to.Equal(q.To) && (col == "" || slices.Contains(c.pageColumns(), col)) {
		cols = append([]string{""}, c.pageColumns()...)
	}
	cols = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(cols))), func(c string) bool { return dimIndex(c) < 0 })
	key := fmt.Sprint("unit-paying/", q.Site.ID, "/", q.Test, "/", from.Unix(), "/", to.Unix(), "/", cols)
	m, err := perRequest(ctx, key, func() (map[string]map[string]int64, error) {
		return e.readUnitPaying(ctx, q, st, from, to, cols, useOpen)
	})
	if err != nil {
		return nil, err
	}
	return m[col], nil
}

// readUnitPaying counts the paying visitors by each of cols ("" for none): those the tail did not touch
// distinct over the units' rows, the others from the tail's visits.
func (e *Engine) readUnitPaying(ctx context.Context, q *Query, st *unitState, from, to time.Time, cols []string, useOpen bool) (map[string]map[string]int64, error) {
	// Who the tail touched (shared with the query's sums, or read here) and the payers' marks are read
	// at once; the tail's history is not needed before the count is in.
	var wg sync.WaitGroup
	var tail *tailHead
	var tailErr error
	if useOpen && to.Add(24*time.Hour).After(st.bound) {
		wg.Go(func() { tail, tailErr = e.tailHead(ctx, q, st, from, to) })
	}
	m := map[string]map[string]int64{}
	var groups, named []string
	for _, c := range cols {
		m[c] = map[string]int64{}
		if c == "" {
			groups = append(groups, "''")
		} else {
			groups, named = append(groups, c), append(named, c)
		}
	}
	var days []int64
	for d := from.Unix() / 86400; d <= (to.Unix()-1)/86400; d++ {
		if _, ok := st.done[d]; ok && !(useOpen && d >= st.first) {
			days = append(days, d)
		}
	}
	late, copied, err := e.paidLate(ctx, q.Site.ID, st, days)
	wg.Wait()
	if err = cmp.Or(tailErr, err); err != nil {
		return nil, err
	}
	// The visitors the tail touched who paid, read beside the count of the others.
	var paid []string
	var paidErr error
	if tail != nil && len(tail.visitors) > 0 {
		b := &args{d: e.d}
		text := "SELECT DISTINCT visitor_id FROM (" + payingVisitors(b, q, from, to) + ") WHERE visitor_id IN (" + chList(tail.visitors) + ")"
		wg.Go(func() { paid, paidErr = e.strings(ctx, text, b.vals...) })
	}
	a := &args{d: e.d}
	ps, pf, pt := a.add(q.Site.ID), a.add(from), a.add(to)
	sel := "SELECT " + strings.Join(append([]string{"visitor_id"}, named...), ", ")
	where := " AND start_ts >= " + pf + " AND start_ts < " + pt
	// The days' pairs, apart by whether their copies stand.
	var pairs [2][]string
	for _, d := range days {
		i := 0
		if copied[d] {
			i = 1
		}
		pairs[i] = append(pairs[i], "(toDate('"+dayString(d)+"'), toUInt64("+strconv.FormatUint(st.done[d], 10)+"))")
	}
	whole, copies := strings.Join(pairs[0], ", "), strings.Join(pairs[1], ", ")
	if 2*len(copies)+len(whole)+listBytes(late) > paidStatementBytes {
		// The days twice and the late visitors would pass 18.16's 256 KB: read every visit.
		late, whole, copies = nil, strings.Join(append(pairs[0], pairs[1]...), ", "), ""
	}
	var parts []string
	if list := copies; list != "" {
		// The days whose payers' visits the job copied: those rows, and the visits of the visitors
		// linked since (a visitor in both is counted once).
		parts = append(parts, sel+" FROM visits_paid WHERE site_id = "+ps+" AND (day, gen) IN ("+list+")"+where)
		if len(late) > 0 {
			parts = append(parts, sel+" FROM visits_done PREWHERE visitor_id IN ("+chList(late)+") WHERE site_id = "+ps+" AND (day, gen) IN ("+list+")"+where)
		}
	}
	if list := whole; list != "" {
		parts = append(parts, sel+" FROM visits_done WHERE site_id = "+ps+" AND (day, gen) IN ("+list+")"+where)
	}
	if useOpen {
		parts = append(parts, sel+" FROM visits_open WHERE site_id = "+ps+" AND gen = "+strconv.FormatUint(st.gen, 10)+where)
	}
	if len(parts) > 0 {
		// The paying visitors once, joined (18.16 works a subquery out at each place it is named), less
		// those the tail counts, each numbered by its place in their array: the distinct counts then
		// hash numbers, not ids (a page's count at 10M events: 52-61 ms against 78-113 ms).
		payers := "SELECT visitor_id FROM (" + payingVisitors(a, q, from, to) + ")"
		if tail != nil && len(tail.visitors) > 0 {
			payers += " WHERE visitor_id NOT IN (" + chList(tail.visitors) + ")"
		}
		numbered := "SELECT visitor_id, vn FROM (SELECT groupUniqArray(visitor_id) AS a FROM (" + payers + ")) ARRAY JOIN a AS visitor_id, arrayEnumerate(a) AS vn"
		src := "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") ANY INNER JOIN (" + numbered + ") USING visitor_id"
		err = e.countEach(ctx, src, "uniqExact(vn)", groups, cols, a.vals, m)
	}
	wg.Wait()
	if err = cmp.Or(err, paidErr); err != nil {
		return nil, err
	}
	if tail == nil || len(tail.visitors) == 0 {
		return m, nil
	}
	// The visitors the tail touched who paid, counted by their visits now.
	now, err := e.tail(ctx, q, st, from, to)
	if err != nil {
		return nil, err
	}
	seen := map[[3]string]bool{}
	for _, v := range now.visits {
		if !slices.Contains(paid, v.Visitor) || v.Start < from.UnixMicro() || v.Start >= to.UnixMicro() {
			continue
		}
		for _, c := range cols {
			val := ""
			if c != "" {
				val = v.Vals[dimIndex(c)-1]
			}
			if k := [3]string{c, val, v.Visitor}; !seen[k] {
				seen[k] = true
				m[c][val]++
			}
		}
	}
	return m, nil
}

// paidLateBytes bounds the ids of the visitors linked since a day's payers were copied that a count of
// the paying visitors names (the tail's are named too).
const paidLateBytes = 64 << 10

// paidStatementBytes bounds what a count of paying visitors names beside the tail's visitors (at most
// tailBytes/2, named once): the days' pairs, twice with the copies, and the visitors linked since.
const paidStatementBytes = 160 << 10

// paidLate checks the payers' marks of days (the finished days a count of the paying visitors reads)
// against the site's payment links now. It returns the days whose visits_paid rows stand for their
// payers' visits, those whose mark's count of links still holds (a link written later with a rowid
// under the mark, by another node or an insert in flight, changes it), and the visitors linked after the
// smallest of their marks, whose visits the count reads from visits_done. None when those links are
// more than the tail's limit, or their visitors' ids more than paidLateBytes: the count reads
// visits_done. A link written after this read and before the count's statement is in neither (its
// payer is counted from the next request on), as an insert's newest events can be missing while it runs.
func (e *Engine) paidLate(ctx context.Context, site string, st *unitState, days []int64) ([]string, map[int64]bool, error) {
	low, marked := uint64(0), false
	for _, d := range days {
		if m, ok := st.paid[d]; ok && (!marked || m.mark < low) {
			low, marked = m.mark, true
		}
	}
	if !marked {
		return nil, nil, nil
	}
	limit := e.tailMax
	if limit <= 0 {
		limit = tailLimit
	}
	links := " FROM identities WHERE site_id = $1 AND payment_id <> '' AND visitor_id <> '' AND rowid "
	res, err := e.db.QueryContext(ctx, "SELECT toUInt8(0), rowid, visitor_id"+links+"> "+strconv.FormatUint(low, 10)+" LIMIT "+strconv.Itoa(limit+1)+
		" UNION ALL SELECT toUInt8(1), count(), ''"+links+"<= "+strconv.FormatUint(low, 10), site)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: payers' marks: %w", err)
	}
	defer res.Close()
	var below uint64
	var after []uint64
	var visitors []string
	for res.Next() {
		var kind uint8
		var n uint64
		var v string
		if err := res.Scan(&kind, &n, &v); err != nil {
			return nil, nil, fmt.Errorf("stats: payers' marks: %w", err)
		}
		if kind == 1 {
			below = n
		} else {
			after, visitors = append(after, n), append(visitors, v)
		}
	}
	if err := res.Err(); err != nil {
		return nil, nil, fmt.Errorf("stats: payers' marks: %w", err)
	}
	visitors = slices.Compact(slices.Sorted(slices.Values(visitors)))
	if len(after) > limit || listBytes(visitors) > paidLateBytes {
		return nil, nil, nil
	}
	copied := map[int64]bool{}
	for _, d := range days {
		m, ok := st.paid[d]
		if !ok {
			continue
		}
		n := below
		for _, r := range after {
			if r <= m.mark {
				n++
			}
		}
		copied[d] = n == m.links
	}
	return visitors, copied, nil
}

// tailVisit is a correction of the sums: a visit to take away (sign -1, as the run summed it) or to add
// (1, as it is now).
type tailVisit struct {
	sign int64
	v    visitday.Visit
}

// tailLimit is TailLimit's default; tailBytes bounds the ids a statement of the tail holds (ids are up
// to 64 characters; 18.16 refuses a statement over 256 KB).
const (
	tailLimit = 2000
	tailBytes = 160 << 10
)

// listBytes is the size of ids as chList writes them.
func listBytes(ids []string) int {
	n := 0
	for _, id := range ids {
		n += len(id) + 4
	}
	return n
}

// errLongTail says a range's tail names more visitors, or holds more events, than the engine's limit
// allows: the query reads the visits.
var errLongTail = errors.New("stats: more visitors or events after the open days' run than the tail limit")

// tailData is the tail of a range: the corrections, and the visits now of the visitors it touched
// (visitors) in the range and on the day before it (Cur for those starting on the run's days).
type tailData struct {
	fixes    []tailVisit
	visitors []string
	visits   []visitday.Visit
}

// tail reads the tail of [from, to): the visitors whose visits the events at or after the run's bound
// (and before the day after to: a visit lasts less than a day, so a later one starts after to) changed
// or started, their visits as the run holds them, taken away, and as they are now, added, with previous
// visits worked out from theirs since the day before from (an earlier one counts as none: every
// comparison is with from or later). Once per request.
func (e *Engine) tail(ctx context.Context, q *Query, st *unitState, from, to time.Time) (*tailData, error) {
	return perRequest(ctx, fmt.Sprint("tail/", q.Site.ID, "/", st.gen, "/", from.Unix(), "/", to.Unix()), func() (*tailData, error) {
		h, err := e.tailHead(ctx, q, st, from, to)
		if err != nil {
			return nil, err
		}
		return h.finish()
	})
}

// tailHead reads the first part of the tail, once per request: who it touched. Their finished history,
// the tail's longest read, goes on after it returns, so a count of the paying visitors, which leaves the
// tail's visitors to it, need not wait for it.
func (e *Engine) tailHead(ctx context.Context, q *Query, st *unitState, from, to time.Time) (*tailHead, error) {
	return perRequest(ctx, fmt.Sprint("tail-head/", q.Site.ID, "/", st.gen, "/", from.Unix(), "/", to.Unix()), func() (*tailHead, error) {
		return e.readTailHead(ctx, q.Site.ID, st, from, to)
	})
}

// tailHead is a tail's events after the run's bound by session, the run's rows of their sessions and
// visitors, the visits they start, and the visitors they touched (sorted), with the read of those
// visitors' finished history in flight (finish waits for it).
type tailHead struct {
	bySession map[string][]tailEvent
	sessions  []string
	run       []visitday.Visit
	created   []visitday.Visit
	touched   map[string]bool
	visitors  []string
	history   func() ([]visitday.Visit, error) // waits for the history's read; nil without events
}

// readTailHead reads what the tail's visits are built from (finish builds them): the events after the
// run's bound and the run's rows they extend, as the visits table's merges would (migration 003: a
// visit's visitor and columns are its first event's, its pages its first and last pageview's): every
// event of a session the run holds is before the bound, so the events after it only extend the run's
// visits or start new ones. Reading the visits table instead cost a statement of the visits' aggregate
// states (170 MB at 10M events) and two scans of the open days' events.
func (e *Engine) readTailHead(ctx context.Context, site string, st *unitState, from, to time.Time) (*tailHead, error) {
	limit := e.tailMax
	if limit <= 0 {
		limit = tailLimit
	}
	evs, err := e.tailEvents(ctx, site, st.bound, to.Add(24*time.Hour), tailEventsPer*limit)
	if err != nil {
		return nil, err
	}
	h := &tailHead{bySession: map[string][]tailEvent{}, touched: map[string]bool{}}
	if len(evs) == 0 {
		return h, nil
	}
	var named []string
	for _, ev := range evs {
		if h.bySession[ev.session] == nil {
			h.sessions = append(h.sessions, ev.session)
		}
		h.bySession[ev.session] = append(h.bySession[ev.session], ev)
		named = append(named, ev.visitor)
	}
	named = slices.Compact(slices.Sorted(slices.Values(named)))
	// The run's rows name the visitors and the sessions, the history the visitors.
	if len(named) > limit || 2*listBytes(named)+listBytes(h.sessions) > tailBytes {
		return nil, errLongTail
	}
	if h.run, err = e.tailRun(ctx, site, st, named, h.sessions); err != nil {
		return nil, err
	}
	// A session's visitor is the run's (its first event is before the bound) or its first event's.
	owner := map[string]string{}
	for _, v := range h.run {
		if h.bySession[v.Session] != nil {
			owner[v.Session] = v.Visitor
		}
	}
	for _, s := range h.sessions {
		if _, ok := owner[s]; !ok {
			v := newTailVisit(h.bySession[s])
			owner[s] = v.Visitor
			h.created = append(h.created, v)
		}
	}
	for _, v := range owner {
		h.touched[v] = true
	}
	// An event after the bound may name a visitor other than its session's (a server-side event): the
	// run's rows and history of a session's visitor its events never name are read apart.
	var missing []string
	for v := range h.touched {
		if _, ok := slices.BinarySearch(named, v); !ok {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 && (len(named)+len(missing) > limit || 2*listBytes(missing) > tailBytes) {
		return nil, errLongTail
	}
	// The finished visits since the day before from of those visitors, read while the caller goes on:
	// a count of the paying visitors needs only who they are.
	done := make(chan struct{})
	var history []visitday.Visit
	var historyErr error
	go func() {
		defer close(done)
		history, historyErr = e.tailHistory(ctx, site, st, from, slices.Concat(named, missing))
	}()
	h.history = func() ([]visitday.Visit, error) {
		<-done
		return history, historyErr
	}
	if len(missing) > 0 {
		r, err := e.tailRun(ctx, site, st, missing, nil)
		if err != nil {
			h.history()
			return nil, err
		}
		h.run = append(h.run, r...)
	}
	for v := range h.touched {
		h.visitors = append(h.visitors, v)
	}
	slices.Sort(h.visitors)
	return h, nil
}

// finish waits for the history and works out the tail's visits now, with their previous visits.
func (h *tailHead) finish() (*tailData, error) {
	var history []visitday.Visit
	if h.history != nil {
		var err error
		if history, err = h.history(); err != nil {
			return nil, err
		}
	}
	var out []tailVisit
	var vs []visitday.Visit
	seen := map[string]bool{} // a run's row read both for its session and for its visitor
	for _, v := range h.run {
		if !h.touched[v.Visitor] || seen[v.Session] {
			continue
		}
		seen[v.Session] = true
		out = append(out, tailVisit{-1, v})
		if evs := h.bySession[v.Session]; evs != nil {
			extendTailVisit(&v, evs)
		}
		v.Cur = true
		vs = append(vs, v)
	}
	for _, v := range history {
		if h.touched[v.Visitor] {
			vs = append(vs, v)
		}
	}
	for _, v := range h.created {
		v.Cur = true
		vs = append(vs, v)
	}
	visitday.Sort(vs)
	visitday.SetPrevs(vs)
	for _, v := range vs {
		if v.Cur {
			out = append(out, tailVisit{1, v})
		}
	}
	return &tailData{fixes: out, visitors: h.visitors, visits: vs}, nil
}

// tailEvent is one event after the run's bound, with what a visit takes from it.
type tailEvent struct {
	visitor, session string
	ts               int64 // seconds
	pageview         bool
	path             string
	vals             [len(visitday.Dims)]string // entry_page and exit_page empty
}

// tailEventsPer is how many events after the run's bound the tail reads per visitor of its limit.
const tailEventsPer = 20

// tailEventDims are the indexes in visitday.Dims of the columns a visit takes from its first event (all
// but its pages), which events hold under the same names.
var tailEventDims = func() []int {
	var out []int
	for i := range visitday.Dims {
		if i != entryDim && i != exitDim {
			out = append(out, i)
		}
	}
	return out
}()

// tailEvents reads the site's events in [bound, end), in the order of their time (ties as stored), and
// errLongTail past max of them.
func (e *Engine) tailEvents(ctx context.Context, site string, bound, end time.Time, max int) ([]tailEvent, error) {
	cols := make([]string, len(tailEventDims))
	for i, d := range tailEventDims {
		cols[i] = visitday.Dims[d]
	}
	res, err := e.db.QueryContext(ctx, "SELECT visitor_id, session_id, toUInt32(ts), toUInt8(name = 'pageview'), path, "+strings.Join(cols, ", ")+
		" FROM events WHERE site_id = $1 AND ts >= $2 AND ts < $3 LIMIT "+strconv.Itoa(max+1), site, bound, end)
	if err != nil {
		return nil, fmt.Errorf("stats: tail: %w", err)
	}
	defer res.Close()
	var out []tailEvent
	for res.Next() {
		var ev tailEvent
		var ts uint32
		var pv uint8
		dest := []any{&ev.visitor, &ev.session, &ts, &pv, &ev.path}
		for _, d := range tailEventDims {
			dest = append(dest, &ev.vals[d])
		}
		if err := res.Scan(dest...); err != nil {
			return nil, fmt.Errorf("stats: tail: %w", err)
		}
		ev.ts, ev.pageview = int64(ts), pv == 1
		out = append(out, ev)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("stats: tail: %w", err)
	}
	if len(out) > max {
		return nil, errLongTail
	}
	slices.SortStableFunc(out, func(a, b tailEvent) int { return cmp.Compare(a.ts, b.ts) })
	return out, nil
}

// Indexes of the pages in visitday.Dims.
var (
	entryDim = slices.Index(visitday.Dims[:], "entry_page")
	exitDim  = slices.Index(visitday.Dims[:], "exit_page")
)

// newTailVisit is the visit of a session all of whose events are evs (in time order).
func newTailVisit(evs []tailEvent) visitday.Visit {
	first := evs[0]
	v := visitday.Visit{Visitor: first.visitor, Session: first.session, Start: first.ts * 1e6, End: first.ts * 1e6, Vals: first.vals}
	extendTailVisit(&v, evs)
	return v
}

// extendTailVisit adds evs (in time order, none before v's events) to v, as the visits table's merges
// do: the end and counts grow, the entry page is the first pageview's and the exit page the last's (on
// a tie, the first read, as argMax keeps it).
func extendTailVisit(v *visitday.Visit, evs []tailEvent) {
	hadPage := v.PV > 0
	var last int64 = -1
	for _, ev := range evs {
		v.End = max(v.End, ev.ts*1e6)
		if !ev.pageview {
			v.EV++
			continue
		}
		v.PV++
		if !hadPage {
			hadPage = true
			v.Vals[entryDim] = ev.path
		}
		if ev.ts > last {
			last = ev.ts
			v.Vals[exitDim] = ev.path
		}
	}
}

// tailRun reads the run's rows (visits_open, with their previous visits) of the visitors and of the
// sessions.
func (e *Engine) tailRun(ctx context.Context, site string, st *unitState, visitors, sessions []string) ([]visitday.Visit, error) {
	var prevs []string
	for _, c := range append([]string{"visit"}, visitday.Dims[:]...) {
		prevs = append(prevs, "toUInt32(prev_"+c+")")
	}
	which := "visitor_id IN (" + chList(visitors) + ")"
	if len(sessions) > 0 {
		which += " OR session_id IN (" + chList(sessions) + ")"
	}
	return e.tailVisits(ctx, "SELECT "+tailVisitCols+", "+strings.Join(prevs, ", ")+" FROM visits_open PREWHERE "+which+
		" WHERE site_id = $1 AND gen = "+strconv.FormatUint(st.gen, 10), site)
}

// tailHistory reads the visitors' finished visits (visits_done, without previous visits) from the day
// before from to the run's first day.
func (e *Engine) tailHistory(ctx context.Context, site string, st *unitState, from time.Time, visitors []string) ([]visitday.Visit, error) {
	var done []string
	for d, gen := range st.done {
		if d < st.first && d >= from.Unix()/86400-1 {
			done = append(done, "(toDate('"+dayString(d)+"'), toUInt64("+strconv.FormatUint(gen, 10)+"))")
		}
	}
	if len(done) == 0 {
		return nil, nil
	}
	zeros := strings.Repeat(", toUInt32(0)", 1+len(visitday.Dims))
	return e.tailVisits(ctx, "SELECT "+tailVisitCols+zeros+" FROM visits_done PREWHERE visitor_id IN ("+chList(visitors)+") WHERE site_id = $1"+
		" AND (day, gen) IN ("+strings.Join(done, ", ")+")", site)
}

// tailVisitCols are the columns of a visit scanTailVisit reads, before its previous visits.
var tailVisitCols = "visitor_id, session_id, toUInt32(start_ts), toUInt32(end_ts), pv, ev, " + strings.Join(visitday.Dims[:], ", ")

// tailVisits runs a statement of tailRun or tailHistory.
func (e *Engine) tailVisits(ctx context.Context, q, site string) ([]visitday.Visit, error) {
	res, err := e.db.QueryContext(ctx, q, site)
	if err != nil {
		return nil, fmt.Errorf("stats: tail: %w", err)
	}
	defer res.Close()
	var out []visitday.Visit
	for res.Next() {
		v, err := scanTailVisit(res)
		if err != nil {
			return nil, fmt.Errorf("stats: tail: %w", err)
		}
		out = append(out, v)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("stats: tail: %w", err)
	}
	return out, nil
}

// strings runs a query of one text column.
func (e *Engine) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	res, err := e.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("stats: tail: %w", err)
	}
	defer res.Close()
	var out []string
	for res.Next() {
		var s string
		if err := res.Scan(&s); err != nil {
			return nil, fmt.Errorf("stats: tail: %w", err)
		}
		out = append(out, s)
	}
	return out, res.Err()
}

// chList is ids as a list of ClickHouse literals.
func chList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "'" + chQuote(id) + "'"
	}
	return strings.Join(q, ", ")
}

// scanTailVisit scans a visit: visitor, session, start and end in seconds, pv, ev,
// the visitday.Dims columns and the previous visits' starts in seconds (0 for none).
func scanTailVisit(res *sql.Rows) (visitday.Visit, error) {
	var v visitday.Visit
	var start, end uint32
	var pv, ev uint64
	dest := []any{&v.Visitor, &v.Session, &start, &end, &pv, &ev}
	for i := range v.Vals {
		dest = append(dest, &v.Vals[i])
	}
	var ps [len(v.Prevs)]uint32
	for i := range ps {
		dest = append(dest, &ps[i])
	}
	if err := res.Scan(dest...); err != nil {
		return v, err
	}
	v.Start, v.End, v.PV, v.EV = int64(start)*1e6, int64(end)*1e6, int64(pv), int64(ev)
	for i, p := range ps {
		v.Prevs[i] = visitday.NoPrev
		if p != 0 {
			v.Prevs[i] = int64(p) * 1e6
		}
	}
	return v, nil
}

// addTail adds one correction to got, grouped as q's dimensions (the visit column of index dim in
// visitday's sums, the time unit), its visitor counted when the visit is the first of its group in the
// range starting on local day fromDay.
func addTail(got *rows, q *Query, c tailVisit, dim int, unit string, fromDay int32, loc *time.Location) {
	v := &c.v
	day := visitday.Day(v.Start, loc)
	bucket := func(d int32) string {
		t := time.Unix(int64(d)*86400, 0).UTC()
		switch unit {
		case "week":
			t = t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
		case "month":
			t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		return t.Format(time.DateOnly) + " 00:00:00"
	}
	var dv []string
	for _, d := range q.Dimensions {
		if visitDims[d] != "" {
			dv = append(dv, v.Vals[dim-1])
		} else {
			dv = append(dv, bucket(day))
		}
	}
	first := v.Prevs[dim] == visitday.NoPrev
	if !first {
		p := visitday.Day(v.Prevs[dim], loc)
		first = p < fromDay || unit != "" && bucket(p) != bucket(day)
	}
	r := got.get(dv)
	if first {
		r.ints["visitors"] += c.sign
	}
	r.ints["visits"] += c.sign
	r.ints["pageviews"] += c.sign * v.PV
	if v.PV == 1 {
		r.ints["bounces"] += c.sign
	}
	r.floats["duration"] += float64(c.sign*(v.End-v.Start)) / 1e6
	r.ints["events"] += c.sign * v.EV
}

func dayString(d int64) string { return time.Unix(d*86400, 0).UTC().Format(time.DateOnly) }

// countPayingDistinct is countPaying for a store whose visits carry no previous visits: the paying
// visitors' visits of the range grouped by each column, their visitors counted distinct.
func (e *Engine) countPayingDistinct(ctx context.Context, cols []string, total bool, q *Query, from, to time.Time) (map[string]map[string]int64, error) {
	if total {
		cols = append(cols, "")
	}
	m := map[string]map[string]int64{}
	groups := make([]string, len(cols))
	for i, c := range cols {
		m[c] = map[string]int64{}
		groups[i] = "''"
		if c != "" {
			groups[i] = "coalesce(" + c + ", '')"
		}
	}
	if len(groups) == 0 {
		return m, nil
	}
	b := &args{d: e.d}
	s, f, t := b.add(q.Site.ID), b.add(from), b.add(to)
	src := "SELECT * FROM " + e.d.Visits(s, f, t) + " v WHERE site_id = " + s + " AND start_ts >= " + f + " AND start_ts < " + t +
		" AND visitor_id IN (" + payingVisitors(b, q, from, to) + ")"
	if err := e.countEach(ctx, src, "count(DISTINCT visitor_id)", groups, cols, b.vals, m); err != nil {
		return nil, err
	}
	if total && len(m[""]) == 0 {
		m[""] = map[string]int64{"": 0}
	}
	return m, nil
}

// countEach counts the distinct visitors of src (by the aggregate count) grouped by each of groups
// (Dialect.GroupEach) into m, under the column cols names at the group's index.
func (e *Engine) countEach(ctx context.Context, src, count string, groups, cols []string, vals []any, m map[string]map[string]int64) error {
	res, err := e.db.QueryContext(ctx, e.d.GroupEach(src, groups, []string{count}), vals...)
	if err != nil {
		return fmt.Errorf("stats: paying visitors: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var d int64
		var v string
		var n uint64
		if err := res.Scan(&d, &v, &n); err != nil {
			return fmt.Errorf("stats: paying visitors: %w", err)
		}
		m[cols[d]][v] = int64(n)
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("stats: paying visitors: %w", err)
	}
	return nil
}

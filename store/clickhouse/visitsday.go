package clickhouse

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary/visitday"
)

// Visits summed by local day (migration 007). The embedded store counts an unfiltered breakdown's
// visitors over whole local days from visits_by_day, sums kept with each visit's previous visit of the
// same value, without reading a visit; this store keeps the same sums, written by its finishing job:
//
//   - Finished days: when the job writes a day's visits_done generation it reads the rows back with the
//     earlier visits of the same visitors, works out each visit's previous visits (package visitday) and
//     writes the day's sums under the same generation, recording in visit_day_sums the site's events
//     dated before the day after the day's next day (prefix) and the zone. A previous visit can be on any
//     earlier day, so a day's sums are read only while that prefix still holds: a late event on any
//     earlier day makes them stale, and the job writes them again (with the visits of every later day).
//   - The days not finished yet (yesterday and today, UTC) are built as a run every minute, or every
//     openShare times as long as the last run took if that is longer: the visits starting on them, from
//     the events dated before the run's bound (two minutes before the run), go into visits_open with
//     their previous visits' starts, and their sums into visits_by_day_open, under the run's generation;
//     visit_open_runs records the bound and the site's events dated before it. A run is read only while
//     that count holds. The visits with an event at or after the bound (a few minutes of traffic) are
//     the tail: a query reads those events and the run's rows of their visitors, extends the run's
//     visits by the events (or starts new ones), and corrects the sums by the difference
//     (stats/units.go).
//
// Sums need the site's zone, which lives in the MetaStore: Open's Zones option names it. Without it, or
// for a site it does not name, the job writes visits_done alone and queries read the visits.
//
// Runs are partitions of their own (the generation), dropped an hour after the job first finds no site
// reading them (each node's job counts from its own first sight): a query reads the newest run it finds
// when it starts, and none takes an hour.

// openLag is how far behind the store's clock a run's bound is: events are dated as they arrive and
// written within seconds, so an event dated before the bound rarely arrives after the run has read them
// (when one does, the run is stale and queries read the visits until the next run).
const openLag = 2 * time.Minute

// openShare is how many times its own duration the job waits before it writes the open days again.
const openShare = 10

// openKeep is how long a superseded run stays before its partitions are dropped.
const openKeep = time.Hour

// Zones names the time zone of each site (IANA names by site id), which the finishing job sums visits by
// local day in; main passes the MetaStore's sites. Without it, or for a site it does not name, no sums
// are written.
func Zones(f func(ctx context.Context) (map[string]string, error)) Option {
	return func(s *Store) { s.zones = f }
}

// siteZones reads the sites' zones, none without a Zones option.
func (s *Store) siteZones(ctx context.Context) (map[string]string, error) {
	if s.zones == nil {
		return nil, nil
	}
	z, err := s.zones(ctx)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: site zones: %w", err)
	}
	return z, nil
}

func location(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC // as tributary.Site.Location reads it
	}
	return loc
}

// prefixes turns a site's events by UTC day into the events dated before each day (days since 1970).
type prefixes struct {
	days   []int64 // ascending
	before []uint64
}

// bySite groups the events by UTC day by site, so each site's are found without a pass over every
// site's (the job runs every minute, over every site).
func bySite(counts map[dayKey]uint64) map[string]map[int64]uint64 {
	out := map[string]map[int64]uint64{}
	for k, n := range counts {
		if out[k.site] == nil {
			out[k.site] = map[int64]uint64{}
		}
		out[k.site][k.day] = n
	}
	return out
}

// newPrefixes is the prefixes of one site's events by UTC day.
func newPrefixes(counts map[int64]uint64) prefixes {
	p := prefixes{days: slices.Sorted(maps.Keys(counts))}
	sum := uint64(0)
	for _, d := range p.days {
		p.before = append(p.before, sum)
		sum += counts[d]
	}
	p.before = append(p.before, sum)
	return p
}

// at is the events dated before day d.
func (p prefixes) at(d int64) uint64 {
	i, _ := slices.BinarySearch(p.days, d)
	return p.before[i]
}

// sumDay writes the sums of one finished day's visits (visits_done, generation gen) in zone, from its
// rows and the same visitors' visits on the days before it: those of the newest generation recorded
// for each day, and those this generation holds for chunk's earlier days (not recorded yet).
func (s *Store) sumDay(ctx context.Context, site string, day int64, chunk []int64, gen uint64, zone string) error {
	g := strconv.FormatUint(gen, 10)
	var inChunk []string
	for _, d := range chunk {
		if d < day {
			inChunk = append(inChunk, "'"+dayText(d)+"'")
		}
	}
	cur := `day = '` + dayText(day) + `' AND gen = ` + g
	hist := `day < '` + dayText(day) + `' AND (day, gen) IN (SELECT day, max(gen) FROM visit_days WHERE site_id = $1 GROUP BY day)`
	if len(inChunk) > 0 {
		list := strings.Join(inChunk, ", ")
		hist = `(day IN (` + list + `) AND gen = ` + g + `) OR (day NOT IN (` + list + `) AND ` + hist + `)`
	}
	q := `SELECT ` + cur + ` AS cur, visitor_id, session_id, toUInt32(start_ts), toUInt32(end_ts), pv, ev, ` + strings.Join(visitday.Dims[:], ", ") + `
		FROM visits_done WHERE site_id = $1 AND ((` + cur + `) OR (` + hist + `))
		AND visitor_id IN (SELECT visitor_id FROM visits_done WHERE site_id = $1 AND ` + cur + `)`
	visits, err := s.readVisits(ctx, "finished visits by day", q, site)
	if err != nil {
		return err
	}
	sums := visitday.NewSums(location(zone))
	for i := range visits {
		if visits[i].Cur {
			sums.Add(int32(day), &visits[i], 1)
		}
	}
	return s.insertSums(ctx, "visits_by_day", site, gen, sums)
}

// readVisits runs q (cur, visitor_id, session_id, start and end in seconds, pv, ev and the visitday.Dims
// columns) and works out each visit's previous visits among those read, which it returns sorted.
func (s *Store) readVisits(ctx context.Context, op, q string, args ...any) ([]visitday.Visit, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []visitday.Visit
	// Values repeat across visits: one string each.
	seen := map[string]string{}
	var (
		cur        uint8
		start, end uint32
		pv, ev     uint64
		v          visitday.Visit
	)
	dest := []any{&cur, &v.Visitor, &v.Session, &start, &end, &pv, &ev}
	for i := range v.Vals {
		dest = append(dest, &v.Vals[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, mapErr(op, err)
		}
		v.Cur = cur == 1
		v.Start, v.End, v.PV, v.EV = int64(start)*1e6, int64(end)*1e6, int64(pv), int64(ev)
		for i, x := range v.Vals {
			if w, ok := seen[x]; ok {
				v.Vals[i] = w
			} else {
				seen[x] = x
			}
		}
		if len(seen) > 1<<16 {
			seen = map[string]string{}
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	visitday.Sort(out)
	visitday.SetPrevs(out)
	return out, nil
}

// insertSums writes sums' rows into table (visits_by_day or visits_by_day_open) under gen.
func (s *Store) insertSums(ctx context.Context, table, site string, gen uint64, sums *visitday.Sums) error {
	keys := sums.Rows()
	if len(keys) == 0 {
		return nil
	}
	dims := append([]string{""}, visitday.Dims[:]...)
	return s.batch(ctx, "write "+table, `INSERT INTO `+table+` (site_id, unit, gen, dim, value, day, prev_day, visits, pageviews, bounces, duration, events)`,
		len(keys), func(i int) []any {
			k := keys[i]
			r := sums.M[k]
			prev := time.Unix(0, 0).UTC()
			if k.HasPrev {
				prev = dayTime(int64(k.PrevDay))
			}
			return []any{site, dayTime(int64(k.Unit)), gen, dims[k.Dim], k.Value, dayTime(int64(k.Day)), prev, r.Visits, r.Pageviews, r.Bounces, r.Duration, r.Events}
		})
}

func dayTime(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// daySums is a finished day's newest sums record.
type daySums struct {
	prefix uint64
	zone   string
}

// readDaySums reads the newest visit_day_sums record of every site's days.
func (s *Store) readDaySums(ctx context.Context) (map[dayKey]daySums, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, day, argMax(prefix, gen), argMax(zone, gen) FROM visit_day_sums GROUP BY site_id, day`)
	if err != nil {
		return nil, mapErr("visit day sums", err)
	}
	defer rows.Close()
	out := map[dayKey]daySums{}
	for rows.Next() {
		var site string
		var day time.Time
		var r daySums
		if err := rows.Scan(&site, &day, &r.prefix, &r.zone); err != nil {
			return nil, mapErr("visit day sums", err)
		}
		out[dayKey{site, epochDay(day)}] = r
	}
	return out, mapErr("visit day sums", rows.Err())
}

// OpenVisits writes a run of the days not finished yet (yesterday and today, UTC, by now) for every site
// with a zone and events on them whose newest run is not current, once every earlier day's sums are
// (FinishVisits writes those first), and drops the runs superseded for an hour.
func (s *Store) OpenVisits(ctx context.Context, now time.Time) error {
	s.finishMu.Lock()
	defer s.finishMu.Unlock()
	zones, err := s.siteZones(ctx)
	if err != nil || len(zones) == 0 {
		return err
	}
	counts, err := s.dayCounts(ctx, `SELECT site_id, day, sum(events) FROM visit_day_events GROUP BY site_id, day`)
	if err != nil {
		return err
	}
	sums, err := s.readDaySums(ctx)
	if err != nil {
		return err
	}
	runs, err := s.readRuns(ctx)
	if err != nil {
		return err
	}
	first := epochDay(now.UTC().AddDate(0, 0, -1))
	bound := now.UTC().Add(-openLag).Truncate(time.Second)
	gen := s.seq()
	sites := bySite(counts)
	for site, zone := range zones {
		p := newPrefixes(sites[site])
		if len(p.days) == 0 || p.days[len(p.days)-1] < first-1 {
			continue // no event near the open days
		}
		ready := true
		for _, d := range p.days {
			if r, ok := sums[dayKey{site, d}]; d < first && (!ok || r.zone != zone || r.prefix != p.at(d+2)) {
				ready = false
			}
		}
		if !ready {
			continue
		}
		var today uint64
		if err := s.db.QueryRowContext(ctx, `SELECT count() FROM events WHERE site_id = $1 AND ts >= toStartOfDay($2) AND ts < $2`, site, bound).Scan(&today); err != nil {
			return mapErr("open visits", err)
		}
		prefix := p.at(epochDay(bound)) + today
		if r, ok := runs[site]; ok && r.firstDay == first && r.zone == zone && r.prefix == prefix {
			continue // nothing dated before the bound since
		}
		if err := s.openRun(ctx, site, zone, first, bound, prefix, gen); err != nil {
			return err
		}
	}
	return s.dropRuns(ctx)
}

// openRun writes one site's run.
func (s *Store) openRun(ctx context.Context, site, zone string, first int64, bound time.Time, prefix, gen uint64) error {
	from := "toDateTime('" + dayText(first-1) + " 00:00:00', 'UTC')"
	// No alias is a column's name: on 18.16 an alias shadows the column everywhere in the query.
	aggs := []string{"argMin(visitor_id, ts) AS o_visitor", "min(ts) AS o_start", "max(ts) AS o_end", "countIf(name = 'pageview') AS o_pv",
		"countIf(name != 'pageview') AS o_ev"}
	cols := []string{"o_visitor", "session_id", "toUInt32(o_start)", "toUInt32(o_end)", "o_pv", "o_ev"}
	for _, d := range visitday.Dims {
		switch d {
		case "entry_page":
			aggs = append(aggs, "argMinIf(path, ts, name = 'pageview') AS o_entry_page")
		case "exit_page":
			aggs = append(aggs, "argMaxIf(path, ts, name = 'pageview') AS o_exit_page")
		default:
			aggs = append(aggs, "argMin("+d+", ts) AS o_"+d)
		}
		cols = append(cols, "o_"+d)
	}
	grouped := `SELECT session_id, ` + strings.Join(aggs, ", ") + ` FROM events WHERE site_id = $1 AND ts >= ` + from + ` AND ts < $2 GROUP BY session_id`
	q := `SELECT toUInt8(1), ` + strings.Join(cols, ", ") + ` FROM (` + grouped + `) WHERE toDate(o_start, 'UTC') >= '` + dayText(first) + `'
		UNION ALL SELECT toUInt8(0), visitor_id, session_id, toUInt32(start_ts), toUInt32(end_ts), pv, ev, ` + strings.Join(visitday.Dims[:], ", ") + `
		FROM visits_done WHERE site_id = $1 AND day < '` + dayText(first) + `' AND (day, gen) IN (SELECT day, max(gen) FROM visit_days WHERE site_id = $1 GROUP BY day)
		AND visitor_id IN (SELECT argMin(visitor_id, ts) FROM events WHERE site_id = $1 AND ts >= ` + from + ` AND ts < $2 GROUP BY session_id)`
	visits, err := s.readVisits(ctx, "open visits", q, site, bound)
	if err != nil {
		return err
	}
	var open []*visitday.Visit
	sums := visitday.NewSums(location(zone))
	for i := range visits {
		if v := &visits[i]; v.Cur {
			open = append(open, v)
			sums.Add(int32(v.Start/86400e6), v, 1)
		}
	}
	prevTime := func(us int64) time.Time {
		if us == visitday.NoPrev {
			return time.Unix(0, 0).UTC()
		}
		return time.UnixMicro(us).UTC()
	}
	cols = []string{"site_id", "day", "gen", "session_id", "visitor_id", "start_ts", "end_ts", "pv", "ev"}
	cols = append(cols, visitday.Dims[:]...)
	cols = append(cols, prevCols()...)
	err = s.batch(ctx, "write open visits", `INSERT INTO visits_open (`+strings.Join(cols, ", ")+`)`, len(open), func(i int) []any {
		v := open[i]
		row := []any{site, dayTime(v.Start / 86400e6), gen, v.Session, v.Visitor, time.UnixMicro(v.Start).UTC(), time.UnixMicro(v.End).UTC(), uint64(v.PV), uint64(v.EV)}
		for _, x := range v.Vals {
			row = append(row, x)
		}
		for _, p := range v.Prevs {
			row = append(row, prevTime(p))
		}
		return row
	})
	if err != nil {
		return err
	}
	if err := s.insertSums(ctx, "visits_by_day_open", site, gen, sums); err != nil {
		return err
	}
	return s.batch(ctx, "record open run", `INSERT INTO visit_open_runs (site_id, gen, first_day, bound, prefix, zone)`, 1, func(int) []any {
		return []any{site, gen, dayTime(first), bound, prefix, zone}
	})
}

// prevCols are visits_open's previous-visit columns, in visitday.Visit.Prevs's order.
func prevCols() []string {
	out := []string{"prev_visit"}
	for _, d := range visitday.Dims {
		out = append(out, "prev_"+d)
	}
	return out
}

// openRunRec is a site's newest run.
type openRunRec struct {
	gen      uint64
	firstDay int64
	prefix   uint64
	zone     string
}

func (s *Store) readRuns(ctx context.Context) (map[string]openRunRec, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, max(gen), argMax(first_day, gen), argMax(prefix, gen), argMax(zone, gen) FROM visit_open_runs GROUP BY site_id`)
	if err != nil {
		return nil, mapErr("open runs", err)
	}
	defer rows.Close()
	out := map[string]openRunRec{}
	for rows.Next() {
		var site string
		var first time.Time
		var r openRunRec
		if err := rows.Scan(&site, &r.gen, &first, &r.prefix, &r.zone); err != nil {
			return nil, mapErr("open runs", err)
		}
		r.firstDay = epochDay(first)
		out[site] = r
	}
	return out, mapErr("open runs", rows.Err())
}

// dropRuns drops the partitions of the runs no site reads any more, an hour after they were written.
func (s *Store) dropRuns(ctx context.Context) error {
	runs, err := s.readRuns(ctx)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, r := range runs {
		live[strconv.FormatUint(r.gen, 10)] = true
	}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT table, partition FROM system.parts WHERE database = currentDatabase() AND active
		AND table IN ('visits_open', 'visits_by_day_open')`)
	if err != nil {
		return mapErr("open runs' partitions", err)
	}
	var drop [][2]string
	now := time.Now()
	seen := map[string]bool{}
	for rows.Next() {
		var table, part string
		if err := rows.Scan(&table, &part); err != nil {
			rows.Close()
			return mapErr("open runs' partitions", err)
		}
		if _, err := strconv.ParseUint(part, 10, 64); err != nil || live[part] {
			continue
		}
		// A query holds the run it read while it runs: a run goes an hour after this process first found
		// it superseded.
		seen[part] = true
		at, ok := s.superseded[part]
		if !ok {
			s.superseded[part] = now
		} else if now.Sub(at) >= openKeep {
			drop = append(drop, [2]string{table, part})
		}
	}
	for part := range s.superseded {
		if !seen[part] {
			delete(s.superseded, part)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mapErr("open runs' partitions", err)
	}
	for _, d := range drop {
		if _, err := s.db.ExecContext(ctx, `ALTER TABLE `+d[0]+` DROP PARTITION `+d[1]); err != nil {
			return mapErr("drop an open run", err)
		}
	}
	return nil
}

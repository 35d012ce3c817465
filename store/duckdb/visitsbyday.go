package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/tributary/tributary/zone"
)

// visits_by_day (migration 020) holds the visits summed by the site's local day for no dimension and by
// each visit dimension's value, apart by the local day of the visitor's previous visit of that value.
// It is kept with the visits: each write appends what it changed (the rows it replaced or moved, as
// they were, subtracted; the rows it wrote, added), in the write's transaction, for the sites whose
// visits_by_day_zone row names their time zone; a site without one (new, or its zone changed) is rebuilt
// from its visits instead. Queries read it only when that row matches the site's zone
// (stats/engine.go), so a rebuild in progress costs speed, never a wrong count.

// settleAt is how many unsettled rows (a write's changes, several per key) make a write sum the days
// they fall on into one row per key: a query sums them either way, this only keeps the table small.
var settleAt = 20000

// dayDims are the visits_by_day dimensions: "" (any value: prev_visit) and each column with a prev_*.
func dayDims() []string { return append([]string{""}, prevDims[:]...) }

// localDay is the SQL for the site-local date of the UTC timestamp col.
func localDay(col string, z zone.Zone) string { return "CAST(" + z.Shifted(col) + " AS DATE)" }

// dayRows is a query summing the visits of src into visits_by_day rows (without settled). src has
// site_id, sign (1 to add a visit, -1 to take it away), the sessions columns and the prev_* columns;
// day(col) is the SQL for col's local date (per site).
func dayRows(src string, day func(col string) string) string {
	cols := []string{"site_id", "sign", day("start_ts") + " AS day", "sign * pv AS pv", "sign * CAST(pv = 1 AS BIGINT) AS bounces",
		"sign * (epoch_us(end_ts) - epoch_us(start_ts)) AS duration", "sign * ev AS ev"}
	var parts []string
	for _, d := range dayDims() {
		value, prev := "''", "prev_visit"
		if d != "" {
			value, prev = d, "prev_"+d
			cols = append(cols, "coalesce("+d+", '') AS "+d)
		}
		cols = append(cols, day(prev)+" AS p_"+prev)
		parts = append(parts, "SELECT site_id, '"+d+"' AS dim, "+value+" AS value, day, p_"+prev+" AS prev_day, sign, pv, bounces, duration, ev FROM d")
	}
	return "WITH d AS MATERIALIZED (SELECT " + strings.Join(cols, ", ") + " FROM (" + src + ") s) " +
		"SELECT site_id, dim, value, day, prev_day, sum(sign), sum(pv), sum(bounces), sum(duration), sum(ev) FROM (" + strings.Join(parts, " UNION ALL ") +
		") t GROUP BY site_id, dim, value, day, prev_day HAVING sum(sign) <> 0 OR sum(pv) <> 0 OR sum(bounces) <> 0 OR sum(duration) <> 0 OR sum(ev) <> 0"
}

// siteZone is a site's time zone as the sites table names it and as its visits_by_day were built.
type siteZone struct {
	site, zone string
	built      sql.NullString // none: never built, or cleared
}

// current reports whether the site's visits_by_day are kept in its zone.
func (z siteZone) current() bool { return z.built.Valid && z.built.String == z.zone }

// dayZones reads the zones of the sites in the relation sites (site_id).
func dayZones(ctx context.Context, tx querier, sites string) ([]siteZone, error) {
	rows, err := tx.QueryContext(ctx, `SELECT w.site_id, s.timezone, z.timezone FROM (SELECT DISTINCT site_id FROM (`+sites+`) x) w
		JOIN sites s ON s.id = w.site_id LEFT JOIN visits_by_day_zone z ON z.site_id = w.site_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []siteZone
	for rows.Next() {
		var z siteZone
		if err := rows.Scan(&z.site, &z.zone, &z.built); err != nil {
			return nil, err
		}
		out = append(out, z)
	}
	return out, rows.Err()
}

// spans reads, per site of src, the earliest of every timestamp a visits_by_day row is keyed by (the
// start and the prev_* columns) and the latest start, and returns each site's zone over that span.
func spans(ctx context.Context, tx querier, src string, zones map[string]string) (map[string]zone.Zone, error) {
	ts := append([]string{"start_ts"}, prevColumns()...)
	rows, err := tx.QueryContext(ctx, `SELECT site_id, min(least(`+strings.Join(ts, ", ")+`)), max(start_ts) FROM (`+src+`) s GROUP BY site_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]zone.Zone{}
	for rows.Next() {
		var site string
		var from, to time.Time
		if err := rows.Scan(&site, &from, &to); err != nil {
			return nil, err
		}
		name, ok := zones[site]
		if !ok {
			continue
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			loc = time.UTC // as tributary.Site.Location reads it
		}
		out[site] = zone.Span(name, loc, from, to.Add(time.Second))
	}
	return out, rows.Err()
}

// dayColumns are the columns of a visit dayRows reads.
func dayColumns() []string {
	return append(append([]string{"site_id", "start_ts", "end_ts", "pv", "ev"}, prevDims[:]...), prevColumns()...)
}

// keepVisitsByDay applies a write's change to the visits to visits_by_day, inside the derivation (on tx,
// while visit_stored, visit_moved, visit_others, visit_prev and the view visit_history hold it and
// sessions is written).
func keepVisitsByDay(ctx context.Context, tx conn) error {
	zs, err := dayZones(ctx, tx, `SELECT site_id FROM visit_prev`)
	if err != nil {
		return err
	}
	current := map[string]string{}
	for _, z := range zs {
		if z.current() {
			current[z.site] = z.zone
		} else if err := rebuildVisitsByDay(ctx, tx, z.site, z.zone); err != nil {
			return err
		}
	}
	if len(current) == 0 {
		return nil
	}
	var sites []string
	for site := range current {
		sites = append(sites, sqlString(site))
	}
	// The rows as stored before this write, of the visits it replaced or whose prev_* it moved, go out;
	// the rows it wrote and the moved ones, as they are now, come in.
	cols := dayColumns()
	read := make([]string, len(cols))
	for i, c := range cols {
		switch {
		case c == "start_ts" || c == "end_ts" || strings.HasPrefix(c, "prev_"):
			read[i] = "epoch_us(" + c + ")"
		case slices.Contains(prevDims[:], c):
			read[i] = "coalesce(" + c + ", '')"
		default:
			read[i] = c
		}
	}
	all := strings.Join(cols, ", ")
	src := `SELECT -1 AS sign, ` + all + ` FROM visit_others WHERE rid IN (SELECT rid FROM visit_stored UNION ALL SELECT rid FROM visit_moved)
		UNION ALL SELECT 1, ` + all + ` FROM visit_history WHERE touched OR rid IN (SELECT rid FROM visit_moved)`
	rows, err := tx.QueryContext(ctx, `SELECT sign, `+strings.Join(read, ", ")+` FROM (`+src+`) c WHERE site_id IN (`+strings.Join(sites, ", ")+`)`)
	if err != nil {
		return err
	}
	sums := newDaySums(current)
	var v dayVisit
	dest := []any{&v.sign, &v.site, &v.start, &v.end, &v.pv, &v.ev}
	for i := range v.vals {
		dest = append(dest, &v.vals[i])
	}
	for i := range v.prevs {
		dest = append(dest, &v.prevs[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		sums.add(&v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := sums.append(tx); err != nil {
		return err
	}
	return settleVisitsByDay(ctx, tx, settleAt)
}

// dayVisit is a visit as keepVisitsByDay reads it: sign 1 to add it, -1 to take it away; times in µs
// since 1970; vals the prevDims columns (the empty text for NULL); prevs prev_visit and the prev_* of
// prevDims.
type dayVisit struct {
	sign       int64
	site       string
	start, end int64
	pv, ev     int64
	vals       [len(prevDims)]string
	prevs      [1 + len(prevDims)]sql.NullInt64
}

// dayKey is a visits_by_day row's key: days since 1970, prevDay only with hasPrev.
type dayKey struct {
	site         string
	dim          int // index in dayDims
	value        string
	day, prevDay int32
	hasPrev      bool
}

// daySum is a visits_by_day row's sums.
type daySum struct{ visits, pageviews, bounces, duration, events int64 }

// daySums sums a write's visits into visits_by_day rows by each site's local days, as dayRows does in
// SQL for a rebuild; TestVisitsByDayFollowVisits checks both against Go's zone database, which this reads
// directly (dayRows reads zone.Span's offsets, worked out from it). Summed in Go, one visit at a time as
// the rows are read, rather than by a statement: at the write's decay of 0 the statement (a 17-way UNION
// ALL over the visits, grouped) and its separate read of the span took about 0.3 s a write of 30,000
// events (docs/benchmarks.md, Memory).
type daySums struct {
	locs map[string]*time.Location // the sites whose rows are kept, by id
	sums map[dayKey]*daySum
}

func newDaySums(zones map[string]string) *daySums {
	d := &daySums{locs: map[string]*time.Location{}, sums: map[dayKey]*daySum{}}
	for site, name := range zones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			loc = time.UTC // as tributary.Site.Location reads it
		}
		d.locs[site] = loc
	}
	return d
}

// add sums v into its rows.
func (d *daySums) add(v *dayVisit) {
	loc, ok := d.locs[v.site]
	if !ok {
		return
	}
	day := func(us int64) int32 {
		_, offset := time.UnixMicro(us).In(loc).Zone()
		return int32(floorDiv(us+int64(offset)*1e6, 86400e6))
	}
	start := day(v.start)
	bounce := int64(0)
	if v.pv == 1 {
		bounce = 1
	}
	for dim := range v.prevs {
		k := dayKey{site: v.site, dim: dim, day: start}
		if dim > 0 {
			k.value = v.vals[dim-1]
		}
		if p := v.prevs[dim]; p.Valid {
			k.prevDay, k.hasPrev = day(p.Int64), true
		}
		s := d.sums[k]
		if s == nil {
			s = &daySum{}
			d.sums[k] = s
		}
		s.visits += v.sign
		s.pageviews += v.sign * v.pv
		s.bounces += v.sign * bounce
		s.duration += v.sign * (v.end - v.start)
		s.events += v.sign * v.ev
	}
}

// append appends the rows whose sums are not all zero, unsettled, in day order as the table is kept (a
// query skips the row groups outside its range).
func (d *daySums) append(c conn) error {
	keys := make([]dayKey, 0, len(d.sums))
	for k, s := range d.sums {
		if *s != (daySum{}) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b dayKey) int { return int(a.day) - int(b.day) })
	dims := dayDims()
	return c.Raw(func(dc any) error {
		a, err := duck.NewAppender(dc.(driver.Conn), "", "", "visits_by_day")
		if err != nil {
			return err
		}
		for _, k := range keys {
			s := d.sums[k]
			var prev driver.Value
			if k.hasPrev {
				prev = dayTime(k.prevDay)
			}
			if err := a.AppendRow(k.site, dims[k.dim], k.value, dayTime(k.day), prev, s.visits, s.pageviews, s.bounces, s.duration, s.events, false); err != nil {
				a.Close()
				return err
			}
		}
		return a.Close()
	})
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func dayTime(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// rebuildVisitsByDay recomputes a site's visits_by_day from its visits in zone name, and records the zone.
func rebuildVisitsByDay(ctx context.Context, tx querier, site, name string) error {
	for _, q := range []string{`DELETE FROM visits_by_day WHERE site_id = $1`, `DELETE FROM visits_by_day_zone WHERE site_id = $1`} {
		if _, err := tx.ExecContext(ctx, q, site); err != nil {
			return err
		}
	}
	src := `SELECT 1 AS sign, ` + strings.Join(dayColumns(), ", ") + ` FROM sessions WHERE site_id = ` + sqlString(site)
	spanned, err := spans(ctx, tx, src, map[string]string{site: name})
	if err != nil {
		return err
	}
	if z, ok := spanned[site]; ok {
		if _, err := tx.ExecContext(ctx, `INSERT INTO visits_by_day SELECT *, true FROM (`+dayRows(src, func(col string) string { return localDay(col, z) })+`) ORDER BY day`); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO visits_by_day_zone VALUES ($1, $2)`, site, name)
	return err
}

// settleVisitsByDay sums the rows of every day that has unsettled rows into one per key, once there are
// at least limit unsettled rows.
func settleVisitsByDay(ctx context.Context, tx querier, limit int) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM visits_by_day WHERE NOT settled`).Scan(&n); err != nil {
		return err
	}
	if n < limit || n == 0 {
		return nil
	}
	for _, q := range []string{
		`CREATE TEMP TABLE visits_by_day_open AS SELECT DISTINCT site_id, day FROM visits_by_day WHERE NOT settled`,
		`CREATE TEMP TABLE visits_by_day_sum AS SELECT site_id, dim, value, day, prev_day, sum(visits) AS visits, sum(pageviews) AS pageviews,
			sum(bounces) AS bounces, sum(duration) AS duration, sum(events) AS events FROM visits_by_day
			WHERE (site_id, day) IN (SELECT site_id, day FROM visits_by_day_open) GROUP BY site_id, dim, value, day, prev_day
			HAVING sum(visits) <> 0 OR sum(pageviews) <> 0 OR sum(bounces) <> 0 OR sum(duration) <> 0 OR sum(events) <> 0`,
		`DELETE FROM visits_by_day WHERE (site_id, day) IN (SELECT site_id, day FROM visits_by_day_open)`,
		`INSERT INTO visits_by_day SELECT *, true FROM visits_by_day_sum ORDER BY day`,
		`DROP TABLE visits_by_day_open`,
		`DROP TABLE visits_by_day_sum`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// buildVisitsByDay rebuilds, in a transaction of its own and under the events writer's lock, the
// visits_by_day of every site whose visits_by_day_zone row is missing or names another zone than the site's:
// after the migration that added the table, and for a site whose zone changed and that has had no
// events since. It runs in the background from Open; queries read the visits meanwhile.
func (s *Store) buildVisitsByDay(ctx context.Context) error {
	// Most starts have nothing to build: one read says so, without the writer's lock or a transaction
	// held open beside the server's first requests.
	const all = `SELECT id AS site_id FROM sites`
	zs, err := dayZones(ctx, s.db, all)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(zs, func(z siteZone) bool { return !z.current() }) {
		return nil
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	// A write like the events': the rebuild's temporary results go back to the system as they are freed.
	return s.leanWrite(func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if zs, err = dayZones(ctx, tx, all); err != nil {
			return err
		}
		built := 0
		for _, z := range zs {
			if z.current() {
				continue
			}
			if err := rebuildVisitsByDay(ctx, tx, z.site, z.zone); err != nil {
				return fmt.Errorf("site %s: %w", z.site, err)
			}
			built++
		}
		if built == 0 {
			return nil
		}
		return tx.Commit()
	})
}

// VisitsByDayBuilt is closed once the visits_by_day rebuild Open started has ended (benchmarks and tests
// wait for it; the server does not).
func (s *Store) VisitsByDayBuilt() <-chan struct{} { return s.daysBuilt }

// startVisitsByDay starts buildVisitsByDay in the background; Close cancels it.
func (s *Store) startVisitsByDay() {
	ctx, cancel := context.WithCancel(context.Background())
	s.daysCancel, s.daysBuilt = cancel, make(chan struct{})
	go func() {
		defer close(s.daysBuilt)
		start := time.Now()
		if err := s.buildVisitsByDay(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Error("visits by day: rebuild failed; queries read the visits until the site's next write or the next start rebuilds them", slog.Any("err", err))
			}
			return
		}
		if d := time.Since(start); d > time.Second {
			s.log.Info("visits by day rebuilt", slog.Duration("duration", d))
		}
	}()
}

package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// visitsByDayOracle works out visits_by_day in Go from the sessions rows of the sites with a visits_by_day_zone
// row, each visit's days read through Go's own zone database (as a write's sums read it; a rebuild
// computes them in SQL from zone.Span's offsets), one line per key with non-zero sums.
func visitsByDayOracle(t *testing.T, s *Store) []string {
	t.Helper()
	zones := map[string]*time.Location{}
	rows, err := s.db.Query(`SELECT site_id, timezone FROM visits_by_day_zone`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var site, name string
		if err := rows.Scan(&site, &name); err != nil {
			t.Fatal(err)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		zones[site] = loc
	}
	rows.Close()
	dims := dayDims()
	var cols []string
	for _, d := range dims[1:] {
		cols = append(cols, "coalesce("+d+", '')")
	}
	rows, err = s.db.Query(`SELECT site_id, start_ts, end_ts, pv, ev, ` + strings.Join(cols, ", ") + `, ` + strings.Join(prevColumns(), ", ") + ` FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type sums struct{ visits, pv, bounces, dur, ev int64 }
	m := map[string]*sums{}
	day := func(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02") }
	for rows.Next() {
		var site string
		var start, end time.Time
		var pv, ev int64
		values := make([]string, len(dims)-1)
		prevs := make([]sql.NullTime, len(dims))
		dest := []any{&site, &start, &end, &pv, &ev}
		for i := range values {
			dest = append(dest, &values[i])
		}
		for i := range prevs {
			dest = append(dest, &prevs[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		loc, ok := zones[site]
		if !ok {
			continue
		}
		for i, d := range dims {
			value, prev := "", "NULL"
			if i > 0 {
				value = values[i-1]
			}
			if prevs[i].Valid {
				prev = day(prevs[i].Time, loc)
			}
			k := strings.Join([]string{site, d, value, day(start, loc), prev}, "|")
			x := m[k]
			if x == nil {
				x = &sums{}
				m[k] = x
			}
			x.visits++
			x.pv += pv
			if pv == 1 {
				x.bounces++
			}
			x.dur += end.Sub(start).Microseconds()
			x.ev += ev
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k, x := range m {
		out = append(out, fmt.Sprintf("%s|%d|%d|%d|%d|%d", k, x.visits, x.pv, x.bounces, x.dur, x.ev))
	}
	sort.Strings(out)
	return out
}

// visitsByDayStored is visits_by_day summed by key, in the oracle's form.
func visitsByDayStored(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT concat_ws('|', site_id, dim, value, strftime(day, '%Y-%m-%d'), coalesce(strftime(prev_day, '%Y-%m-%d'), 'NULL'),
		sum(visits), sum(pageviews), sum(bounces), sum(duration), sum(events)) FROM visits_by_day GROUP BY site_id, dim, value, day, prev_day
		HAVING sum(visits) <> 0 OR sum(pageviews) <> 0 OR sum(bounces) <> 0 OR sum(duration) <> 0 OR sum(events) <> 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

func checkVisitsByDay(t *testing.T, s *Store, stage string) {
	t.Helper()
	want, got := visitsByDayOracle(t, s), visitsByDayStored(t, s)
	if len(want) == 0 {
		t.Fatalf("%s: no visits to count", stage)
	}
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		i := 0
		for i < len(want) && i < len(got) && want[i] == got[i] {
			i++
		}
		w, g := "(end)", "(end)"
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		t.Fatalf("%s: visits_by_day has %d keys, the visits give %d; first difference:\n got %s\nwant %s", stage, len(got), len(want), g, w)
	}
}

// TestVisitsByDayFollowVisits writes visits out of order (returning visitors, late first events that move
// a visit's start and channel and so the prev_* of the visitor's later visits, visits across a DST
// change) for three sites in three zones, and checks after every write that visits_by_day sums to exactly
// what Go works out from the visits; then that settling keeps the sums, that a site whose zone changed
// is rebuilt by its next write and, without writes, by the rebuild a start runs, and that deleting a
// site's data clears its rows.
func TestVisitsByDayFollowVisits(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.VisitsByDayBuilt()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, site := range []struct{ id, zone string }{{"utc", "UTC"}, {"ny", "America/New_York"}, {"kol", "Asia/Kolkata"}} {
		if err := s.CreateSite(ctx, &tributary.Site{ID: site.id, Domain: site.id + ".example", Name: site.id, Currency: "USD", Timezone: site.zone,
			Locale: "en-US", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC) // New York leaves summer time on 1 November
	channels := []string{"Direct", "Email", "Organic Search"}
	var evs []tributary.Event
	for i := 0; i < 400; i++ {
		site := []string{"utc", "ny", "kol"}[r.IntN(3)]
		v := fmt.Sprintf("v%d", r.IntN(50))
		at := t0.Add(time.Duration(r.IntN(14*24*60)) * time.Minute)
		for k := 0; k < 1+r.IntN(3); k++ {
			name := "pageview"
			if r.IntN(5) == 0 {
				name = "signup"
			}
			evs = append(evs, tributary.Event{SiteID: site, Timestamp: at.Add(time.Duration(k*7) * time.Minute), Name: name, Source: "browser",
				VisitorID: v, SessionID: fmt.Sprintf("s%d", i), Hostname: "a.com", Path: []string{"/", "/a", "/b"}[r.IntN(3)],
				Channel: channels[r.IntN(3)], Country: []string{"DE", "US"}[r.IntN(2)], Device: "desktop", Browser: "Firefox"})
		}
	}
	r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	// Low enough that the writes settle their days themselves now and then.
	defer func(n int) { settleAt = n }(settleAt)
	settleAt = 1500
	unsettled, settles := 0, 0
	for i := 0; i < len(evs); i += 60 {
		if err := s.InsertEvents(ctx, evs[i:min(i+60, len(evs))]); err != nil {
			t.Fatal(err)
		}
		checkVisitsByDay(t, s, fmt.Sprintf("after batch %d", i/60))
		var n int
		if err := s.db.QueryRow(`SELECT count(*) FROM visits_by_day WHERE NOT settled`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= settleAt {
			t.Fatalf("after batch %d: %d rows unsettled, past the %d that make a write settle them", i/60, n, settleAt)
		}
		if n < unsettled {
			settles++
		}
		unsettled = n
	}
	if settles == 0 {
		t.Fatalf("no write settled its days (%d rows unsettled at the end)", unsettled)
	}
	settleAt = 1 << 30
	late := evs[0]
	late.Timestamp, late.Channel = late.Timestamp.Add(-3*time.Hour), "Paid Social"
	if err := s.InsertEvents(ctx, []tributary.Event{late}); err != nil {
		t.Fatal(err)
	}
	checkVisitsByDay(t, s, "after a late first event")
	var moved int
	if err := s.db.QueryRow(`SELECT count(*) FROM visits_by_day WHERE NOT settled`).Scan(&unsettled); err != nil || unsettled == 0 {
		t.Fatalf("no unsettled rows to settle (%v)", err)
	}
	if err := s.db.QueryRow(`SELECT count(*) FROM visits_by_day WHERE visits < 0`).Scan(&moved); err != nil || moved == 0 {
		t.Fatalf("no write took a visit away: the data never moves a stored visit (%v)", err)
	}

	tx, err := s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := settleVisitsByDay(ctx, tx, 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	checkVisitsByDay(t, s, "after settling")
	var dups int
	if err := s.db.QueryRow(`SELECT count(*) FROM visits_by_day WHERE NOT settled`).Scan(&unsettled); err != nil || unsettled != 0 {
		t.Fatalf("%d rows left unsettled (%v)", unsettled, err)
	}
	if err := s.db.QueryRow(`SELECT count(*) - count(DISTINCT (site_id, dim, value, day, prev_day)) FROM visits_by_day`).Scan(&dups); err != nil || dups != 0 {
		t.Fatalf("%d keys with more than one settled row (%v)", dups, err)
	}

	// A zone change: the site's next write rebuilds its rows in the new zone.
	site, err := s.Site(ctx, "utc")
	if err != nil {
		t.Fatal(err)
	}
	site.Timezone = "Pacific/Auckland"
	if err := s.UpdateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	next := evs[1]
	next.SiteID, next.SessionID, next.Timestamp = "utc", "fresh", t0.Add(50*time.Hour)
	if err := s.InsertEvents(ctx, []tributary.Event{next}); err != nil {
		t.Fatal(err)
	}
	var zone string
	if err := s.db.QueryRow(`SELECT timezone FROM visits_by_day_zone WHERE site_id = 'utc'`).Scan(&zone); err != nil || zone != "Pacific/Auckland" {
		t.Fatalf("zone after the site's next write = %q (%v)", zone, err)
	}
	checkVisitsByDay(t, s, "after a zone change and a write")
	// Without a write, the rebuild a start runs does it.
	site.Timezone = "Europe/Berlin"
	if err := s.UpdateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	if err := s.buildVisitsByDay(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT timezone FROM visits_by_day_zone WHERE site_id = 'utc'`).Scan(&zone); err != nil || zone != "Europe/Berlin" {
		t.Fatalf("zone after the rebuild = %q (%v)", zone, err)
	}
	checkVisitsByDay(t, s, "after a zone change and the start's rebuild")

	if err := s.DeleteSiteData(ctx, "ny"); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.db.QueryRow(`SELECT count(*) FROM visits_by_day WHERE site_id = 'ny'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d visits_by_day rows left of a deleted site (%v)", left, err)
	}
	checkVisitsByDay(t, s, "after deleting a site's data")
}

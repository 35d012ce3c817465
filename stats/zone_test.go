package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// TestBucketsAcrossDST groups visits by hour and day in a zone whose offset changes within the range
// and checks them against Go's own reading of the zone, with visitors counted both ways (the first-visit
// columns without filters, a distinct count under a filter that keeps every visit).
func TestBucketsAcrossDST(t *testing.T) {
	// Every 20 minutes for three days, visitors returning every few hours across a change of offset
	// (Berlin: 01:00 UTC on Oct 25; New York, west of UTC: 06:00 UTC on Nov 1).
	for _, c := range []struct {
		zone  string
		start time.Time
	}{
		{"Europe/Berlin", time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)},
	} {
		bucketsAcrossDST(t, c.zone, c.start)
	}
}

func bucketsAcrossDST(t *testing.T, zone string, start time.Time) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	berlin := &tributary.Site{ID: "b", Domain: "b.example", Name: "b", Currency: "EUR", Timezone: zone, Locale: "en-US", CreatedAt: start, UpdatedAt: start}
	// Registered, as every site of a server is: the store then keeps its visits by local day, which
	// answer the unfiltered queries by day and without a dimension.
	if err := st.CreateSite(ctx, berlin); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation(zone)
	var evs []tributary.Event
	for i := 0; i < 3*24*3; i++ {
		at := start.Add(time.Duration(i) * 20 * time.Minute)
		evs = append(evs, tributary.Event{SiteID: "b", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: fmt.Sprintf("v%d", i%17),
			SessionID: fmt.Sprintf("s%d", i), Hostname: "b.example", Path: "/", Channel: "Direct", Country: "DE", Device: "desktop"})
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(st.DB(), DuckDB{})
	for _, unit := range []string{"hour", "day", "week", ""} {
		want := map[string][2]int{} // bucket → visitors, visits
		seen := map[string]bool{}
		first, _ := time.ParseInLocation("2006-01-02", start.Format("2006-01-02"), loc)
		for _, ev := range evs {
			if ev.Timestamp.Before(first) {
				continue
			}
			b := ""
			if unit != "" {
				b = bucket(ev.Timestamp, unit, loc)
			}
			w := want[b]
			w[1]++
			if !seen[b+ev.VisitorID] {
				seen[b+ev.VisitorID] = true
				w[0]++
			}
			want[b] = w
		}
		for _, filtered := range []bool{false, true} {
			q := map[string]any{"site_id": "b", "metrics": []string{"visitors", "visits"},
				"date_range": []string{start.Format("2006-01-02"), start.AddDate(0, 0, 3).Format("2006-01-02")}, "limit": 1000}
			if unit != "" {
				q["dimensions"] = []string{"time:" + unit}
			}
			if filtered {
				q["filters"] = []any{[]any{"is", "visit:country", []string{"DE"}}}
			}
			body, _ := json.Marshal(q)
			pq, err := ParseQuery(body, berlin, now)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Run(ctx, pq)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][2]int{}
			for _, r := range res.Results {
				v := r.Metrics[0].Int64()
				n := r.Metrics[1].Int64()
				got[strings.Join(r.Dimensions, "")] = [2]int{int(v), int(n)}
			}
			// The range is the three days and the next in the zone; the events lie inside it but for
			// those before local midnight at the start (New York), which no bucket may hold.
			if len(got) != len(want) {
				t.Errorf("%s %s filtered=%v: %d buckets, want %d", zone, unit, filtered, len(got), len(want))
			}
			for b, w := range want {
				if got[b] != w {
					t.Errorf("%s %s filtered=%v: %s = %v, want %v", zone, unit, filtered, b, got[b], w)
				}
			}
		}
	}
}

// TestVisitsByDayAnswerOnlyInTheirZone pins which table answers: an unfiltered breakdown over whole days
// reads the store's visits by day (doubling them there doubles the answer), a filtered one reads the
// visits, and while the days are kept in another zone than the site's (a zone change not yet rebuilt)
// every query reads the visits and answers as before.
func TestVisitsByDayAnswerOnlyInTheirZone(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	site := &tributary.Site{ID: "z", Domain: "z.example", Name: "z", Currency: "EUR", Timezone: "Asia/Tokyo", Locale: "en-US", CreatedAt: start, UpdatedAt: start}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	var evs []tributary.Event
	for i := 0; i < 40; i++ {
		evs = append(evs, tributary.Event{SiteID: "z", Timestamp: start.Add(time.Duration(i) * 3 * time.Hour), Name: "pageview", Source: "browser",
			VisitorID: fmt.Sprintf("v%d", i%7), SessionID: fmt.Sprintf("s%d", i), Hostname: "z.example", Path: "/", Channel: []string{"Direct", "Email"}[i%2],
			Country: "JP", Device: "desktop"})
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(st.DB(), DuckDB{})
	run := func(filtered bool) string {
		t.Helper()
		q := map[string]any{"site_id": "z", "metrics": []string{"visitors", "visits"}, "dimensions": []string{"visit:channel"},
			"date_range": []string{"2026-11-10", "2026-11-14"}}
		if filtered {
			q["filters"] = []any{[]any{"is", "visit:country", []string{"JP"}}}
		}
		body, _ := json.Marshal(q)
		pq, err := ParseQuery(body, site, now)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Run(ctx, pq)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(res.Results)
		return string(out)
	}
	exec := func(q string) {
		t.Helper()
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	plain, filtered := run(false), run(true)
	if plain != filtered || plain == "null" {
		t.Fatalf("unfiltered %s, under a filter that keeps every visit %s", plain, filtered)
	}
	exec(`UPDATE visits_by_day SET visits = visits * 2`)
	if doubled := run(false); doubled == plain {
		t.Fatalf("doubling visits_by_day left the unfiltered answer at %s: it does not read them", doubled)
	}
	if again := run(true); again != filtered {
		t.Fatalf("a filtered query changed with visits_by_day: %s, was %s", again, filtered)
	}
	exec(`UPDATE visits_by_day_zone SET timezone = 'Europe/Paris'`)
	if other := run(false); other != plain {
		t.Fatalf("with the days kept in another zone the answer is %s, the visits give %s", other, plain)
	}
}

// TestPreviousPeriodAcrossDST pins the period a range is compared with: the same number of whole local
// days before it, even when the range spans a change of offset (a duration would start it an hour off
// midnight and count another hour of visits), answering as a query for those days does.
func TestPreviousPeriodAcrossDST(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	site := &tributary.Site{ID: "p", Domain: "p.example", Name: "p", Currency: "EUR", Timezone: "Europe/Berlin", Locale: "en-US", CreatedAt: start, UpdatedAt: start}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	// A visit every 30 minutes from 1 September to 20 November, so an hour more or less at an edge
	// changes the counts.
	var evs []tributary.Event
	for i := 0; i < 81*48; i++ {
		evs = append(evs, tributary.Event{SiteID: "p", Timestamp: start.Add(time.Duration(i) * 30 * time.Minute), Name: "pageview", Source: "browser",
			VisitorID: fmt.Sprintf("v%d", i%23), SessionID: fmt.Sprintf("s%d", i), Hostname: "p.example", Path: "/", Channel: "Direct", Country: "DE", Device: "desktop"})
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(st.DB(), DuckDB{})
	run := func(body string) *Result {
		t.Helper()
		pq, err := ParseQuery([]byte(body), site, now)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Run(ctx, pq)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// 30 days across Berlin's return to winter time on 25 October.
	cur := run(`{"site_id":"p","metrics":["visitors","visits"],"date_range":["2026-10-20","2026-11-18"],"compare":"previous_period"}`)
	if got := strings.Join(cur.Meta.ComparedTo, " – "); got != "2026-09-20 – 2026-10-19" {
		t.Fatalf("compared to %s, want the 30 days before: 2026-09-20 – 2026-10-19", got)
	}
	prev := run(`{"site_id":"p","metrics":["visitors","visits"],"date_range":["2026-09-20","2026-10-19"]}`)
	a, _ := json.Marshal(cur.Results[0].Comparison.Metrics)
	b, _ := json.Marshal(prev.Results[0].Metrics)
	if string(a) != string(b) || string(b) != "[23,1440]" {
		t.Fatalf("the previous period answers %s, the query for its days %s (want [23,1440]: 30 days of 48 visits)", a, b)
	}
}

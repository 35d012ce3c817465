package stats

import (
	"context"
	"encoding/json"
	"fmt"
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
	berlin := &tributary.Site{ID: "b", Domain: "b.example", Currency: "EUR", Timezone: zone}
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
	for _, unit := range []string{"hour", "day"} {
		want := map[string][2]int{} // bucket → visitors, visits
		seen := map[string]bool{}
		first, _ := time.ParseInLocation("2006-01-02", start.Format("2006-01-02"), loc)
		for _, ev := range evs {
			if ev.Timestamp.Before(first) {
				continue
			}
			b := bucket(ev.Timestamp, unit, loc)
			w := want[b]
			w[1]++
			if !seen[b+ev.VisitorID] {
				seen[b+ev.VisitorID] = true
				w[0]++
			}
			want[b] = w
		}
		for _, filtered := range []bool{false, true} {
			q := map[string]any{"site_id": "b", "metrics": []string{"visitors", "visits"}, "dimensions": []string{"time:" + unit},
				"date_range": []string{start.Format("2006-01-02"), start.AddDate(0, 0, 3).Format("2006-01-02")}, "limit": 1000}
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
				got[r.Dimensions[0]] = [2]int{int(v), int(n)}
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

package web_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// visit records a backdated pageview of visitor vid (20 characters) at an RFC 3339 time.
func (e *env) visit(siteID, at, vid string) { e.hit(siteID, at, vid, "pageview") }

// hit records a backdated event named name of visitor vid at an RFC 3339 time.
func (e *env) hit(siteID, at, vid, name string) {
	e.t.Helper()
	body := `{"site":"` + siteID + `","name":"` + name + `","url":"https://shop.example/","visitor_id":"` + vid + `","session_id":"S` + vid[1:] + `"}`
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/event", strings.NewReader(body))
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Tributary-Backfill-Time", at)
	res, err := e.srv.Client().Do(req)
	if err != nil || res.StatusCode != 202 || res.Header.Get("X-Tributary-Dropped") != "" {
		e.t.Fatalf("visit: %v %v", res, err)
	}
	res.Body.Close()
}

var (
	barRE   = regexp.MustCompile(`<g class="bars">(.*?)</g>`)
	yTickRE = regexp.MustCompile(`<g class="yaxis">(.*?)</g>`)
	xTickRE = regexp.MustCompile(`<g class="xaxis">(.*?)</g>`)
	titleRE = regexp.MustCompile(`<h2 id="chart-title">([^<]*)</h2>`)
	kpiRE   = regexp.MustCompile(`<div class="muted">Visitors</div><div class="kpi-value">([^<]*)</div>(?:<div class="(?:up|down)">([^<]*)</div>)?`)
)

// TestDashboardChart: every bucket of the range is a bar (zero where empty: a site with one day of
// traffic still has 30 bars for 30 days), a day is 24 hours, the axes have ticks, the title names the
// metric and its unit, the previous period is a line when comparing, and "day" compares today with the
// same hours of yesterday. The clock is 2026-11-20 12:00 UTC.
func TestDashboardChart(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID, _ := e.siteWithKey("USD", "events:write")
	// Yesterday: one visitor before noon, two after; today: two before noon.
	for i, at := range []string{"2026-11-19T09:00:00Z", "2026-11-19T15:00:00Z", "2026-11-19T16:00:00Z", "2026-11-20T08:00:00Z", "2026-11-20T10:00:00Z"} {
		e.visit(siteID, at, fmt.Sprintf("Visitor%013d", i))
	}
	waitFor(t, "the visits", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == 5
	})
	tests := []struct {
		query, title   string
		bars, nonzero  int
		prev           bool
		visitorsChange string
	}{
		{"range=day", "Visitors per hour", 24, 2, true, "&#43;100.0%"}, // 2 today vs 1 by noon yesterday, not 3
		{"range=day&compare=off", "Visitors per hour", 24, 2, false, ""},
		{"range=7d", "Visitors per day", 7, 2, true, ""},
		{"range=30d", "Visitors per day", 30, 2, true, ""},
		{"range=month", "Visitors per day", 30, 2, true, ""}, // November
		{"range=year", "Visitors per month", 12, 1, true, ""},
		{"range=30d&metric=revenue", "Revenue per day (USD)", 30, 0, true, ""},
		{"range=30d&metric=pageviews&compare=off", "Pageviews per day", 30, 2, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			st, page, _ := b.get("/sites/" + siteID + "?" + tc.query)
			if st != 200 {
				t.Fatalf("%d", st)
			}
			if m := titleRE.FindStringSubmatch(page); m == nil || m[1] != tc.title {
				t.Errorf("title %v, want %q", m, tc.title)
			}
			bars := barRE.FindStringSubmatch(page)
			if bars == nil {
				t.Fatal("no bars")
			}
			n := strings.Count(bars[1], "<rect")
			zero := strings.Count(bars[1], `height="0"`)
			if n != tc.bars || n-zero != tc.nonzero {
				t.Errorf("%d bars (%d non-zero), want %d (%d)", n, n-zero, tc.bars, tc.nonzero)
			}
			if y := yTickRE.FindStringSubmatch(page); y == nil || strings.Count(y[1], "<text") < 2 {
				t.Error("no y axis ticks")
			}
			if x := xTickRE.FindStringSubmatch(page); x == nil || strings.Count(x[1], "<text") < 2 {
				t.Error("no x axis ticks")
			}
			if got := strings.Contains(page, `class="prev"`); got != tc.prev {
				t.Errorf("previous period line %v, want %v", got, tc.prev)
			}
			if tc.visitorsChange != "" {
				if m := kpiRE.FindStringSubmatch(page); m == nil || m[2] != tc.visitorsChange {
					t.Errorf("visitors KPI %v, want change %s", m, tc.visitorsChange)
				}
			}
		})
	}
}

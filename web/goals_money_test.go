package web_test

import (
	"strings"
	"testing"
)

// TestGoalsWithMoney: event:goal answers conversion_rate (a goal's visitors over the view's visitors)
// and revenue (the payments its server events became: the built-in purchase and a registered revenue
// event), under filters, and no live money in test mode.
func TestGoalsWithMoney(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	if r := e.do("POST", "/api/v1/sites/"+siteID+"/revenue-events", adminToken, `{"event_name":"order","amount_path":"metadata.total","unit":"major"}`); r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	// Five visitors look on 11-19 (A and B from the newsletter); A and B sign up in the browser; the
	// backend reports A's purchase of 49.99, B's of 10 and B's order of 20 in their sessions, and C's
	// purchase without a visitor.
	for i, who := range []string{"A", "B", "C", "D", "E"} {
		url := "https://shop.example/"
		if who == "A" || who == "B" {
			url += "?utm_source=news"
		}
		e.hitURL(siteID, "2026-11-19T09:0"+string(rune('0'+i))+":00Z", strings.Repeat(who, 20), "pageview", url)
	}
	e.hitURL(siteID, "2026-11-19T09:10:00Z", strings.Repeat("A", 20), "signup", "https://shop.example/signup")
	e.hitURL(siteID, "2026-11-19T09:11:00Z", strings.Repeat("B", 20), "signup", "https://shop.example/signup")
	ids := func(who string) string {
		return `"visitor_id":"` + strings.Repeat(who, 20) + `","session_id":"S` + strings.Repeat(who, 19) + `"`
	}
	for _, body := range []string{
		`{"event_id":"pa","event_name":"purchase","timestamp":"2026-11-19T09:20:00Z",` + ids("A") + `,"metadata":{"amount":49.99,"currency":"USD"}}`,
		`{"event_id":"pb","event_name":"purchase","timestamp":"2026-11-19T09:21:00Z",` + ids("B") + `,"metadata":{"amount":10,"currency":"USD"}}`,
		`{"event_id":"ob","event_name":"order","timestamp":"2026-11-19T09:22:00Z",` + ids("B") + `,"metadata":{"total":"20.00"}}`,
		`{"event_id":"pc","event_name":"purchase","timestamp":"2026-11-19T09:23:00Z","metadata":{"amount":5,"currency":"USD"}}`,
	} {
		if r := e.do("POST", "/api/v1/events", key, body); r.status != 200 || !strings.Contains(string(r.body), `"revenue"`) {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
	}
	waitFor(t, "the events", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == 11
	})
	q := func(rest string) string {
		return `{"site_id":"` + siteID + `","metrics":["visitors","events","conversion_rate","revenue"],"dimensions":["event:goal"],"date_range":["2026-11-19","2026-11-19"],"order_by":[["visitors","desc"],["event:goal","asc"]]` + rest + `}`
	}
	tests := []struct{ name, body, golden string }{
		// purchase: A, B and C's visitor-less purchase (3 of 6 visitors, 64.99); signup: A, B; order: B (20.00).
		{"all", q(""), "query_goals_money.json"},
		// The newsletter's visits: A and B; C's purchase is in no such visit.
		{"filtered", q(`,"filters":[["is","visit:utm_source",["news"]]]`), "query_goals_money_filtered.json"},
		{"test mode has no live money", q(`,"mode":"test"`), "query_goals_money_test.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/query", adminToken, tc.body)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			golden(t, tc.golden, r.body)
		})
	}
	// The dashboard's goals panel shows the money goals' revenue.
	b := loggedIn(t, e)
	_, page, _ := b.get("/sites/" + siteID + "?range=7d")
	panel, _, _ := strings.Cut(page[strings.Index(page, `id="goals"`):], "</section>")
	var got []string
	for _, m := range goalRowRE.FindAllStringSubmatch(panel, -1) {
		got = append(got, strings.Join(m[1:], " "))
	}
	if want := []string{"purchase unclassified 3 3 50.0% $64.99", "signup unclassified 2 2 33.3% —", "order unclassified 1 1 16.7% $20.00"}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("goals panel:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{
		`{"site_id":"` + siteID + `","metrics":["conversion_rate"],"dimensions":["event:goal","time:day"]}`,
		`{"site_id":"` + siteID + `","metrics":["revenue"],"dimensions":["event:name"]}`,
		`{"site_id":"` + siteID + `","metrics":["payments"],"dimensions":["event:goal"]}`,
	} {
		if r := e.do("POST", "/api/v1/query", adminToken, bad); r.status != 400 || !strings.Contains(string(r.body), `"field":"metrics[0]"`) {
			t.Errorf("%s: %d %s, want a 400 naming metrics[0]", bad, r.status, r.body)
		}
	}
}

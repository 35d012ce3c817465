package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// hitURL sends a backdated browser event for page url (the visitor's session is "S" + the rest of vid).
func (e *env) hitURL(siteID, at, vid, name, url string) {
	e.t.Helper()
	body := `{"site":"` + siteID + `","name":"` + name + `","url":"` + url + `","visitor_id":"` + vid + `","session_id":"S` + vid[1:] + `"}`
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/event", strings.NewReader(body))
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Tributary-Backfill-Time", at)
	res, err := e.srv.Client().Do(req)
	if err != nil || res.StatusCode != 202 || res.Header.Get("X-Tributary-Dropped") != "" {
		e.t.Fatalf("event: %v %v", res, err)
	}
	res.Body.Close()
}

// funnelSite records six visitors on 2026-11-19:
//
//	A (utm_source=news): /pricing → signup → purchase       reaches 3 of /pricing → signup → purchase
//	B (utm_source=news): /pricing → signup                  2
//	C: signup → /pricing (the wrong order)                  1
//	D: /pricing/enterprise → purchase                       0 (but 2 of /pricing/* → purchase)
//	E: /blog                                                0
//	F: /pricing → purchase → signup                         2 (purchase came before signup)
func funnelSite(t *testing.T, e *env) string {
	siteID, _ := e.siteWithKey("USD", "events:write")
	type ev struct{ who, name, url string }
	evs := []ev{
		{"A", "pageview", "https://shop.example/pricing?utm_source=news"}, {"A", "signup", "https://shop.example/signup"}, {"A", "purchase", "https://shop.example/thanks"},
		{"B", "pageview", "https://shop.example/pricing?utm_source=news"}, {"B", "signup", "https://shop.example/signup"},
		{"C", "signup", "https://shop.example/signup"}, {"C", "pageview", "https://shop.example/pricing"},
		{"D", "pageview", "https://shop.example/pricing/enterprise"}, {"D", "purchase", "https://shop.example/thanks"},
		{"E", "pageview", "https://shop.example/blog"},
		{"F", "pageview", "https://shop.example/pricing"}, {"F", "purchase", "https://shop.example/thanks"}, {"F", "signup", "https://shop.example/signup"},
	}
	for i, x := range evs {
		e.hitURL(siteID, "2026-11-19T10:"+string(rune('0'+i/10))+string(rune('0'+i%10))+":00Z", strings.Repeat(x.who, 20), x.name, x.url)
	}
	waitFor(t, "the events", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == len(evs)
	})
	return siteID
}

// TestFunnelQuery: POST /api/v1/query with a funnel answers each step's visitors (who did the steps
// before it in order), the conversion rate from the first step and the drop-off from the step before;
// * in a page step is one path segment; filters pick the visits, as on every panel.
func TestFunnelQuery(t *testing.T) {
	e := newEnv(t)
	siteID := funnelSite(t, e)
	q := func(rest string) string {
		return `{"site_id":"` + siteID + `","date_range":["2026-11-19","2026-11-19"],` + rest + `}`
	}
	steps := `"funnel":{"steps":[{"page":"/pricing"},{"event":"signup"},{"event":"purchase"}]}`
	tests := []struct {
		name, body, golden string
	}{
		{"three steps", q(steps), "query_funnel.json"},
		{"filtered", q(steps + `,"filters":[["is","visit:utm_source",["news"]]]`), "query_funnel_filtered.json"},
		{"wildcard, chosen metrics", q(`"metrics":["visitors","dropoff"],"funnel":{"steps":[{"page":"/pricing/*"},{"event":"purchase"}]}`), "query_funnel_wildcard.json"},
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
	// CSV: a header of the step dimension and the metrics, then a line per step.
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/query", strings.NewReader(q(steps)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "text/csv")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if want := "funnel:step,visitors,conversion_rate,dropoff,dropoff_rate\n/pricing,4,100,0,0\nsignup,3,75,1,25\npurchase,1,25,2,66.67\n"; sb.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", sb.String(), want)
	}
	bad := []struct{ body, field string }{
		{q(`"funnel":{"steps":[{"page":"/pricing"}]}`), "funnel.steps"},
		{q(`"funnel":{"steps":[{"page":"/pricing","event":"signup"},{"event":"x"}]}`), "funnel.steps[0]"},
		{q(`"funnel":{"steps":[{"event":"x"},{"page":"pricing"}]}`), "funnel.steps[1]"},
		{q(`"dimensions":["visit:source"],` + steps), "dimensions"},
		{q(`"metrics":["revenue"],` + steps), "metrics[0]"},
	}
	for _, b := range bad {
		if r := e.do("POST", "/api/v1/query", adminToken, b.body); r.status != 400 || !strings.Contains(string(r.body), `"field":"`+b.field+`"`) {
			t.Errorf("%s: %d %s, want a 400 naming %s", b.body, r.status, r.body, b.field)
		}
	}
}

package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDirectSourceNamed: direct traffic's source is "Direct / None" in the query API and its CSV (never
// an empty string), and a filter on that name selects it.
func TestDirectSourceNamed(t *testing.T) {
	e := newEnv(t)
	siteID, _ := e.siteWithKey("USD", "events:write")
	e.visit(siteID, "2026-11-19T10:00:00Z", "DirectDirectDirect01")
	e.hit(siteID, "2026-11-19T10:05:00Z", "DirectDirectDirect02", "pageview")
	body := `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/","referrer":"https://www.google.com/","visitor_id":"GoogleGoogleGoogle01","session_id":"SoogleGoogleGoogle01"}`
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/event", strings.NewReader(body))
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Tributary-Backfill-Time", "2026-11-19T11:00:00Z")
	if res, err := e.srv.Client().Do(req); err != nil || res.StatusCode != 202 {
		t.Fatalf("google visit: %v", err)
	}
	waitFor(t, "the visits", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == 3
	})
	q := func(extra string) string {
		return `{"site_id":"` + siteID + `","metrics":["visitors"],"dimensions":["visit:source"],"date_range":["2026-11-19","2026-11-19"],"order_by":[["visit:source","asc"]]` + extra + `}`
	}
	r := e.do("POST", "/api/v1/query", adminToken, q(""))
	if r.status != 200 {
		t.Fatalf("query: %d %s", r.status, r.body)
	}
	golden(t, "query_direct_source.json", r.body)
	tests := []struct{ name, filter, want string }{
		{"is Direct / None", `,"filters":[["is","visit:source",["Direct / None"]]]`, `"dimensions":["Direct / None"],"metrics":[2]`},
		{"is empty", `,"filters":[["is","visit:source",[""]]]`, `"dimensions":["Direct / None"],"metrics":[2]`},
		{"is_not Direct / None", `,"filters":[["is_not","visit:source",["Direct / None"]]]`, `"dimensions":["Google"],"metrics":[1]`},
	}
	for _, tc := range tests {
		r := e.do("POST", "/api/v1/query", adminToken, q(tc.filter))
		if r.status != 200 || !strings.Contains(string(r.body), tc.want) || strings.Count(string(r.body), `{"dimensions"`) != 1 {
			t.Errorf("%s: %d %s, want one row %s", tc.name, r.status, r.body, tc.want)
		}
	}
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/v1/query", strings.NewReader(q("")))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "text/csv")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := "visit:source,visitors\nDirect / None,2\nGoogle,1\n"; string(csv) != want {
		t.Errorf("csv %q, want %q", csv, want)
	}
}

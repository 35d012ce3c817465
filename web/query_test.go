package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestQueryAPI(t *testing.T) {
	e := newEnv(t)
	siteID, statsKey := e.siteWithKey("USD", "stats:read")
	_, writeKey := e.siteWithKey("USD", "events:write")
	otherSite, otherKey := e.siteWithKey("USD", "stats:read")
	_ = otherSite
	// Money through the real path: a server event with a visitor, then the query.
	e.do("POST", "/api/v1/sites/"+siteID+"/api-keys", adminToken, `{"name":"w","scopes":["events:write"]}`)
	body := `{"site_id":"` + siteID + `","metrics":["revenue","payments"],"date_range":"30d"}`
	tests := []struct {
		name, token, body string
		status            int
	}{
		{"admin", adminToken, body, 200},
		{"stats key", statsKey, body, 200},
		{"no auth", "", body, 401},
		{"write-only key", writeKey, body, 403},
		{"key of another site", otherKey, body, 403},
		{"unknown metric", adminToken, `{"site_id":"` + siteID + `","metrics":["profit"]}`, 400},
		{"unknown site", adminToken, `{"site_id":"nope","metrics":["visitors"]}`, 404},
	}
	for _, tc := range tests {
		r := e.do("POST", "/api/v1/query", tc.token, tc.body)
		if r.status != tc.status {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	r := e.do("POST", "/api/v1/query", adminToken, body)
	m := r.json(t)
	if m["meta"].(map[string]any)["currency"] != "USD" || len(m["results"].([]any)) != 1 {
		t.Fatalf("query = %s", r.body)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/query", strings.NewReader(`{"site_id":"`+siteID+`","metrics":["visitors"],"dimensions":["visit:channel"]}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "text/csv")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(b), "visit:channel,visitors") {
		t.Fatalf("csv: %d %q", res.StatusCode, b)
	}
}

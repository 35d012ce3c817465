package web_test

import (
	"strings"
	"testing"
)

// TestPurchaseOutOfTheBox: on a new site, TraceLog's own example (event_name purchase, metadata.amount
// 49.99 in major units, metadata.currency) records $49.99; an event that carries an amount nobody reads
// is answered with a warning naming the revenue settings; a stored setting replaces the built-in one.
func TestPurchaseOutOfTheBox(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	tests := []struct {
		name, body string
		revenue    string // the answer's revenue object, "" for none
		warning    bool
	}{
		{"tracelog example", `{"event_id":"pi_3abc123","event_name":"purchase","timestamp":"2026-11-20T10:00:00Z","customer_id":"cus_1","email":"ann@example.com",` +
			`"metadata":{"amount":49.99,"currency":"USD","items":[{"id":"pro","quantity":1}]}}`, `{"amount":4999,"currency":"USD"}`, false},
		{"ten thousand dollars", `{"event_id":"pi_big","event_name":"purchase","timestamp":"2026-11-20T10:05:00Z","metadata":{"amount":10000,"currency":"USD"}}`,
			`{"amount":1000000,"currency":"USD"}`, false},
		{"currency defaults to the site's", `{"event_id":"pi_nocur","event_name":"purchase","timestamp":"2026-11-20T10:06:00Z","metadata":{"amount":"5"}}`,
			`{"amount":500,"currency":"USD"}`, false},
		{"pulsora style stays minor", `{"event_id":"pt","event_name":"purchase","event_type":"purchase","timestamp":"2026-11-20T10:07:00Z","amount":4999,"currency":"USD"}`,
			`{"amount":4999,"currency":"USD"}`, false},
		{"purchase without an amount", `{"event_id":"pn","event_name":"purchase","timestamp":"2026-11-20T10:08:00Z"}`, "", false},
		{"amount on a plain event", `{"event_id":"s1","event_name":"signup","timestamp":"2026-11-20T10:09:00Z","metadata":{"amount":12,"currency":"USD"}}`, "", true},
		{"no amount, no warning", `{"event_id":"s2","event_name":"signup","timestamp":"2026-11-20T10:10:00Z","metadata":{"plan":"pro"}}`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/events", key, tc.body)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			body := string(r.body)
			if tc.revenue == "" && strings.Contains(body, `"revenue"`) || tc.revenue != "" && !strings.Contains(body, `"revenue":`+tc.revenue) {
				t.Errorf("answer %s, want revenue %s", body, tc.revenue)
			}
			if got := strings.Contains(body, `"warning"`); got != tc.warning {
				t.Errorf("answer %s: warning %v, want %v", body, got, tc.warning)
			}
			if tc.warning && (!strings.Contains(body, "revenue-events") || !strings.Contains(body, `\"signup\"`) || !strings.Contains(body, "Revenue events")) {
				t.Errorf("the warning does not name the setting to change: %s", body)
			}
		})
	}
	// The money is in the reports: 49.99 + 10000 + 5 + 49.99.
	r := e.do("POST", "/api/v1/query", adminToken, `{"site_id":"`+siteID+`","metrics":["revenue","payments"],"date_range":["2026-11-20","2026-11-20"]}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"metrics":[10104.98,4]`) {
		t.Fatalf("query: %d %s", r.status, r.body)
	}
	// A stored setting of the same name replaces the built-in one (here: minor units).
	if r := e.do("POST", "/api/v1/sites/"+siteID+"/revenue-events", adminToken, `{"event_name":"purchase","unit":"minor"}`); r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/events", key, `{"event_id":"pm","event_name":"purchase","timestamp":"2026-11-20T10:11:00Z","metadata":{"amount":4999,"currency":"USD"}}`); r.status != 200 ||
		!strings.Contains(string(r.body), `"revenue":{"amount":4999,"currency":"USD"}`) {
		t.Fatalf("stored setting: %d %s", r.status, r.body)
	}
}

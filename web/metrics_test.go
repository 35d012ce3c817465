package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tributary/tributary/web"
)

// TestMetricsEndpoint drives real traffic and checks that /metrics reports it in the Prometheus text
// format, by route pattern (ids never become labels).
func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	pv := `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/","visitor_id":"AAAAAAAAAAAAAAAAAAAA","session_id":"BBBBBBBBBBBBBBBBBBBB"}`
	e.event(pv, chromeUA, "text/plain")
	e.event(pv, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "text/plain")
	ep := e.endpoint(siteID, "test", secretA)
	body := event("evt_metrics", false)
	e.webhook(ep, body, sign(body, secretA, clock))
	e.webhook(ep, body, sign(body, secretA, clock))
	e.webhook(ep, body, "t=1,v1=00")
	e.do("GET", "/api/v1/sites/"+siteID, adminToken, "")

	r := e.do("GET", "/metrics", "", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics from loopback: %d %s", r.status, r.header.Get("Content-Type"))
	}
	text := string(r.body)
	for _, want := range []string{
		`tributary_ingest_events_total{outcome="accepted",reason=""} 1`,
		`tributary_ingest_events_total{outcome="dropped",reason="bot"} 1`,
		`tributary_webhook_deliveries_total{result="accepted"} 1`,
		`tributary_webhook_deliveries_total{result="duplicate"} 1`,
		`tributary_webhook_deliveries_total{result="rejected"} 1`,
		`tributary_webhook_ack_duration_seconds_count 2`,
		`tributary_http_requests_total{route="POST /api/event",code="202"} 2`,
		`tributary_http_requests_total{route="GET /api/v1/sites/{id}",code="200"} 1`,
		`tributary_http_requests_total{route="POST /stripe/webhook/{endpoint}",code="400"} 1`,
		`tributary_http_request_duration_seconds_count{route="POST /api/v1/sites"} 1`,
		`# TYPE process_resident_memory_bytes gauge`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(text, siteID) {
		t.Error("a site id leaked into metric labels")
	}
}

func TestMetricsAccess(t *testing.T) {
	const metricsToken = "metrics-token-0123456789"
	h := web.New(web.Options{AdminToken: adminToken, MetricsToken: metricsToken}).Handler()
	tests := []struct {
		name, remote, token, xff string
		want                     int
	}{
		{"loopback", "127.0.0.1:5000", "", "", 200},
		{"loopback v6", "[::1]:5000", "", "", 200},
		{"remote without token", "203.0.113.7:5000", "", "", 403},
		{"remote with metrics token", "203.0.113.7:5000", metricsToken, "", 200},
		{"remote with admin token", "203.0.113.7:5000", adminToken, "", 200},
		{"remote with wrong token", "203.0.113.7:5000", "wrong-token-0123456789", "", 403},
		{"proxied through a local proxy", "127.0.0.1:5000", "", "203.0.113.7", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.RemoteAddr = tc.remote
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), "metrics-token") {
				t.Fatalf("403 does not say how to get access: %s", rec.Body)
			}
		})
	}
}

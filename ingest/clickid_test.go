package ingest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// runSteps runs body through every step but the rate limit and fails the test if the event is dropped.
func runSteps(t *testing.T, p *Pipeline, body string) *Job {
	t.Helper()
	pl, err := DecodePayload([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	j := &Job{Payload: pl, UserAgent: "Mozilla/5.0 Chrome/131.0", IP: netip.MustParseAddr("203.0.113.7"), Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	for _, s := range p.steps {
		if s.Name == "rate_limit" {
			continue
		}
		if reason := s.Run(context.Background(), j); reason != "" {
			t.Fatalf("%s: dropped %s", body, reason)
		}
	}
	return j
}

// TestClickIDParam: the event keeps which landing-page parameter carried its click id, so Google Ads
// gets a gbraid or wbraid in its own field (issue 22).
func TestClickIDParam(t *testing.T) {
	p := New(Options{Sites: oneSite{&tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}}, Secret: []byte("k")})
	for _, tc := range []struct{ query, platform, param, id string }{
		{"gclid=g1", "google_ads", "gclid", "g1"},
		{"gbraid=b1", "google_ads", "gbraid", "b1"},
		{"wbraid=w1&fbclid=f1", "google_ads", "wbraid", "w1"},
		{"fbclid=f1", "meta", "fbclid", "f1"},
		{"utm_source=x", "", "", ""},
	} {
		j := runSteps(t, p, `{"site":"s1","name":"pageview","url":"https://shop.example/p?`+tc.query+`","visitor_id":"AAAA"}`)
		if e := j.Event; e.ClickIDPlatform != tc.platform || e.ClickIDParam != tc.param || e.ClickID != tc.id {
			t.Errorf("%s: click %q %q %q, want %q %q %q", tc.query, e.ClickIDPlatform, e.ClickIDParam, e.ClickID, tc.platform, tc.param, tc.id)
		}
	}
}

// TestFBP: Meta's browser id is kept on pageviews with the tracker's ids, trimmed and lower-cased, and
// dropped (the event kept) when malformed, on other events, or for a cookieless visitor.
func TestFBP(t *testing.T) {
	p := New(Options{Sites: oneSite{&tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}}, Secret: []byte("k")})
	for _, tc := range []struct{ name, ids, fbp, want string }{
		{"pageview", `"visitor_id":"AAAA",`, " FB.1.1795170600000.1234567890 ", "fb.1.1795170600000.1234567890"},
		{"pageview", `"visitor_id":"AAAA",`, "fb.1.1795170600000.12<script>", ""},
		{"pageview", `"visitor_id":"AAAA",`, "fb.7.1.2", ""},
		{"signup", `"visitor_id":"AAAA",`, "fb.1.1795170600000.1234567890", ""},
		{"pageview", ``, "fb.1.1795170600000.1234567890", ""},
	} {
		j := runSteps(t, p, `{"site":"s1","name":"`+tc.name+`","url":"https://shop.example/p",`+tc.ids+`"fbp":"`+tc.fbp+`"}`)
		if j.Event.FBP != tc.want {
			t.Errorf("%s %s %q: fbp %q, want %q", tc.name, tc.ids, tc.fbp, j.Event.FBP, tc.want)
		}
	}
}

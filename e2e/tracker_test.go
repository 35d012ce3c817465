package e2e

import (
	"encoding/json"
	"net/http"
	"time"
)

// browserUA is a current desktop Chrome; the ingest pipeline drops bots, so a test client must look
// like a browser.
const browserUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// hit is one tracker request: a pageview (the default), a custom event, or identify (identity set).
type hit struct {
	at       time.Time
	visitor  string
	session  string
	url      string
	referrer string
	name     string
	identity string
}

// track sends h to POST /api/event as the tracker does, dated with the admin-only backfill header, and
// requires that it was kept.
func (s *server) track(site string, h hit) {
	s.t.Helper()
	name := h.name
	if name == "" {
		name = "pageview"
	}
	body, err := json.Marshal(map[string]any{"site": site, "name": name, "url": h.url, "referrer": h.referrer,
		"visitor_id": h.visitor, "session_id": h.session, "screen_width": 1440, "identity": h.identity})
	if err != nil {
		s.t.Fatal(err)
	}
	r := s.do("POST", "/api/event", body, map[string]string{"Content-Type": "text/plain", "User-Agent": browserUA,
		"X-Tributary-Backfill-Time": h.at.UTC().Format(time.RFC3339)})
	if r.status != http.StatusAccepted || r.header.Get("X-Tributary-Dropped") != "" {
		s.t.Fatalf("event %s of %s at %s: status %d, dropped %q (%s): %s", name, h.visitor, h.at, r.status,
			r.header.Get("X-Tributary-Dropped"), r.header.Get("X-Tributary-Dropped-Detail"), r.body)
	}
}

package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

func (e *env) event(body, ua, ctype string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/event", strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Origin", "https://shop.example")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func TestBrowserIngest(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	ok := `{"site":"` + siteID + `","name":"pageview","url":"https://www.shop.example/pricing?utm_source=google&utm_medium=cpc&gclid=abc","referrer":"https://www.google.com/","visitor_id":"AAAAAAAAAAAAAAAAAAAA","session_id":"BBBBBBBBBBBBBBBBBBBB","screen_width":1280}`
	tests := []struct {
		name, body, ua, ctype string
		status                int
		dropped               string
	}{
		{"pageview json", ok, chromeUA, "application/json", 202, ""},
		{"pageview text/plain", ok, chromeUA, "text/plain", 202, ""},
		{"custom event", `{"site":"` + siteID + `","name":"signup","url":"https://shop.example/","props":{"plan":"pro","seats":3,"trial":true},"visitor_id":"AAAAAAAAAAAAAAAAAAAA","session_id":"BBBBBBBBBBBBBBBBBBBB"}`, chromeUA, "text/plain", 202, ""},
		{"identify", `{"site":"` + siteID + `","name":"identify","identity":"Ann@Example.com","url":"https://shop.example/","visitor_id":"AAAAAAAAAAAAAAAAAAAA","session_id":"BBBBBBBBBBBBBBBBBBBB"}`, chromeUA, "text/plain", 202, ""},
		{"cookieless", `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/"}`, chromeUA, "text/plain", 202, ""},
		{"unknown site", `{"site":"nope","name":"pageview","url":"https://shop.example/"}`, chromeUA, "text/plain", 202, "unknown_site"},
		{"foreign host", `{"site":"` + siteID + `","name":"pageview","url":"https://evil.example/"}`, chromeUA, "text/plain", 202, "host_mismatch"},
		{"bot", ok, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "text/plain", 202, "bot"},
		{"headless", ok, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", "text/plain", 202, "bot"},
		{"no url", `{"site":"` + siteID + `","name":"pageview"}`, chromeUA, "text/plain", 202, "invalid"},
		{"bad ids", `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/","visitor_id":"<script>"}`, chromeUA, "text/plain", 202, "invalid"},
		{"object prop", `{"site":"` + siteID + `","name":"x","url":"https://shop.example/","props":{"a":{"b":1}}}`, chromeUA, "text/plain", 202, "invalid"},
		{"too many props", `{"site":"` + siteID + `","name":"x","url":"https://shop.example/","props":{` + manyProps(31) + `}}`, chromeUA, "text/plain", 202, "invalid"},
		{"malformed", `{"site":`, chromeUA, "text/plain", 400, ""},
		{"too large", `{"site":"` + strings.Repeat("x", 17<<10) + `"}`, chromeUA, "text/plain", 413, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.event(tc.body, tc.ua, tc.ctype)
			if r.status != tc.status || r.header.Get("X-Tributary-Dropped") != tc.dropped {
				t.Fatalf("status %d dropped %q (%s), want %d %q: %s", r.status, r.header.Get("X-Tributary-Dropped"),
					r.header.Get("X-Tributary-Dropped-Detail"), tc.status, tc.dropped, r.body)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("ingest answer is not CORS-open")
			}
		})
	}
	// The writer flushes within its interval; wait for the 4 stored events (identify is an identity).
	deadline := time.Now().Add(5 * time.Second)
	var n int64
	for time.Now().Before(deadline) {
		n, _ = e.store.CountEvents(context.Background(), siteID, clock.Add(-time.Hour), clock.Add(time.Hour))
		if n == 4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n != 4 {
		t.Fatalf("%d events stored, want 4", n)
	}
	row := e.store.DB().QueryRow(`SELECT hostname, path, utm_source, utm_medium, visitor_id, screen_width, channel, referrer_source, click_id_platform, click_id, browser, os, device
		FROM events WHERE site_id = $1 AND name = 'pageview' AND visitor_id = 'AAAAAAAAAAAAAAAAAAAA' LIMIT 1`, siteID)
	var host, path, src, med, vid, channel, source, platform, click, browser, os, device string
	var width int
	if err := row.Scan(&host, &path, &src, &med, &vid, &width, &channel, &source, &platform, &click, &browser, &os, &device); err != nil {
		t.Fatal(err)
	}
	if host != "www.shop.example" || path != "/pricing" || src != "google" || med != "cpc" || width != 1280 {
		t.Fatalf("stored pageview = %s %s %s %s %d", host, path, src, med, width)
	}
	if channel != "Paid Search" || source != "Google" || platform != "google_ads" || click != "abc" || browser != "Chrome" || os != "Windows" || device != "desktop" {
		t.Fatalf("enrichment = channel %q source %q click %q/%q ua %q/%q/%q", channel, source, platform, click, browser, os, device)
	}
	var cookieless string
	if err := e.store.DB().QueryRow(`SELECT visitor_id FROM events WHERE site_id = $1 AND visitor_id LIKE 'c%' LIMIT 1`, siteID).Scan(&cookieless); err != nil || len(cookieless) != 16 {
		t.Fatalf("cookieless visitor id = %q %v", cookieless, err)
	}
	// Identities are flushed right after the events of the same round.
	var email string
	var err error
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if err = e.store.DB().QueryRow(`SELECT email FROM identities WHERE site_id = $1 AND visitor_id = 'AAAAAAAAAAAAAAAAAAAA'`, siteID).Scan(&email); err == nil {
			break
		}
	}
	if err != nil || email != "ann@example.com" {
		t.Fatalf("identify stored %q %v", email, err)
	}
	// Preflight.
	req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/api/event", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := e.srv.Client().Do(req)
	if err != nil || res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight: %v %v", res, err)
	}
}

func manyProps(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k`)
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`":1`)
	}
	return b.String()
}

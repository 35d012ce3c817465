package web_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkIngestHandler measures the browser ingest path in process (decode, validate, bot, user agent,
// geo, source, buffer, batch write), without the network.
func BenchmarkIngestHandler(b *testing.B) {
	e := newEnv(b)
	r := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`)
	site := r.json(b)["id"].(string)
	body := `{"site":"` + site + `","name":"pageview","url":"https://shop.example/pricing?utm_source=google&utm_medium=cpc&gclid=abc","referrer":"https://www.google.com/","visitor_id":"AAAAAAAAAAAAAAAAAAAA","session_id":"BBBBBBBBBBBBBBBBBBBB","screen_width":1280}`
	h := e.web.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/event", strings.NewReader(body))
		req.Header.Set("User-Agent", chromeUA)
		req.RemoteAddr = "203.0." + strconv.Itoa(i/250%250) + "." + strconv.Itoa(i%250) + ":1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted || w.Header().Get("X-Tributary-Dropped") != "" {
			b.Fatalf("%d %s", w.Code, w.Header().Get("X-Tributary-Dropped"))
		}
	}
}

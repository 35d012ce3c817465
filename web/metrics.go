package web

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/web/core"
)

// statusWriter remembers the status code a handler sent.
type statusWriter struct {
	http.ResponseWriter
	code int
}

// WriteHeader records the status before writing it.
func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 before writing.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts every request by its route pattern (never the raw path, whose ids would make the
// label set unbounded) and records its server time.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern // set on r by the ServeMux while routing
			if route == "" {
				route = "unmatched"
			}
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			s.Opt.Metrics.HTTPRequests.Inc(route, strconv.Itoa(code))
			s.Opt.Metrics.HTTPDuration.Since(start, route)
		}()
		next.ServeHTTP(sw, r)
	})
}

// handleMetrics is GET /metrics in the Prometheus text format. Counters reveal traffic volumes, so it
// answers loopback clients (a scraper beside the server) and holders of the metrics or admin token.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.metricsAllowed(r) {
		s.WriteError(w, r, tributary.Errorf(tributary.EFORBIDDEN,
			"/metrics answers loopback clients only; scrape it from the server's host or send Authorization: Bearer <--metrics-token>"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.Opt.Metrics.Registry.WriteText(w); err != nil {
		s.Log.LogAttrs(r.Context(), slog.LevelDebug, "metrics: write interrupted", slog.Any("err", err))
	}
}

func (s *Server) metricsAllowed(r *http.Request) bool {
	tok := core.Bearer(r)
	for _, want := range []string{s.Opt.MetricsToken, s.Opt.AdminToken} {
		if want != "" && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
			return true
		}
	}
	// The direct peer, not a forwarded address: behind a proxy on the same host every client would
	// otherwise look local, so a proxied request (one carrying forwarding headers) needs the token.
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

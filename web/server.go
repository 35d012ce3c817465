// Package web is Tributary's HTTP server: the one route table, assembling the handlers of each
// audience (collect: what browsers, backends and Stripe send; api: the management and query JSON API;
// ui: the server-rendered pages) over the shared core (options, authentication, errors, throttles), and
// the middleware every response passes through.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tributary/tributary/metrics"
	"github.com/tributary/tributary/ratelimit"
	"github.com/tributary/tributary/web/api"
	"github.com/tributary/tributary/web/collect"
	"github.com/tributary/tributary/web/core"
	"github.com/tributary/tributary/web/ui"
)

// Options configures a Server (see core.Options). Zero values get sensible defaults in New.
type Options = core.Options

// Server is the whole HTTP layer. The route table reaches each audience's handlers through the
// embedded handler sets, which share one core.
type Server struct {
	*collect.Collector
	*ui.UI
}

// New returns a Server; it panics only on programming errors (templates that do not parse).
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxBodyBytes == 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	if opt.WebhookMaxBytes == 0 {
		opt.WebhookMaxBytes = 1 << 20
	}
	if opt.WebhookTolerance == 0 {
		opt.WebhookTolerance = 300 * time.Second
	}
	if opt.RateLimiter == nil {
		opt.RateLimiter = ratelimit.NewMemory()
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.NewSet()
	}
	c := core.New(opt)
	return &Server{Collector: &collect.Collector{Server: c}, UI: ui.New(&api.API{Server: c})}
}

// Handler returns the whole HTTP handler: the route table wrapped in the common middleware.
func (s *Server) Handler() http.Handler {
	return s.instrument(s.recoverer(s.securityHeaders(s.routes())))
}

// Close flushes every buffer: buffered events are written before it returns, or it reports how many
// could not be.
func (s *Server) Close(ctx context.Context) error {
	if s.Opt.Writer != nil {
		return s.Opt.Writer.Close(ctx)
	}
	return nil
}

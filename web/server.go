// Package web is Tributary's HTTP layer: one route table, the handlers of the JSON APIs and the
// server-rendered UI, middleware, authentication, and the one place where coded errors become HTTP
// statuses.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/destinations"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/metrics"
	"github.com/tributary/tributary/ratelimit"
	"github.com/tributary/tributary/stripe"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configures a Server. Zero values get sensible defaults in New.
type Options struct {
	// Meta is the MetaStore as main wraps it (metacache.Store): the wrapper, not the handlers, keeps the
	// caches over it fresh when the handlers write sites, settings, endpoints or exchange rates.
	Meta   tributary.MetaStore
	Events tributary.EventStore
	Logger *slog.Logger
	// Now is the clock; tests fix it.
	Now func() time.Time
	// BaseURL is the public URL; empty means derive from each request.
	BaseURL string
	// AdminToken authorises the management API as the owner when non-empty.
	AdminToken string
	// SecureCookies forces the Secure attribute (set when BaseURL is https).
	SecureCookies bool
	// TrustedProxies are the proxies whose forwarding headers are believed.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes caps JSON request bodies.
	MaxBodyBytes int64
	// Version is shown in the UI footer and /healthz.
	Version string
	// Collect takes browser events (POST /api/event); Writer is the buffer it writes through, whose
	// health /readyz reports and which the server flushes on Close.
	Collect CollectService
	Writer  *ingest.Writer
	// ServerEvents records the server-to-server API's events (nil: that API answers 501).
	ServerEvents ServerEventService
	// Customers answers the customer pages and API (nil: they answer 501).
	Customers CustomerService
	// WebhookMaxBytes caps Stripe webhook bodies; WebhookTolerance is the signature timestamp tolerance.
	WebhookMaxBytes  int64
	WebhookTolerance time.Duration
	// StripeIPAllowlist accepts webhooks only from Stripe's published addresses.
	StripeIPAllowlist bool
	// Inbox is told when new deliveries are committed, so processing starts at once.
	Inbox interface{ Notify() }
	// Ledger converts money stored before its exchange rate was known (ConvertPending).
	Ledger *ledger.Recorder
	// Stats answers queries (nil: they answer 501).
	Stats StatsService
	// RateLimiter holds the API keys' token buckets: in memory by default, the PostgreSQL MetaStore when
	// several nodes serve together so that a key's limit holds across them.
	RateLimiter ratelimit.Limiter
	// Metrics collects the counters and histograms served at GET /metrics (a fresh set when nil).
	Metrics *metrics.Set
	// MetricsToken, when set, lets a scraper read /metrics from any address with this bearer token;
	// without it (or the admin token) only loopback clients may read it.
	MetricsToken string
	// Stripe connects Stripe accounts with restricted keys and imports their history (nil: the
	// stripe-accounts API answers 501).
	Stripe *stripe.Syncer
	// Destinations sends conversions to the ad platforms; its Box seals their credentials (nil: creating
	// a destination answers 501).
	Destinations *destinations.Sender
}

// Server holds the dependencies of every handler.
type Server struct {
	opt    Options
	log    *slog.Logger
	tmpl   *template.Template
	static http.Handler

	logins *loginThrottle
	// webhookFails counts unsigned (or otherwise refused) webhook posts per client address and
	// per endpoint; webhookSample bounds how many refused posts per endpoint are written to the log.
	webhookFails  *failures
	webhookSample *limiter
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
	sub, _ := fs.Sub(staticFS, "static")
	s := &Server{
		opt:    opt,
		log:    opt.Logger,
		tmpl:   parseTemplates(),
		static: http.StripPrefix("/static/", http.FileServerFS(sub)),
		logins: newLoginThrottle(opt.Now),
		// 30 refused posts from one address, then a backoff from 10 s doubling to 10 minutes.
		webhookFails: newFailures(30, 10*time.Second, 10*time.Minute, opt.Now),
		// At most 20 refused deliveries a minute per endpoint are kept in the delivery log.
		webhookSample: newLimiter(20, time.Minute, opt.Now),
	}
	return s
}

// Handler returns the whole HTTP handler: the route table wrapped in the common middleware.
func (s *Server) Handler() http.Handler {
	return s.instrument(s.recoverer(s.securityHeaders(s.routes())))
}

// Close flushes every buffer: buffered events are written before it returns, or it reports how many
// could not be.
func (s *Server) Close(ctx context.Context) error {
	if s.opt.Writer != nil {
		return s.opt.Writer.Close(ctx)
	}
	return nil
}

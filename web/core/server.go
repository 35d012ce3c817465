// Package core is what every audience of the HTTP layer shares: the options and the services main
// passes (Options, services.go), the Server every handler set embeds, authentication and the
// principal, the one mapping from coded errors to HTTP statuses, JSON decoding, throttles and API-key
// rate limits. It imports no other web package, so collect, api and ui can all build on it.
package core

import (
	"log/slog"
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

// Options configures a server (web.New fills in the zero values with sensible defaults).
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
	// Sites reads and writes sites; deleting one removes its facts too (sites.Service).
	Sites SiteService
	// Intake finds webhook endpoints and commits deliveries and replays to the inbox, waking its worker
	// (inbox.Intake).
	Intake IntakeService
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
	Opt Options
	Log *slog.Logger

	Logins *loginThrottle
	// WebhookFails counts unsigned (or otherwise refused) webhook posts per client address and
	// per endpoint; WebhookSample bounds how many refused posts per endpoint are written to the log.
	WebhookFails  *failures
	WebhookSample *limiter
}

// New returns the core of a server over opt, whose defaults web.New has filled in.
func New(opt Options) *Server {
	return &Server{
		Opt:    opt,
		Log:    opt.Logger,
		Logins: newLoginThrottle(opt.Now),
		// 30 refused posts from one address, then a backoff from 10 s doubling to 10 minutes.
		WebhookFails: newFailures(30, 10*time.Second, 10*time.Minute, opt.Now),
		// At most 20 refused deliveries a minute per endpoint are kept in the delivery log.
		WebhookSample: newLimiter(20, time.Minute, opt.Now),
	}
}

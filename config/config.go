// Package config holds Tributary's configuration: one struct with documented fields, defaults in one
// place, and the precedence flags > environment (TRIBUTARY_*) > defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary/clientip"
)

// Config is the whole configuration of a Tributary process.
type Config struct {
	// Listen is the TCP address the HTTP server binds, e.g. ":8080" or "127.0.0.1:9000".
	Listen string
	// DataDir holds the embedded store file (tributary.duckdb); created on first start.
	DataDir string
	// BaseURL is the public URL of this server (e.g. https://stats.example.com); used for links and to
	// decide whether cookies are Secure. Empty: derived from each request.
	BaseURL string
	// AdminToken, when set, authorises the management API as the owner (Authorization: Bearer TOKEN).
	AdminToken string
	// MetricsToken, when set, lets a Prometheus scraper read GET /metrics from any address with
	// Authorization: Bearer TOKEN; without it only loopback clients (or the admin token) may.
	MetricsToken string
	// MetaDSN selects the MetaStore: empty for the embedded DuckDB file, or postgres://…
	MetaDSN string
	// EventsDSN selects the EventStore: empty for the embedded DuckDB file, or clickhouse://user:pass@host:9000/db
	// (with MetaDSN empty the MetaStore stays the embedded file in DataDir: one node, events in ClickHouse).
	EventsDSN string
	// TrustedProxies lists the proxies (CIDRs or IPs, comma separated) whose forwarding headers are
	// believed for the client address. Empty: headers are ignored and the peer address is used.
	TrustedProxies string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// MaxBodyBytes caps request bodies of the JSON APIs.
	MaxBodyBytes int64
	// WebhookMaxBytes caps Stripe webhook bodies (Stripe's own events are far below 1 MiB).
	WebhookMaxBytes int64
	// WebhookTolerance is how far a Stripe-Signature timestamp may be from now.
	WebhookTolerance time.Duration
	// StripeIPAllowlist, when true, accepts webhook deliveries only from Stripe's published addresses.
	StripeIPAllowlist bool
	// IngestAck decides when POST /api/event answers 202: "buffered" (at once; a hard crash loses at
	// most the last second of pageviews), "durable" (once the event is in the store; survives kill -9,
	// costs latency and some throughput) or "auto" (durable when --events-dsn is set, since several
	// nodes are run for availability; buffered on the embedded store).
	IngestAck string
	// WebhookLease is how long a node holds a Stripe delivery it is processing; when a node dies, another
	// takes the delivery over once the lease ends. The embedded store (one node) releases them at start.
	WebhookLease time.Duration
	// ShutdownTimeout bounds graceful shutdown (draining requests and flushing buffers).
	ShutdownTimeout time.Duration
	// RatesURL, when set, serves ECB-format exchange rates (eurofxref.csv, eurofxref-hist.csv, or the
	// ECB's eurofxref.zip / eurofxref-hist.zip): fetched in the background at start and every
	// RatesRefresh. Empty (the default): nothing is downloaded; rates come from imports only.
	RatesURL string
	// RatesRefresh is how often RatesURL is fetched.
	RatesRefresh time.Duration
	// ReferrerExclude edits the hosts never taken as a traffic source (referrer.Exclusions): a comma list
	// added to the built-in payment providers, "-host" removing one.
	ReferrerExclude string
	// StripeAPIURL is the Stripe API Tributary calls for connected accounts (history import, healing,
	// its webhook endpoints); stripe-mock or a test fake can stand in.
	StripeAPIURL string
	// SecretKey encrypts stored credentials (Stripe restricted keys): 64 hex characters. Empty: a key is
	// generated into DataDir/secret.key (mode 0600) on first start; nodes sharing PostgreSQL must share it.
	SecretKey string
	// IngestBuffer is how many browser events the writer holds in memory, waiting or in the write under
	// way; when it is full, POST /api/event answers 503 with Retry-After until the store catches up.
	// Each held event takes about 220 bytes (a pageview, packed); an empty buffer costs next to nothing.
	IngestBuffer int64
	// DuckDBMemoryLimit bounds the embedded store's DuckDB buffer manager: its cache of the store file
	// and the working memory of queries (which spill to a temporary directory in DataDir beyond it). A
	// size such as 256MB or 1GiB (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024); "0" leaves DuckDB's
	// own default, 80 % of the machine's RAM. The Go heap comes on top of it.
	DuckDBMemoryLimit string

	trusted     []netip.Prefix
	duckdbLimit int64
}

// DurableIngest tells whether browser events are acknowledged only once stored (--ingest-ack).
func (c Config) DurableIngest() bool {
	return c.IngestAck == "durable" || c.IngestAck == "auto" && c.EventsDSN != ""
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:           ":8080",
		DataDir:          "./tributary-data",
		LogLevel:         "info",
		LogFormat:        "text",
		IngestAck:        "auto",
		MaxBodyBytes:     1 << 20,
		WebhookMaxBytes:  1 << 20,
		WebhookTolerance: 300 * time.Second,
		ShutdownTimeout:  15 * time.Second,
		WebhookLease:     2 * time.Minute,
		RatesRefresh:     24 * time.Hour,
		StripeAPIURL:     "https://api.stripe.com",

		IngestBuffer:      80_000,
		DuckDBMemoryLimit: "256MB",
	}
}

// option describes one setting: its flag, environment variable and help text.
type option struct {
	flag, env, help string
	str             *string
	i64             *int64
	dur             *time.Duration
	boolean         *bool
	secret          bool
}

func (c *Config) options() []option {
	return []option{
		{flag: "listen", env: "TRIBUTARY_LISTEN", help: "address to listen on", str: &c.Listen},
		{flag: "data-dir", env: "TRIBUTARY_DATA_DIR", help: "directory of the embedded store", str: &c.DataDir},
		{flag: "base-url", env: "TRIBUTARY_BASE_URL", help: "public base URL, e.g. https://stats.example.com (default: derived from the request)", str: &c.BaseURL},
		{flag: "admin-token", env: "TRIBUTARY_ADMIN_TOKEN", help: "token that authorises the management API as the owner (default: none, login only)", str: &c.AdminToken, secret: true},
		{flag: "metrics-token", env: "TRIBUTARY_METRICS_TOKEN", help: "bearer token for scraping /metrics from other hosts (default: loopback only)", str: &c.MetricsToken, secret: true},
		{flag: "meta-dsn", env: "TRIBUTARY_META_DSN", help: "MetaStore DSN: postgres://user:pass@host:5432/db, for several nodes (needs --events-dsn; default: the embedded DuckDB file)", str: &c.MetaDSN, secret: true},
		{flag: "events-dsn", env: "TRIBUTARY_EVENTS_DSN", help: "EventStore DSN: clickhouse://user:pass@host:9000/db (default: the embedded DuckDB file)", str: &c.EventsDSN, secret: true},
		{flag: "trusted-proxies", env: "TRIBUTARY_TRUSTED_PROXIES", help: "comma-separated CIDRs/IPs of reverse proxies whose X-Forwarded-For is trusted (default: none)", str: &c.TrustedProxies},
		{flag: "log-level", env: "TRIBUTARY_LOG_LEVEL", help: "debug, info, warn or error", str: &c.LogLevel},
		{flag: "log-format", env: "TRIBUTARY_LOG_FORMAT", help: "text or json", str: &c.LogFormat},
		{flag: "ingest-ack", env: "TRIBUTARY_INGEST_ACK", help: "when /api/event answers: buffered (at once), durable (once stored; survives kill -9) or auto (durable with --events-dsn)", str: &c.IngestAck},
		{flag: "max-body-bytes", env: "TRIBUTARY_MAX_BODY_BYTES", help: "largest accepted API request body in bytes", i64: &c.MaxBodyBytes},
		{flag: "webhook-max-bytes", env: "TRIBUTARY_WEBHOOK_MAX_BYTES", help: "largest accepted Stripe webhook body in bytes", i64: &c.WebhookMaxBytes},
		{flag: "webhook-tolerance", env: "TRIBUTARY_WEBHOOK_TOLERANCE", help: "accepted age of a Stripe-Signature timestamp", dur: &c.WebhookTolerance},
		{flag: "stripe-ip-allowlist", env: "TRIBUTARY_STRIPE_IP_ALLOWLIST", help: "accept webhooks only from Stripe's published IP addresses", boolean: &c.StripeIPAllowlist},
		{flag: "webhook-lease", env: "TRIBUTARY_WEBHOOK_LEASE", help: "how long a node holds a Stripe delivery it processes before another node may take it over", dur: &c.WebhookLease},
		{flag: "shutdown-timeout", env: "TRIBUTARY_SHUTDOWN_TIMEOUT", help: "time allowed for graceful shutdown", dur: &c.ShutdownTimeout},
		{flag: "rates-url", env: "TRIBUTARY_RATES_URL", help: "URL of ECB-format exchange rates (CSV, or the ECB's eurofxref.zip), fetched at start and every --rates-refresh (default: none, nothing is downloaded)", str: &c.RatesURL, secret: true},
		{flag: "rates-refresh", env: "TRIBUTARY_RATES_REFRESH", help: "how often --rates-url is fetched", dur: &c.RatesRefresh},
		{flag: "stripe-api-url", env: "TRIBUTARY_STRIPE_API_URL", help: "Stripe API base URL for connected accounts (stripe-mock or a fake in tests)", str: &c.StripeAPIURL},
		{flag: "secret-key", env: "TRIBUTARY_SECRET_KEY", help: "64 hex characters encrypting stored credentials (default: generated into DATA_DIR/secret.key)", str: &c.SecretKey, secret: true},
		{flag: "ingest-buffer", env: "TRIBUTARY_INGEST_BUFFER", help: "browser events held in memory, waiting or being written (about 220 bytes a pageview); when full, /api/event answers 503 with Retry-After", i64: &c.IngestBuffer},
		{flag: "duckdb-memory-limit", env: "TRIBUTARY_DUCKDB_MEMORY_LIMIT", help: "memory of the embedded store's DuckDB (its file cache and query memory; queries spill to disk beyond it), e.g. 256MB or 1GiB; 0 for DuckDB's own default, 80% of RAM", str: &c.DuckDBMemoryLimit},
		{flag: "referrer-exclude", env: "TRIBUTARY_REFERRER_EXCLUDE", help: "hosts never taken as a traffic source, comma-separated, added to the built-in payment providers (checkout.stripe.com, paypal.com…); -host removes one (default: the payment providers only)", str: &c.ReferrerExclude},
	}
}

func (o option) defaultString() string {
	switch {
	case o.str != nil:
		return *o.str
	case o.i64 != nil:
		return strconv.FormatInt(*o.i64, 10)
	case o.dur != nil:
		return o.dur.String()
	case o.boolean != nil:
		return strconv.FormatBool(*o.boolean)
	}
	return ""
}

func (o option) set(v string) error {
	switch {
	case o.str != nil:
		*o.str = v
	case o.i64 != nil:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*o.i64 = n
	case o.dur != nil:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 300s, 5m)", v)
		}
		*o.dur = d
	case o.boolean != nil:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*o.boolean = b
	}
	return nil
}

// ErrHelp is returned by Load when -h or --help was given; the usage has been written.
var ErrHelp = flag.ErrHelp

// Load builds the configuration for a subcommand from defaults, then env (getenv), then args; it
// validates the result. Usage goes to out.
func Load(cmd string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	c := Default()
	opts := c.options()
	defaults := make([]string, len(opts))
	for i, o := range opts {
		defaults[i] = o.defaultString()
	}
	for _, o := range opts {
		if v := getenv(o.env); v != "" {
			if err := o.set(v); err != nil {
				return c, fmt.Errorf("config: %s: %w", o.env, err)
			}
		}
	}
	fs := flag.NewFlagSet("tributary "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	for _, o := range opts {
		o := o
		fs.Func(o.flag, o.help, func(v string) error { return o.set(v) })
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: tributary %s [flags]\n\nFlags (each also read from the environment variable shown; flags win):\n", cmd)
		Usage(out, opts, defaults)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, ErrHelp
		}
		return c, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("config: unexpected argument %q (flags are written --name=value)", fs.Arg(0))
	}
	return c, c.Validate()
}

// Usage writes the flag table: flag, environment variable, default and help.
func Usage(out io.Writer, opts []option, defaults []string) {
	for i, o := range opts {
		def := defaults[i]
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(out, "  --%-20s %-30s default: %s\n      %s\n", o.flag, o.env, def, o.help)
	}
}

// FlagHelp writes the flag table of the default configuration (for `tributary help`).
func FlagHelp(out io.Writer) {
	c := Default()
	opts := c.options()
	defaults := make([]string, len(opts))
	for i, o := range opts {
		defaults[i] = o.defaultString()
	}
	Usage(out, opts, defaults)
}

// Validate checks every field and says what to fix.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q is not host:port (e.g. :8080 or 127.0.0.1:8080)", c.Listen))
	}
	if c.MetaDSN == "" && c.EventsDSN == "" && strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--base-url %q must be an absolute http(s) URL such as https://stats.example.com", c.BaseURL))
		} else {
			c.BaseURL = strings.TrimRight(c.BaseURL, "/")
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("--admin-token must be at least 16 characters (generate one with: openssl rand -hex 32)"))
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, errors.New("--metrics-token must be at least 16 characters (generate one with: openssl rand -hex 32)"))
	}
	if c.MetaDSN != "" && !strings.HasPrefix(c.MetaDSN, "postgres://") && !strings.HasPrefix(c.MetaDSN, "postgresql://") {
		errs = append(errs, fmt.Errorf("--meta-dsn must start with postgres:// (or be empty for the embedded store)"))
	}
	if c.EventsDSN != "" && !strings.HasPrefix(c.EventsDSN, "clickhouse://") {
		errs = append(errs, fmt.Errorf("--events-dsn must start with clickhouse:// (the native protocol, port 9000; or be empty for the embedded store)"))
	}
	if c.MetaDSN != "" && c.EventsDSN == "" {
		errs = append(errs, errors.New("--meta-dsn needs --events-dsn: nodes sharing PostgreSQL must share a ClickHouse EventStore too"))
	}
	p, err := clientip.ParsePrefixes(c.TrustedProxies)
	if err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies: %w", err))
	}
	c.trusted = p
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
		c.LogLevel = strings.ToLower(c.LogLevel)
	default:
		errs = append(errs, fmt.Errorf("--log-level %q must be debug, info, warn or error", c.LogLevel))
	}
	switch strings.ToLower(c.LogFormat) {
	case "text", "json":
		c.LogFormat = strings.ToLower(c.LogFormat)
	default:
		errs = append(errs, fmt.Errorf("--log-format %q must be text or json", c.LogFormat))
	}
	switch strings.ToLower(c.IngestAck) {
	case "auto", "buffered", "durable":
		c.IngestAck = strings.ToLower(c.IngestAck)
	default:
		errs = append(errs, fmt.Errorf("--ingest-ack %q must be auto, buffered or durable", c.IngestAck))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("--max-body-bytes %d is too small (at least 1024)", c.MaxBodyBytes))
	}
	if c.WebhookMaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("--webhook-max-bytes %d is too small (at least 1024)", c.WebhookMaxBytes))
	}
	if c.WebhookLease < time.Second {
		errs = append(errs, fmt.Errorf("--webhook-lease %v is too short (at least 1s; processing one delivery can take that long)", c.WebhookLease))
	}
	if c.WebhookTolerance <= 0 {
		errs = append(errs, errors.New("--webhook-tolerance must be positive (default 300s)"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout must be positive"))
	}
	if c.RatesURL != "" {
		// The value is not echoed: a rates URL may carry a token in its query.
		u, err := url.Parse(c.RatesURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("--rates-url must be an absolute http(s) URL such as https://www.ecb.europa.eu/stats/eurofxref/eurofxref.zip"))
		}
	}
	if c.RatesRefresh < time.Minute {
		errs = append(errs, errors.New("--rates-refresh must be at least 1m (default 24h)"))
	}
	if c.IngestBuffer < 1000 || c.IngestBuffer > 10_000_000 {
		errs = append(errs, fmt.Errorf("--ingest-buffer %d must be 1000 to 10000000 events", c.IngestBuffer))
	}
	if n, err := ParseSize(c.DuckDBMemoryLimit); err != nil {
		errs = append(errs, fmt.Errorf("--duckdb-memory-limit %q: %w", c.DuckDBMemoryLimit, err))
	} else if n != 0 && n < minDuckDBMemory {
		errs = append(errs, fmt.Errorf("--duckdb-memory-limit %q is too small (at least 64MB; 0 for DuckDB's default)", c.DuckDBMemoryLimit))
	} else {
		c.duckdbLimit = n
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// minDuckDBMemory is the smallest --duckdb-memory-limit accepted: a floor against typos such as 64KB
// (the embedded store was measured down to 64MB, docs/benchmarks.md).
const minDuckDBMemory = 64_000_000

// DuckDBMemoryLimitBytes returns --duckdb-memory-limit in bytes, 0 for DuckDB's default (valid after
// Validate).
func (c *Config) DuckDBMemoryLimitBytes() int64 { return c.duckdbLimit }

// sizeUnits are the units ParseSize accepts, lower case, as DuckDB reads them.
var sizeUnits = map[string]float64{
	"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize reads a memory size such as "256MB", "1.5 GiB" or "0" (which needs no unit) into bytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	switch t {
	case "0":
		return 0, nil
	case "":
		return 0, errors.New("is not a size such as 256MB or 1GiB")
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		return 0, errors.New("needs a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB (e.g. 256MB)")
	}
	if i == 0 {
		return 0, errors.New("is not a size such as 256MB or 1GiB")
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, errors.New("needs a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB (e.g. 256MB)")
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	if err != nil || n*unit >= 1<<62 {
		return 0, errors.New("is not a size such as 256MB or 1GiB")
	}
	return int64(n * unit), nil
}

// TrustedPrefixes returns the parsed --trusted-proxies (valid after Validate).
func (c *Config) TrustedPrefixes() []netip.Prefix { return c.trusted }

// SecureCookies reports whether cookies must carry the Secure attribute regardless of the request.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// Getenv is os.Getenv, for callers that load from the real environment.
var Getenv = os.Getenv

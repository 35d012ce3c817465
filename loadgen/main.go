package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const mainUsage = `Usage: tributary loadgen [flags]

Sends realistic traffic to a running Tributary server: browser events (POST /api/event), signed Stripe
webhooks and server-to-server purchases, generated from a seeded scenario, and reports throughput,
latency and answers. Only loopback servers are accepted unless --allow-remote is given.

Examples:
  tributary loadgen --setup --admin-token T --xff --backfill --truth truth.json   # fill a demo site
  tributary loadgen --site SITE --kinds event --loop --rate 2000 --duration 30s     # steady load
  tributary loadgen --bare --duration 10s                                           # client ceiling

Flags:
`

// cliFlags are Main's flags.
type cliFlags struct {
	url, site, domain, endpoint, secret, apiKey, adminToken, currency, kinds, now, truth string
	allowRemote, setup, xff, backfill, loop, jsonOut, bare, livemode                     bool
	seed                                                                                 uint64
	pageviews, days, concurrency, burst, retries, keyLimit                               int
	apiShare, rate                                                                       float64
	count                                                                                int64
	duration, timeout, drainWait                                                         time.Duration
}

func (c *cliFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow a base URL that is not a loopback address")
	fs.StringVar(&c.site, "site", "", "site id to send browser events for")
	fs.StringVar(&c.domain, "domain", DefaultDomain, "the site's domain (page URLs are on it)")
	fs.StringVar(&c.endpoint, "stripe-endpoint", "", "Stripe endpoint id (webhooks are sent when this and --stripe-secret are set)")
	fs.StringVar(&c.secret, "stripe-secret", "", "the endpoint's whsec_ signing secret")
	fs.StringVar(&c.apiKey, "api-key", "", "API key with events:write (server-to-server purchases are sent when set)")
	fs.BoolVar(&c.setup, "setup", false, "create a site, API key and Stripe endpoint first (needs --admin-token)")
	fs.StringVar(&c.adminToken, "admin-token", os.Getenv("TRIBUTARY_ADMIN_TOKEN"), "admin token for --setup (env TRIBUTARY_ADMIN_TOKEN)")
	fs.StringVar(&c.currency, "currency", "USD", "reporting currency of the site --setup creates")
	fs.IntVar(&c.keyLimit, "key-rate-limit", 1_000_000, "requests a minute of the API key --setup creates")
	fs.StringVar(&c.kinds, "kinds", "event,stripe,server", "request kinds to send: event, stripe, server")
	fs.Uint64Var(&c.seed, "seed", 1, "scenario seed")
	fs.IntVar(&c.pageviews, "pageviews", DefaultPageviews, "pageviews in the scenario (at least)")
	fs.IntVar(&c.days, "days", DefaultDays, "days of history the scenario spans")
	fs.StringVar(&c.now, "now", "", "end of the scenario's span, RFC 3339 (default: the current time)")
	fs.BoolVar(&c.livemode, "livemode", false, "Stripe events are live-mode (the endpoint must be live-mode)")
	fs.Float64Var(&c.apiShare, "api-share", DefaultAPIShare, "fraction of one-time purchases sent server-to-server (0 without --api-key)")
	fs.Float64Var(&c.rate, "rate", 0, "target requests a second (0: as fast as possible)")
	fs.IntVar(&c.burst, "burst", 0, "requests allowed at once after a pause (default 1% of --rate)")
	fs.IntVar(&c.concurrency, "concurrency", 16, "requests in flight at most")
	fs.Int64Var(&c.count, "count", 0, "stop after this many requests (0: no limit)")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: no limit)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.IntVar(&c.retries, "retries", 5, "retries of a request answered 503 or 429 (-1: none)")
	fs.BoolVar(&c.xff, "xff", false, "send varied public client addresses in X-Forwarded-For (the server must trust 127.0.0.1)")
	fs.BoolVar(&c.backfill, "backfill", false, "send each browser event's historical time in "+HeaderBackfill)
	fs.BoolVar(&c.loop, "loop", false, "when the scenario is exhausted, continue with the next seed")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	fs.StringVar(&c.truth, "truth", "", "write the ground truth of the (first) scenario as JSON to this file")
	fs.DurationVar(&c.drainWait, "drain-wait", DrainWait, "with browser events, wait this long at most for the server to store what it accepted, and report the stored rate from its /metrics (0: do not)")
	fs.BoolVar(&c.bare, "bare", false, "drive an in-process server that only answers 202 (the client's ceiling); ignores --url")
}

// Main is `tributary loadgen`: it parses args (without the subcommand), runs and returns the exit code:
// 0 when every request was answered below 400, 1 when the run failed or some requests did, 2 for bad
// flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c cliFlags
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), mainUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	code, err := c.run(ctx, stdout, stderr)
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "loadgen: ") {
			msg = "loadgen: " + msg
		}
		fmt.Fprintln(stderr, msg)
	}
	return code
}

func (c *cliFlags) run(ctx context.Context, stdout, stderr io.Writer) (int, error) {
	opt := DefaultOptions()
	opt.Seed, opt.Pageviews, opt.Days, opt.Domain, opt.Livemode, opt.APIShare = c.seed, c.pageviews, c.days, c.domain, c.livemode, c.apiShare
	opt.Now = time.Now().UTC().Truncate(time.Second)
	if c.now != "" {
		t, err := time.Parse(time.RFC3339, c.now)
		if err != nil {
			return 2, fmt.Errorf("--now %q is not RFC 3339 (e.g. 2026-06-01T00:00:00Z)", c.now)
		}
		opt.Now = t
	}
	kinds := map[string]bool{}
	for _, k := range strings.Split(c.kinds, ",") {
		switch k = strings.TrimSpace(k); k {
		case KindEvent, KindStripe, KindServer:
			kinds[k] = true
		case "":
		default:
			return 2, fmt.Errorf("--kinds: unknown kind %q (use event, stripe, server)", k)
		}
	}
	base := c.url
	if c.bare {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 1, fmt.Errorf("bare server: %w", err)
		}
		srv := &http.Server{Handler: BareServer(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		base = "http://" + ln.Addr().String()
	}
	d, err := NewDriver(DriverOptions{BaseURL: base, AllowRemote: c.allowRemote, Rate: c.rate, Burst: c.burst,
		Concurrency: c.concurrency, Count: c.count, Duration: c.duration, Timeout: c.timeout, Forwarded: c.xff,
		Backfill: c.backfill, AdminToken: c.adminToken, MaxRetries: c.retries})
	if err != nil {
		return 2, err
	}
	t := Target{SiteID: c.site, StripeEndpointID: c.endpoint, StripeSecret: c.secret, APIKey: c.apiKey}
	switch {
	case c.bare:
		t = Target{SiteID: "bare", StripeEndpointID: "bare", StripeSecret: "whsec_bare", APIKey: "bare"}
	case c.setup:
		got, err := d.Setup(ctx, c.adminToken, SiteSpec{Domain: opt.Domain, Name: "Loadgen demo", Currency: c.currency,
			Livemode: c.livemode, APIKeyRateLimit: c.keyLimit})
		if err != nil {
			return 1, err
		}
		t = *got
		b, _ := json.Marshal(t)
		fmt.Fprintf(stderr, "loadgen: created %s\n", b)
	case t.SiteID == "" && kinds[KindEvent]:
		return 2, errors.New("--site is required to send browser events (or use --setup, or --kinds without event)")
	}
	if !kinds[KindEvent] {
		t.SiteID = ""
	}
	if !kinds[KindStripe] {
		t.StripeEndpointID, t.StripeSecret = "", ""
	}
	if !kinds[KindServer] || t.APIKey == "" {
		t.APIKey = ""
		opt.APIShare = 0 // every purchase goes through Stripe, so the truth matches what is sent
	}
	sc, err := Generate(opt)
	if err != nil {
		return 2, err
	}
	if kinds[KindStripe] && (t.StripeEndpointID == "" || t.StripeSecret == "") && len(sc.Webhooks) > 0 {
		fmt.Fprintf(stderr, "loadgen: skipping %d Stripe deliveries: no --stripe-endpoint and --stripe-secret\n", len(sc.Webhooks))
	}
	if c.truth != "" {
		if err := writeTruth(c.truth, sc.Truth()); err != nil {
			return 1, err
		}
	}
	src := sc.Requests(t)
	if c.loop {
		src = Loop(sc, t)
	}
	// The stored rate reads the server's /metrics (loopback, or the admin token) and counts browser events only.
	measure := !c.bare && kinds[KindEvent] && c.drainWait > 0
	var before int64
	if measure {
		if before, err = d.StoredBefore(ctx, c.adminToken); err != nil {
			fmt.Fprintf(stderr, "loadgen: the stored rate is not measured: %v\n", err)
			measure = false
		}
	}
	began := time.Now()
	rep, err := d.Run(ctx, src)
	if err != nil {
		return 1, err
	}
	if measure && ctx.Err() == nil {
		if rep.Stored, err = d.MeasureStored(ctx, c.adminToken, before, began, 100*time.Millisecond, c.drainWait); err != nil {
			fmt.Fprintf(stderr, "loadgen: the stored rate is not measured: %v\n", err)
		}
	}
	if c.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1, err
		}
	} else if err := rep.WriteText(stdout); err != nil {
		return 1, err
	}
	if rep.Failed() {
		return 1, errors.New("some requests failed (see the report)")
	}
	return 0, nil
}

func writeTruth(path string, t *Truth) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	if err := t.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

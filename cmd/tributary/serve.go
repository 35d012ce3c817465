package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/config"
	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/destinations"
	"github.com/tributary/tributary/fx"
	"github.com/tributary/tributary/geo"
	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/metacache"
	"github.com/tributary/tributary/metrics"
	"github.com/tributary/tributary/ratelimit"
	"github.com/tributary/tributary/referrer"
	"github.com/tributary/tributary/s2s"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/sites"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/postgres"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/web"
)

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// duckdbOptions are the embedded store's DuckDB settings from the configuration.
func duckdbOptions(cfg config.Config) []duckdb.Option {
	return []duckdb.Option{duckdb.MemoryLimit(cfg.DuckDBMemoryLimitBytes())}
}

// openStores opens the configured backends; the stores report their background work through log.
func openStores(ctx context.Context, cfg config.Config, log *slog.Logger) (tributary.MetaStore, tributary.EventStore, *stats.Engine, func() error, error) {
	if cfg.MetaDSN != "" {
		// Several nodes: PostgreSQL for the MetaStore, ClickHouse for the facts (config requires both).
		pg, err := postgres.Open(ctx, cfg.MetaDSN)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		ch, err := clickhouse.Open(ctx, cfg.EventsDSN, clickhouse.Logger(log), siteZones(pg))
		if err != nil {
			pg.Close()
			return nil, nil, nil, nil, err
		}
		return pg, ch, stats.NewEngine(ch.DB(), stats.ClickHouse{}, stats.WithPaymentRecords(pg)), func() error { return errors.Join(ch.Close(), pg.Close()) }, nil
	}
	// A server reads the tables the dashboard reads before it listens; the other commands do not, nor a
	// server whose dashboard reads ClickHouse (those tables of the embedded store stay empty then).
	opts := append(duckdbOptions(cfg), duckdb.Logger(log))
	if cfg.EventsDSN == "" {
		opts = append(opts, duckdb.WarmCache())
	}
	st, err := duckdb.Open(ctx, cfg.DataDir, opts...)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if cfg.EventsDSN == "" {
		return st, st, stats.NewEngine(st.DB(), stats.DuckDB{}, stats.WithPaymentRecords(st)), st.Close, nil
	}
	ch, err := clickhouse.Open(ctx, cfg.EventsDSN, clickhouse.Logger(log), siteZones(st))
	if err != nil {
		st.Close()
		return nil, nil, nil, nil, err
	}
	closeBoth := func() error { return errors.Join(ch.Close(), st.Close()) }
	return st, ch, stats.NewEngine(ch.DB(), stats.ClickHouse{}, stats.WithPaymentRecords(st)), closeBoth, nil
}

// siteZones names the MetaStore's sites' time zones to the ClickHouse store, which sums visits by each
// site's local day.
func siteZones(meta tributary.MetaStore) clickhouse.Option {
	return clickhouse.Zones(func(ctx context.Context) (map[string]string, error) {
		sites, err := meta.Sites(ctx)
		if err != nil {
			return nil, err
		}
		out := make(map[string]string, len(sites))
		for _, s := range sites {
			out[s.ID] = s.Timezone
		}
		return out, nil
	})
}

// sharedLimiter is the MetaStore's token buckets when it keeps them (PostgreSQL, shared by every node),
// else nil: the server's in-memory buckets.
func sharedLimiter(meta tributary.MetaStore) ratelimit.Limiter {
	if l, ok := meta.(ratelimit.Limiter); ok {
		return l
	}
	return nil
}

// serveGOGC is the Go collector's target serve sets: the heap grows by a quarter of what is live before
// a collection. Go's default, twice what is live, was a third of the process under full-speed ingest;
// 1.5× peaked 2–31 MB higher (14 on average) over six 20 s bursts at full speed, where a quarter stored
// 0.79–1.04 of its events, pair by pair (median 0.985, mean 0.95; docs/benchmarks.md, Memory).
const serveGOGC = 25

// setGCPercent sets serveGOGC unless GOGC is in the environment, which wins.
func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGOGC)
	}
}

// serve runs the server until ctx is cancelled, then shuts down gracefully: stop accepting, drain
// requests, flush buffers, close stores. ready, when not nil, receives the bound address.
// onStart, when not nil, runs once the stores are open and before the server listens (the demo creates
// its owner there).
func serve(ctx context.Context, cfg config.Config, logOut io.Writer, ready chan<- string, onStart func(context.Context, tributary.MetaStore) error) error {
	log := newLogger(cfg, logOut)
	start := time.Now()
	setGCPercent()
	meta, events, engine, closeStores, err := openStores(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStores()
	if onStart != nil {
		if err := onStart(ctx, meta); err != nil {
			return err
		}
	}

	secret, err := meta.SetSettingIfAbsent(ctx, "cookieless_secret", tributary.RandomID(43))
	if err != nil {
		return fmt.Errorf("read cookieless secret: %w", err)
	}
	siteCache := ingest.NewSiteCache(meta, 30*time.Second, nil)
	ms := metrics.NewSet()
	writer := ingest.NewWriter(events, ingest.WriterOptions{Logger: log, Durable: cfg.DurableIngest(), Capacity: int(cfg.IngestBuffer),
		OnDrop: func(reason string) { ms.IngestWriteDropped.Inc(reason) }, OnFailure: func() { ms.IngestWriteFailures.Inc() }})
	pipeline := ingest.New(ingest.Options{Sites: siteCache, Writer: writer, Limiter: ingest.NewIPLimiter(30, 300), Secret: []byte(secret), Logger: log})
	recorder := ledger.New(meta, events)
	// Destinations (issue 22): the outbox rows are written with the ledger change that causes them.
	recorder.BeforeAppend = (&destinations.Outbox{Store: meta}).BeforeAppend
	// The handlers, the Stripe syncer and the rate refresher write through this wrapper, which keeps
	// the caches over the store fresh on this node: webhook endpoints, the ingest site cache, the
	// recorder's exchange rates.
	cached := metacache.New(meta, metacache.Options{SiteChanged: siteCache.Invalidate, RatesChanged: recorder.InvalidateRates})
	processor := &stripe.Processor{Meta: meta, Events: events, Ledger: recorder}
	// Stripe state kept by releases before the reconciliation is rebuilt once per site, before any
	// delivery is processed (it also corrects money those releases counted wrong).
	if all, err := meta.Sites(ctx); err != nil {
		return fmt.Errorf("list sites: %w", err)
	} else {
		for _, site := range all {
			if n, err := processor.Upgrade(ctx, site); err != nil {
				return fmt.Errorf("upgrade stripe state of site %s: %w", site.ID, err)
			} else if n > 0 {
				log.LogAttrs(ctx, slog.LevelInfo, "stripe state rebuilt for reconciliation", slog.String("site", site.ID), slog.Int("objects", n))
			}
		}
	}
	// The embedded store has one owner: deliveries a crashed run was handling are released at once
	// instead of waiting for their leases to end. Nodes sharing PostgreSQL must not: the other nodes'
	// leases are live; a dead node's are taken over when they end (--webhook-lease).
	if cfg.MetaDSN == "" {
		if n, err := meta.ReleaseLeases(ctx); err != nil {
			return fmt.Errorf("release webhook leases: %w", err)
		} else if n > 0 {
			log.LogAttrs(ctx, slog.LevelWarn, "resuming webhook deliveries left in processing by the previous run", slog.Int("deliveries", n))
		}
	}
	// Likewise the outbox rows the previous run was sending to ad platforms (each is sent again with
	// its platform's dedup key).
	if cfg.MetaDSN == "" {
		if _, err := meta.ReleaseOutboxLeases(ctx); err != nil {
			return fmt.Errorf("release destination outbox leases: %w", err)
		}
	}
	ms.WriterGauges(writer.Pending, writer.Capacity(), writer.Written)
	ms.WriterHealth(func() (bool, time.Duration) { h := writer.Health(); return h.Stuck, h.FailingFor })
	var yield func() bool
	if b, ok := meta.(interface{ IntakeBusy() bool }); ok {
		yield = b.IntakeBusy
	}
	worker := inbox.New(inbox.Options{Store: meta, Handler: processor.Handler(), BatchHandler: processor.BatchHandler(), Logger: log, Lease: cfg.WebhookLease, Yield: yield, Observe: func(status string, took time.Duration) {
		ms.WebhookProcessed.Inc(status)
		ms.WebhookProcessing.Observe(took.Seconds())
	}})
	worker.Start()
	defer worker.Close()
	ms.InboxGauges(inbox.NewBacklogCache(meta, 5*time.Second).Get)
	// Nodes sharing PostgreSQL must share the key that seals Stripe keys: there it must be given.
	var box *secretbox.Box
	switch {
	case cfg.SecretKey == "" && cfg.MetaDSN == "" && cfg.DataDir == "":
		box, err = secretbox.Ephemeral() // an in-memory store: nothing sealed outlives the process
	case cfg.SecretKey != "" || cfg.MetaDSN == "":
		box, err = secretbox.Load(cfg.SecretKey, cfg.DataDir)
	}
	if err != nil {
		return err
	}
	syncer := &stripe.Syncer{Meta: cached, Processor: processor, Box: box, APIURL: cfg.StripeAPIURL, BaseURL: cfg.BaseURL, Logger: log}
	dsender := &destinations.Sender{Meta: meta, Events: events, Box: box, Logger: log}
	dsent, dfailed := ms.Destinations(destinations.PendingGauge(meta, log))
	dsender.OnResult = func(d *tributary.Destination, status string) {
		if status == tributary.OutboxSent {
			dsent.Inc(d.ID, d.Type)
		} else {
			dfailed.Inc(d.ID, d.Type)
		}
	}
	srv := web.New(web.Options{
		Meta: cached, Events: events, Sites: &sites.Service{Meta: cached, Events: events}, Logger: log, BaseURL: cfg.BaseURL, AdminToken: cfg.AdminToken,
		SecureCookies: cfg.SecureCookies(), TrustedProxies: cfg.TrustedPrefixes(), MaxBodyBytes: cfg.MaxBodyBytes,
		Version: version, Collect: pipeline, Writer: writer, Ledger: recorder,
		ServerEvents: &s2s.Processor{Meta: cached, Events: events, Ledger: recorder, Now: time.Now}, Customers: &customers.Service{Meta: cached, Events: events},
		Intake: &inbox.Intake{Store: cached, Worker: worker}, Stats: engine, Metrics: ms, MetricsToken: cfg.MetricsToken, RateLimiter: sharedLimiter(meta),
		WebhookMaxBytes: cfg.WebhookMaxBytes, WebhookTolerance: cfg.WebhookTolerance, StripeIPAllowlist: cfg.StripeIPAllowlist,
		Stripe: syncer,

		// Conversions sent back to the ad platforms (issue 22).
		Destinations: dsender,
	})
	// Payment providers (and --referrer-exclude's hosts) are never a traffic source.
	referrer.SetExcluded(referrer.Exclusions(cfg.ReferrerExclude))
	if err := geo.Load(); err != nil {
		return err
	}
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	go relinkLoop(jobsCtx, meta, recorder, log)
	// Connected Stripe accounts: history imports, the Events-API catch-up and the daily re-list.
	go syncer.Run(jobsCtx, time.Minute)
	// Conversions sent back to the ad platforms, from the outbox.
	go dsender.Run(jobsCtx, 2*time.Second)
	// Off unless --rates-url is set; runs in the background, so a slow or absent network never delays start.
	stopRates := fx.NewRefresher(fx.RefresherOptions{URL: cfg.RatesURL, Interval: cfg.RatesRefresh, Store: cached, Logger: log,
		OnUpdate: func() {
			// Money stored before its rate was known is converted now (reporting fields only).
			if _, err := srv.ConvertPending(jobsCtx); err != nil {
				log.Warn("converting money waiting for exchange rates", slog.Any("error", err))
			}
		}}).Start(jobsCtx)
	defer stopRates()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server using the port? choose one with --listen)", cfg.Listen, err)
	}
	addr := ln.Addr().String()
	log.LogAttrs(ctx, slog.LevelInfo, "tributary ready",
		slog.String("url", displayURL(cfg, addr)), slog.String("data_dir", cfg.DataDir),
		slog.String("version", version), slog.Duration("startup", time.Since(start)))
	if ready != nil {
		ready <- addr
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.LogAttrs(sctx, slog.LevelWarn, "shutdown: requests still running", slog.Any("err", err))
	}
	stopJobs()
	worker.Close()
	if err := srv.Close(sctx); err != nil {
		return fmt.Errorf("flush buffers: %w", err)
	}
	log.LogAttrs(sctx, slog.LevelInfo, "stopped")
	return nil
}

func displayURL(cfg config.Config, addr string) string {
	if cfg.BaseURL != "" {
		return cfg.BaseURL
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "::" || host == "0.0.0.0" || strings.HasPrefix(host, "[::]") {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// relinkLoop links payments that arrived before their visitor's identify, once a minute.
func relinkLoop(ctx context.Context, meta tributary.MetaStore, rec *ledger.Recorder, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sites, err := meta.Sites(ctx)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "relink: list sites", slog.Any("err", err))
			continue
		}
		for _, st := range sites {
			n, err := rec.Relink(ctx, st)
			if err != nil {
				log.LogAttrs(ctx, slog.LevelWarn, "relink failed", slog.String("site", st.ID), slog.Any("err", err))
				continue
			}
			if n > 0 {
				log.LogAttrs(ctx, slog.LevelInfo, "payments linked after their visitor identified", slog.String("site", st.ID), slog.Int("payments", n))
			}
		}
	}
}

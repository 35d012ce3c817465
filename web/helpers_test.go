package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/metacache"
	"github.com/tributary/tributary/s2s"
	"github.com/tributary/tributary/sites"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/web"
)

var update = flag.Bool("update", false, "rewrite golden files")

const adminToken = "test-admin-token-0123456789"

var clock = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type env struct {
	t     testing.TB
	srv   *httptest.Server
	store *duckdb.Store
	web   *web.Server
}

// newEnv starts the whole HTTP stack on a fresh in-memory store with a fixed clock.
func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: logLevel}))
	now := func() time.Time { return clock }
	siteCache := ingest.NewSiteCache(st, time.Minute, now)
	writer := ingest.NewWriter(st, ingest.WriterOptions{Logger: log, Interval: 20 * time.Millisecond})
	pipeline := ingest.New(ingest.Options{Sites: siteCache, Writer: writer, Limiter: ingest.NewIPLimiter(1000, 1000), Secret: []byte("test-secret"), Logger: log})
	rec := ledger.New(st, st)
	worker := inbox.New(inbox.Options{Store: st, Handler: (&stripe.Processor{Meta: st, Events: st, Ledger: rec}).Handler(), Logger: log, Now: now, Poll: 50 * time.Millisecond})
	worker.Start()
	// As serve does: the wrapper keeps the site and rate caches fresh when the handlers write.
	meta := metacache.New(st, metacache.Options{SiteChanged: siteCache.Invalidate, RatesChanged: rec.InvalidateRates})
	w := web.New(web.Options{Logger: log, Meta: meta, Events: st, Sites: &sites.Service{Meta: meta, Events: st}, AdminToken: adminToken, Now: now, Version: "test", MaxBodyBytes: 64 << 10,
		Collect: pipeline, Writer: writer, Ledger: rec,
		ServerEvents: &s2s.Processor{Meta: meta, Events: st, Ledger: rec, Now: now}, Customers: &customers.Service{Meta: meta, Events: st}, Intake: &inbox.Intake{Store: meta, Worker: worker},
		Stats: stats.NewEngine(st.DB(), stats.DuckDB{}, stats.WithPaymentRecords(st))})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() {
		srv.Close()
		worker.Close()
		w.Close(context.Background())
		st.Close()
	})
	return &env{t: t, srv: srv, store: st, web: w}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (e *env) do(method, path, token, body string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

// logOut receives server logs; -v shows them.
var logOut io.Writer = io.Discard

func init() {
	if os.Getenv("TRIBUTARY_TEST_LOGS") != "" {
		logOut = os.Stderr
	}
}

// logLevel is debug with TRIBUTARY_TEST_LOGS=debug.
var logLevel = func() slog.Level {
	if os.Getenv("TRIBUTARY_TEST_LOGS") == "debug" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}()

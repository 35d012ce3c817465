// Package e2e runs Tributary end to end in one process: the real route table, ingest pipeline, batch
// writer, webhook inbox worker, Stripe processor, ledger and stats engine, on a DuckDB file in a
// temporary directory, driven only through HTTP the way a browser, Stripe and an operator drive a
// running server. The numbers it checks are worked out by hand in the tests, not by the code under test.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/geo"
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

const adminToken = "e2e-admin-token-0123456789abcdef"

// clock is the server's fixed "now": every event, payment and webhook signature of the scenarios is
// dated relative to it, so the numbers do not depend on the day the test runs.
var clock = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// server is one running Tributary wired as cmd/tributary's serve wires it (same components, same
// order), except for the fixed clock and short flush and poll intervals that keep the test fast.
type server struct {
	t     testing.TB
	url   string
	http  *http.Client
	store *duckdb.Store
	owner *owner // the logged-in owner, once setupOwner ran
}

func startServer(t testing.TB) *server {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := geo.Load(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logOut(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	now := func() time.Time { return clock }
	siteCache := ingest.NewSiteCache(st, 30*time.Second, now)
	writer := ingest.NewWriter(st, ingest.WriterOptions{Logger: log, Interval: 20 * time.Millisecond})
	// serve's limits (30/s, burst 300); every event of a scenario comes from 127.0.0.1.
	pipeline := ingest.New(ingest.Options{Sites: siteCache, Writer: writer, Limiter: ingest.NewIPLimiter(30, 300),
		Secret: []byte("e2e-cookieless-secret"), Logger: log})
	recorder := ledger.New(st, st)
	processor := &stripe.Processor{Meta: st, Events: st, Ledger: recorder}
	worker := inbox.New(inbox.Options{Store: st, Handler: processor.Handler(), Logger: log, Now: now, Poll: 50 * time.Millisecond})
	worker.Start()
	meta := metacache.New(st, metacache.Options{SiteChanged: siteCache.Invalidate, RatesChanged: recorder.InvalidateRates})
	srv := web.New(web.Options{Meta: meta, Events: st, Sites: &sites.Service{Meta: meta, Events: st}, Logger: log, AdminToken: adminToken, Now: now, Version: "e2e",
		Collect: pipeline, Writer: writer, Ledger: recorder,
		ServerEvents: &s2s.Processor{Meta: meta, Events: st, Ledger: recorder, Now: now}, Customers: &customers.Service{Meta: meta, Events: st}, Intake: &inbox.Intake{Store: meta, Worker: worker},
		Stats: stats.NewEngine(st.DB(), stats.DuckDB{}, stats.WithPaymentRecords(st))})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		worker.Close()
		srv.Close(context.Background())
		st.Close()
	})
	return &server{t: t, url: hs.URL, http: hs.Client(), store: st}
}

// logOut is where server logs go: nowhere, or stderr with TRIBUTARY_TEST_LOGS set.
func logOut() io.Writer {
	if os.Getenv("TRIBUTARY_TEST_LOGS") != "" {
		return os.Stderr
	}
	return io.Discard
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request with the admin token and the extra headers (an empty value removes a header)
// and returns the answer.
func (s *server) do(method, path string, body []byte, header map[string]string) response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k) // e.g. no Authorization for Stripe's own requests
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// api calls the JSON API as the admin, requires status want and decodes the answer into out (when not nil).
func (s *server) api(method, path string, in any, want int, out any) {
	s.t.Helper()
	var body []byte
	if in != nil {
		var err error
		if b, ok := in.([]byte); ok {
			body = b
		} else if body, err = json.Marshal(in); err != nil {
			s.t.Fatal(err)
		}
	}
	r := s.do(method, path, body, nil)
	if r.status != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(r.body))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, r.body, err)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// owner is a logged-in browser of the site's owner, for the server-rendered pages.
type owner struct {
	s *server
	c *http.Client
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// setupOwner creates the owner account through /setup, as a person does on first start.
func (s *server) setupOwner() *owner {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	o := &owner{s: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, page := o.get("/setup")
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("no CSRF token on /setup: %.300s", page)
	}
	form := url.Values{"email": {"owner@shop.example"}, "password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}, "csrf_token": {m[1]}}
	req, _ := http.NewRequest("POST", s.url+"/setup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.url)
	res, err := o.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("setup: status %d", res.StatusCode)
	}
	return o
}

func (o *owner) get(path string) (int, string) {
	o.s.t.Helper()
	res, err := o.c.Get(o.s.url + path)
	if err != nil {
		o.s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

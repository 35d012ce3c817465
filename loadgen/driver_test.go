package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		url         string
		allowRemote bool
		ok          bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://127.9.9.9:1/", false, true},
		{"http://localhost:8080", false, true},
		{"https://LOCALHOST", false, true},
		{"http://[::1]:8080", false, true},
		{"http://example.com", false, false},
		{"http://10.0.0.1:8080", false, false},
		{"http://8.8.8.8", false, false},
		{"http://localhost.example.com", false, false},
		{"http://127.0.0.1.nip.io", false, false},
		{"http://example.com", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
		{"http://127.0.0.1:8080/?x=1", false, false},
		{"http://user:pw@127.0.0.1:8080", false, false},
		{"", false, false},
	}
	for _, tc := range tests {
		_, err := CheckBaseURL(tc.url, tc.allowRemote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckBaseURL(%q, %v) = %v, want ok=%v", tc.url, tc.allowRemote, err, tc.ok)
		}
		if err != nil && tributary.ErrorField(err) != "url" {
			t.Errorf("CheckBaseURL(%q): error %v does not name the url field", tc.url, err)
		}
	}
	if _, err := NewDriver(DriverOptions{BaseURL: "http://203.0.113.7:8080"}); err == nil {
		t.Error("NewDriver accepted a remote server")
	}
}

// endless yields browser-like requests forever.
func endless() iter.Seq[*Request] {
	return func(yield func(*Request) bool) {
		for i := 0; ; i++ {
			if !yield(&Request{Kind: KindEvent, Path: PathEvent, Body: []byte(`{"n":1}`), ContentType: "text/plain"}) {
				return
			}
		}
	}
}

// recorder is a test server that counts what it receives.
type recorder struct {
	mu       sync.Mutex
	n        atomic.Int64
	requests []*http.Request
	bodies   [][]byte
	answer   func(w http.ResponseWriter, r *http.Request, n int64)
	keep     bool
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n := rec.n.Add(1)
	if rec.keep {
		rec.mu.Lock()
		rec.requests = append(rec.requests, r)
		rec.bodies = append(rec.bodies, body)
		rec.mu.Unlock()
	}
	if rec.answer != nil {
		rec.answer(w, r, n)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func newDriver(t *testing.T, srv *httptest.Server, opt DriverOptions) *Driver {
	t.Helper()
	opt.BaseURL = srv.URL
	d, err := NewDriver(opt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDriverStopsByCountAndReports(t *testing.T) {
	rec := &recorder{answer: func(w http.ResponseWriter, r *http.Request, n int64) {
		if n%10 == 0 {
			w.Header().Set(HeaderDropped, "bot")
		}
		w.WriteHeader(http.StatusAccepted)
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	d := newDriver(t, srv, DriverOptions{Count: 500, Concurrency: 8})
	rep, err := d.Run(context.Background(), endless())
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.n.Load(); got != 500 || rep.Requests != 500 || rep.Attempts != 500 {
		t.Fatalf("server saw %d, report %d requests / %d attempts; want 500", got, rep.Requests, rep.Attempts)
	}
	if rep.StopReason != StopCount || rep.Status["202"] != 500 || rep.Kinds[KindEvent].Requests != 500 {
		t.Errorf("report %+v", rep)
	}
	if rep.Dropped["bot"] != 50 {
		t.Errorf("dropped = %v, want bot=50", rep.Dropped)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max || rep.Rate <= 0 {
		t.Errorf("latency %+v, rate %v", rep.Latency, rep.Rate)
	}
	if rep.Failed() {
		t.Error("a clean run reports failure")
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "202=500") {
		t.Errorf("text report %q, %v", buf.String(), err)
	}
	if err := json.NewEncoder(&buf).Encode(rep); err != nil {
		t.Error(err)
	}
}

func TestDriverStopsByDurationAndPaces(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	defer srv.Close()
	tests := []struct {
		name     string
		rate     float64
		duration time.Duration
	}{
		{"unpaced", 0, 300 * time.Millisecond},
		{"paced 200/s", 200, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t, srv, DriverOptions{Rate: tc.rate, Duration: tc.duration, Concurrency: 4})
			start := time.Now()
			rep, err := d.Run(context.Background(), endless())
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < tc.duration || el > tc.duration+2*time.Second {
				t.Errorf("run took %v for a %v bound", el, tc.duration)
			}
			if rep.StopReason != StopDuration || rep.Requests == 0 {
				t.Errorf("stop %q after %d requests", rep.StopReason, rep.Requests)
			}
			if tc.rate > 0 {
				// The token bucket never lets more out than rate × time + burst.
				limit := int64(tc.rate*tc.duration.Seconds()) + int64(max(1, int(tc.rate/100)))
				if rep.Requests > limit {
					t.Errorf("%d requests at %v/s in %v; at most %d", rep.Requests, tc.rate, tc.duration, limit)
				}
				if rep.Requests < limit/4 {
					t.Errorf("%d requests at %v/s in %v: far below the target", rep.Requests, tc.rate, tc.duration)
				}
			}
		})
	}
}

func TestDriverStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	defer srv.Close()
	d := newDriver(t, srv, DriverOptions{Rate: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	rep, err := d.Run(ctx, endless())
	if err != nil {
		t.Fatal(err)
	}
	if rep.StopReason != StopCanceled || time.Since(start) > 2*time.Second {
		t.Errorf("stop %q after %v", rep.StopReason, time.Since(start))
	}
	if rep.Errors != 0 {
		t.Errorf("cancellation counted as %d errors: %v", rep.Errors, rep.ErrorSamples)
	}
}

func TestDriverExhaustsSource(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	defer srv.Close()
	sc := defaultScenario(t)
	d := newDriver(t, srv, DriverOptions{Concurrency: 8})
	target := Target{SiteID: "s"}
	rep, err := d.Run(context.Background(), sc.Requests(target))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(sc.Counts(target)[KindEvent]); rep.Requests != want || rep.StopReason != StopExhausted {
		t.Errorf("%d requests, stop %q; want %d, exhausted", rep.Requests, rep.StopReason, want)
	}
}

func TestDriverBacksOff(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"buffer full", http.StatusServiceUnavailable},
		{"rate limited", http.StatusTooManyRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{answer: func(w http.ResponseWriter, r *http.Request, n int64) {
				if n <= 3 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(tc.status)
					return
				}
				w.WriteHeader(http.StatusAccepted)
			}}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			d := newDriver(t, srv, DriverOptions{Count: 20, Concurrency: 1, MaxBackoff: 20 * time.Millisecond})
			rep, err := d.Run(context.Background(), endless())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Backoffs != 3 || rep.Retries != 3 || rep.Status["202"] != 20 || rep.Attempts != 23 {
				t.Errorf("backoffs %d retries %d status %v attempts %d; want 3, 3, 202=20, 23",
					rep.Backoffs, rep.Retries, rep.Status, rep.Attempts)
			}
		})
	}
	// With retries off the answer is final and the run fails.
	rec := &recorder{answer: func(w http.ResponseWriter, r *http.Request, n int64) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	d := newDriver(t, srv, DriverOptions{Count: 3, Concurrency: 1, MaxRetries: -1, MaxBackoff: time.Millisecond * 10})
	rep, _ := d.Run(context.Background(), endless())
	if rep.Status["503"] != 3 || !rep.Failed() {
		t.Errorf("status %v failed=%v", rep.Status, rep.Failed())
	}
}

func TestDriverRetryAfter(t *testing.T) {
	d := &Driver{opt: DriverOptions{MaxBackoff: 10 * time.Second}}
	tests := []struct {
		header  string
		attempt int
		want    time.Duration
	}{
		{"2", 0, 2 * time.Second},
		{"0", 0, 10 * time.Millisecond},
		{"", 0, 100 * time.Millisecond},
		{"", 2, 400 * time.Millisecond},
		{"", 30, 10 * time.Second},
		{"3600", 0, 10 * time.Second},
		{"soon", 1, 200 * time.Millisecond},
		{"-5", 0, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := d.retryAfter(tc.header, tc.attempt); got != tc.want {
			t.Errorf("retryAfter(%q, %d) = %v, want %v", tc.header, tc.attempt, got, tc.want)
		}
	}
}

func TestDriverHeaders(t *testing.T) {
	sc := defaultScenario(t)
	var reqs []*Request
	seen := map[string]bool{}
	for r := range sc.Requests(fullTarget) {
		if !seen[r.Kind] {
			seen[r.Kind] = true
			reqs = append(reqs, r)
		}
	}
	if len(reqs) != 3 {
		t.Fatalf("kinds %v, want event, stripe and server", seen)
	}
	clock := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name               string
		forwarded, backfil bool
	}{
		{"plain", false, false},
		{"forwarded and backfilled", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{keep: true}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			d := newDriver(t, srv, DriverOptions{Concurrency: 1, Forwarded: tc.forwarded, Backfill: tc.backfil,
				Now: func() time.Time { return clock }})
			if _, err := d.Run(context.Background(), func(yield func(*Request) bool) {
				for _, r := range reqs {
					if !yield(r) {
						return
					}
				}
			}); err != nil {
				t.Fatal(err)
			}
			if len(rec.requests) != 3 {
				t.Fatalf("server saw %d requests", len(rec.requests))
			}
			for i, r := range rec.requests {
				want := reqs[i]
				if r.Method != http.MethodPost || r.URL.Path != want.Path || !bytes.Equal(rec.bodies[i], want.Body) ||
					r.UserAgent() != want.UserAgent || r.Header.Get("Content-Type") != want.ContentType {
					t.Errorf("%s request arrived as %s %s UA %q CT %q", want.Kind, r.Method, r.URL.Path, r.UserAgent(), r.Header.Get("Content-Type"))
				}
				xff, bf := r.Header.Get("X-Forwarded-For"), r.Header.Get(HeaderBackfill)
				switch want.Kind {
				case KindEvent:
					if (xff == want.ClientIP) != tc.forwarded || (xff != "") != tc.forwarded {
						t.Errorf("X-Forwarded-For %q with forwarding %v", xff, tc.forwarded)
					}
					if tc.backfil {
						at, err := time.Parse(time.RFC3339Nano, bf)
						if err != nil || !at.Equal(want.At) {
							t.Errorf("backfill header %q, event at %v", bf, want.At)
						}
					} else if bf != "" {
						t.Errorf("backfill header %q sent without backfill", bf)
					}
				case KindStripe:
					if !strings.HasPrefix(r.URL.Path, PathStripeWebhook+fullTarget.StripeEndpointID) {
						t.Errorf("webhook to %s", r.URL.Path)
					}
					signed := verifyIndependently(t, r.Header.Get("Stripe-Signature"), fullTarget.StripeSecret, rec.bodies[i])
					if !signed.Equal(clock) {
						t.Errorf("signed at %v, want the send time %v", signed, clock)
					}
				case KindServer:
					if r.Header.Get("Authorization") != "Bearer "+fullTarget.APIKey {
						t.Errorf("authorization %q", r.Header.Get("Authorization"))
					}
				}
				if want.Kind != KindEvent && (xff != "" || bf != "") {
					t.Errorf("%s request carries browser-only headers", want.Kind)
				}
			}
		})
	}
}

func TestDriverRefusesForeignPaths(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	d := newDriver(t, srv, DriverOptions{Concurrency: 1})
	rep, err := d.Run(context.Background(), func(yield func(*Request) bool) {
		for _, p := range []string{"//evil.example/x", "relative", "@evil.example/"} {
			if !yield(&Request{Kind: KindEvent, Path: p}) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.n.Load() != 0 || rep.Errors != 3 {
		t.Errorf("server saw %d requests, %d errors; want 0 and 3", rec.n.Load(), rep.Errors)
	}
}

func TestDriverDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	d := newDriver(t, srv, DriverOptions{Count: 3, Concurrency: 1})
	rep, _ := d.Run(context.Background(), endless())
	if elsewhere.Load() != 0 || rep.Status["307"] != 3 {
		t.Errorf("redirect followed %d times, status %v", elsewhere.Load(), rep.Status)
	}
}

func TestBareServer(t *testing.T) {
	srv := httptest.NewServer(BareServer())
	defer srv.Close()
	for _, path := range []string{PathEvent, "/anything"} {
		resp, err := http.Post(srv.URL+path, "text/plain", strings.NewReader(strings.Repeat("x", 5000)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestHistogram(t *testing.T) {
	tests := []struct {
		name   string
		values func(i int) time.Duration
		n      int
	}{
		{"uniform µs", func(i int) time.Duration { return time.Duration(i+1) * time.Microsecond }, 10000},
		{"tiny", func(i int) time.Duration { return time.Duration(i % 100) }, 1000},
		{"wide", func(i int) time.Duration { return time.Duration(1) << (i % 40) }, 4000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			vals := make([]time.Duration, tc.n)
			for i := range vals {
				vals[i] = tc.values(i)
				h.record(vals[i])
			}
			sorted := append([]time.Duration(nil), vals...)
			sortDurations(sorted)
			for _, q := range []float64{0.5, 0.9, 0.99, 1} {
				exact := sorted[int(q*float64(tc.n)+0.999999)-1]
				got := h.quantile(q)
				if diff := float64(got - exact); diff < 0 && -diff > float64(exact)/64+1 || diff > float64(exact)/64+1 {
					t.Errorf("q%.2f = %v, exact %v: beyond 1/64", q, got, exact)
				}
			}
			if time.Duration(h.max) != sorted[len(sorted)-1] {
				t.Errorf("max %v, want %v", time.Duration(h.max), sorted[len(sorted)-1])
			}
		})
	}
	for i := range histBuckets {
		if histIndex(histLow(i)) != i || histIndex(histHigh(i)) != i {
			t.Fatalf("bucket %d: [%d, %d] maps to %d, %d", i, histLow(i), histHigh(i), histIndex(histLow(i)), histIndex(histHigh(i)))
		}
		if i > 0 && histLow(i) != histHigh(i-1)+1 {
			t.Fatalf("bucket %d does not follow bucket %d", i, i-1)
		}
	}
}

func sortDurations(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

func FuzzCheckBaseURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080", "http://localhost", "http://[::1]:1", "http://example.com",
		"http://127.0.0.1@evil.com", "http://evil.com#@127.0.0.1", "http://0x7f.1", "http://[::ffff:127.0.0.1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := CheckBaseURL(raw, false)
		if err != nil {
			return
		}
		if !isLoopback(u.Hostname()) || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			t.Fatalf("accepted %q (host %q)", raw, u.Hostname())
		}
		// What the driver builds from it stays on that host.
		req, err := http.NewRequest(http.MethodPost, u.String()+PathEvent, nil)
		if err == nil && req.URL.Hostname() != u.Hostname() {
			t.Fatalf("%q: requests go to %q", raw, req.URL.Hostname())
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "9999999999999999999", "1.5"} {
		f.Add(s, 0)
	}
	d := &Driver{opt: DriverOptions{MaxBackoff: 5 * time.Second}}
	f.Fuzz(func(t *testing.T, h string, attempt int) {
		if attempt < 0 {
			attempt = -attempt
		}
		got := d.retryAfter(h, attempt)
		if got < 10*time.Millisecond || got > 5*time.Second {
			t.Fatalf("retryAfter(%q, %d) = %v outside [10ms, 5s]", h, attempt, got)
		}
	})
}

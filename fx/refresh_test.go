package fx

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// memStore is a RateStore in memory that counts its writes.
type memStore struct {
	mu    sync.Mutex
	rates map[string]string // date|currency → per EUR
	puts  int
	err   error
}

func (m *memStore) PutExchangeRates(ctx context.Context, rates []tributary.ExchangeRate) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if m.rates == nil {
		m.rates = map[string]string{}
	}
	for _, r := range rates {
		m.rates[r.Date+"|"+r.Currency] = r.PerEUR
	}
	m.puts++
	return len(rates), nil
}

func (m *memStore) snapshot() (map[string]string, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.rates))
	for k, v := range m.rates {
		out[k] = v
	}
	return out, m.puts
}

// file is what the test server answers, changeable while it runs.
type file struct {
	mu     sync.Mutex
	status int
	body   []byte
	hits   atomic.Int32
}

func (f *file) set(status int, body []byte) {
	f.mu.Lock()
	f.status, f.body = status, body
	f.mu.Unlock()
}

func (f *file) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	f.mu.Lock()
	status, body := f.status, f.body
	f.mu.Unlock()
	w.WriteHeader(status)
	w.Write(body)
}

func serve(t *testing.T, status int, body []byte) (*file, string) {
	t.Helper()
	f := &file{status: status, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/stats/eurofxref/eurofxref-hist.csv?token=s3cret-token"
}

// zipped packs files (name → content) as the ECB packs eurofxref.csv into eurofxref.zip.
func zipped(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func parsed(t *testing.T, csv []byte) map[string]string {
	t.Helper()
	rates, err := ParseECB(bytes.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rates {
		out[r.Date+"|"+r.Currency] = r.PerEUR
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRefreshStoresRates(t *testing.T) {
	hist, daily := readFile(t, "eurofxref-hist.csv"), readFile(t, "eurofxref.csv")
	tests := []struct {
		name   string
		body   []byte
		want   []byte // the CSV whose rates must be stored
		latest string
	}{
		{"history file", hist, hist, "2019-04-10"},
		{"daily file", daily, daily, "2023-02-10"},
		{"the ECB's zip", zipped(t, map[string][]byte{"eurofxref.csv": daily}), daily, "2023-02-10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, u := serve(t, 200, tc.body)
			st := &memStore{}
			updates := 0
			r := NewRefresher(RefresherOptions{URL: u, Store: st, OnUpdate: func() { updates++ }})
			res, err := r.Refresh(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := parsed(t, tc.want)
			got, puts := st.snapshot()
			if !equalMaps(got, want) || res.Rates != len(want) || res.Latest != tc.latest || res.Unchanged || puts != 1 || updates != 1 {
				t.Fatalf("result %+v, %d rates stored in %d writes, %d updates; want %d rates up to %s, one write, one update",
					res, len(got), puts, updates, len(want), tc.latest)
			}
			// The same file again is not rewritten.
			res, err = r.Refresh(context.Background())
			if _, puts = st.snapshot(); err != nil || !res.Unchanged || res.Latest != tc.latest || puts != 1 || updates != 1 {
				t.Fatalf("unchanged file: %+v %v, %d writes, %d updates", res, err, puts, updates)
			}
		})
	}
}

func TestRefreshFailureKeepsRates(t *testing.T) {
	good := readFile(t, "eurofxref.csv")
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name   string
		status int
		body   []byte
		store  error
		code   string
	}{
		{"server error", 500, []byte("oops"), nil, tributary.EUNAVAILABLE},
		{"not found", 404, []byte("<html>Not Found</html>"), nil, tributary.EUNAVAILABLE},
		{"HTML instead of CSV", 200, []byte("<!doctype html><html><body>Rates</body></html>\n"), nil, tributary.EINVALID},
		{"bad date", 200, []byte("Date,USD,\nnot-a-date,1.0,\n"), nil, tributary.EINVALID},
		{"negative rate", 200, []byte("Date,USD,\n2026-11-20,-1.05,\n"), nil, tributary.EINVALID},
		{"EUR rate other than 1", 200, []byte("Date,EUR,USD,\n2026-11-20,1.5,1.05,\n"), nil, tributary.EINVALID},
		{"header only", 200, []byte("Date,USD,\n"), nil, tributary.EINVALID},
		{"too large", 200, append(append([]byte{}, good...), bytes.Repeat([]byte(" "), 4096)...), nil, tributary.ETOOLARGE},
		{"zip without CSV", 200, zipped(t, map[string][]byte{"README.txt": []byte("hi")}), nil, tributary.EINVALID},
		{"zip unpacking past the limit", 200, zipped(t, map[string][]byte{"eurofxref.csv": bytes.Repeat([]byte("0"), 8192)}), nil, tributary.ETOOLARGE},
		{"store fails", 200, readFile(t, "eurofxref-hist.csv"), &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "disk full"}, tributary.EUNAVAILABLE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, u := serve(t, 200, good)
			st := &memStore{}
			updates := 0
			r := NewRefresher(RefresherOptions{URL: u, Store: st, MaxBytes: 4096, OnUpdate: func() { updates++ }})
			if _, err := r.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			before, puts := st.snapshot()
			f.set(tc.status, tc.body)
			st.mu.Lock()
			st.err = tc.store
			st.mu.Unlock()
			_, err := r.Refresh(context.Background())
			if tributary.ErrorCode(err) != tc.code {
				t.Fatalf("error %v (code %q), want code %q", err, tributary.ErrorCode(err), tc.code)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the URL's query: %v", err)
			}
			after, putsAfter := st.snapshot()
			if !equalMaps(before, after) || putsAfter != puts || updates != 1 {
				t.Fatalf("a failed refresh changed the rates (%d → %d writes, %d updates)", puts, putsAfter, updates)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		r := NewRefresher(RefresherOptions{URL: srv.URL, Store: &memStore{}, Timeout: 50 * time.Millisecond})
		start := time.Now()
		_, err := r.Refresh(context.Background())
		if tributary.ErrorCode(err) != tributary.EUNAVAILABLE || time.Since(start) > 5*time.Second {
			t.Fatalf("hanging server: %v after %v", err, time.Since(start))
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL + "/rates.csv?token=s3cret-token"
		srv.Close()
		_, err := NewRefresher(RefresherOptions{URL: u, Store: &memStore{}}).Refresh(context.Background())
		if tributary.ErrorCode(err) != tributary.EUNAVAILABLE || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("closed server: %v", err)
		}
	})
}

// clock drives Run's waits by hand: each wait is reported on asked and ends when tick is sent.
type clock struct {
	asked chan time.Duration
	tick  chan time.Time
}

func newClock() *clock { return &clock{asked: make(chan time.Duration), tick: make(chan time.Time)} }

func (c *clock) after(d time.Duration) <-chan time.Time {
	c.asked <- d
	return c.tick
}

func (c *clock) wait(t *testing.T, want time.Duration) {
	t.Helper()
	select {
	case d := <-c.asked:
		if d != want {
			t.Fatalf("waits %v, want %v", d, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not come to wait %v", want)
	}
}

func TestRunSchedule(t *testing.T) {
	daily := readFile(t, "eurofxref.csv")
	f, u := serve(t, 200, daily)
	st := &memStore{}
	var logs bytes.Buffer
	var logMu sync.Mutex
	r := NewRefresher(RefresherOptions{URL: u, Store: st, Interval: 24 * time.Hour, RetryInterval: 10 * time.Minute,
		Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &logMu}, nil))})
	c := newClock()
	r.after = c.after
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()

	c.wait(t, 24*time.Hour) // fetched at once, then waits a day
	if f.hits.Load() != 1 {
		t.Fatalf("%d fetches at start", f.hits.Load())
	}
	f.set(503, []byte("maintenance"))
	c.tick <- time.Time{}
	c.wait(t, 10*time.Minute) // failed: retries sooner, the rates stay
	next := bytes.Replace(daily, []byte("10 February 2023"), []byte("13 February 2023"), 1)
	f.set(200, next)
	c.tick <- time.Time{}
	c.wait(t, 24*time.Hour)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	got, puts := st.snapshot()
	want := parsed(t, daily)
	for k, v := range parsed(t, next) {
		want[k] = v
	}
	if f.hits.Load() != 3 || puts != 2 || !equalMaps(got, want) {
		t.Fatalf("%d fetches, %d writes, %d rates; want 3 fetches, 2 writes, %d rates", f.hits.Load(), puts, len(got), len(want))
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "keeping the stored rates") || !strings.Contains(out, "latest_date=2023-02-13") {
		t.Fatalf("logs:\n%s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Fatalf("logs leak the URL's query:\n%s", out)
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestStartNeverBlocks(t *testing.T) {
	t.Run("slow server", func(t *testing.T) {
		release := make(chan struct{})
		started := make(chan struct{}, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		r := NewRefresher(RefresherOptions{URL: srv.URL, Store: &memStore{}, Logger: slog.New(slog.DiscardHandler)})
		begin := time.Now()
		stop := r.Start(context.Background())
		if time.Since(begin) > time.Second {
			t.Fatalf("Start took %v", time.Since(begin))
		}
		<-started // the fetch runs in the background
		stop()    // and stop cancels it
	})
	t.Run("no URL: off", func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			t.Error("a request was made without a URL")
			return nil, errors.New("no")
		})}
		st := &memStore{}
		stop := NewRefresher(RefresherOptions{Store: st, Client: client}).Start(context.Background())
		stop()
		if _, puts := st.snapshot(); puts != 0 {
			t.Fatalf("%d writes", puts)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

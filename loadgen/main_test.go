package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer speaks the server's wire contracts just enough to check what loadgen sends.
type fakeServer struct {
	t      *testing.T
	mu     sync.Mutex
	secret string
	counts map[string]int
	bad    []string
}

func (f *fakeServer) fail(format string) {
	f.mu.Lock()
	f.bad = append(f.bad, format)
	f.mu.Unlock()
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.counts[r.URL.Path]++
	secret := f.secret
	f.mu.Unlock()
	admin := r.Header.Get("Authorization") == "Bearer admin-tok"
	writeJSON := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch p := r.URL.Path; {
	case p == "/api/v1/sites" && admin:
		var in map[string]string
		_ = json.Unmarshal(body, &in)
		writeJSON(http.StatusCreated, map[string]string{"id": "site_1", "domain": in["domain"]})
	case p == "/api/v1/sites/site_1/api-keys" && admin:
		writeJSON(http.StatusCreated, map[string]string{"key": "trk_key1"})
	case p == "/api/v1/sites/site_1/stripe-endpoints" && admin:
		var in map[string]string
		_ = json.Unmarshal(body, &in)
		if in["mode"] != "test" || !strings.HasPrefix(in["signing_secret"], "whsec_") {
			writeJSON(http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "invalid", "message": "bad endpoint"}})
			return
		}
		f.mu.Lock()
		f.secret = in["signing_secret"]
		f.mu.Unlock()
		writeJSON(http.StatusCreated, map[string]string{"id": "ep_1", "url": "http://x/stripe/webhook/ep_1"})
	case p == "/api/v1/sites/site_1/revenue-events" && admin:
		writeJSON(http.StatusOK, map[string]string{"event_name": "purchase"})
	case p == PathEvent:
		var e eventBody
		if json.Unmarshal(body, &e) != nil || e.Site != "site_1" || r.Header.Get(HeaderBackfill) == "" {
			f.fail("event " + string(body))
		}
		w.WriteHeader(http.StatusAccepted)
	case p == PathStripeWebhook+"ep_1":
		if !validSignature(r.Header.Get("Stripe-Signature"), secret, body) {
			f.fail("signature")
			writeJSON(http.StatusBadRequest, map[string]any{})
			return
		}
		writeJSON(http.StatusOK, map[string]bool{"received": true})
	case p == PathServerEvents:
		if r.Header.Get("Authorization") != "Bearer trk_key1" {
			f.fail("server event auth")
		}
		writeJSON(http.StatusOK, map[string]bool{"processed": true})
	default:
		writeJSON(http.StatusNotFound, map[string]any{"error": map[string]string{"code": "not_found", "message": "no " + p}})
	}
}

// validSignature re-signs body at the header's own timestamp and wants it fresh.
func validSignature(header, secret string, body []byte) bool {
	ts, _, ok := strings.Cut(strings.TrimPrefix(header, "t="), ",")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || secret == "" {
		return false
	}
	at := time.Unix(unix, 0)
	return header == Sign(secret, body, at) && time.Since(at) < time.Minute
}

func TestMainSetupSendsEverything(t *testing.T) {
	f := &fakeServer{t: t, counts: map[string]int{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	truth := filepath.Join(t.TempDir(), "truth.json")
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"--url", srv.URL, "--setup", "--admin-token", "admin-tok",
		"--pageviews", "1500", "--days", "60", "--now", "2026-05-01T00:00:00Z", "--seed", "3",
		"--backfill", "--xff", "--json", "--truth", truth, "--concurrency", "4"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if len(f.bad) > 0 {
		t.Fatalf("server rejected: %v", f.bad[:min(len(f.bad), 3)])
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	o := DefaultOptions()
	o.Seed, o.Pageviews, o.Days, o.Now = 3, 1500, 60, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sc, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	want := sc.Counts(Target{SiteID: "s", StripeEndpointID: "e", StripeSecret: "w", APIKey: "k"})
	for kind, n := range want {
		if rep.Kinds[kind] == nil || rep.Kinds[kind].Requests != int64(n) {
			t.Errorf("%s: sent %+v, scenario has %d", kind, rep.Kinds[kind], n)
		}
	}
	if f.counts[PathEvent] != want[KindEvent] || f.counts[PathServerEvents] != want[KindServer] ||
		f.counts[PathStripeWebhook+"ep_1"] != want[KindStripe] {
		t.Errorf("server saw %v, want %v", f.counts, want)
	}
	b, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	var tr Truth
	if err := json.Unmarshal(b, &tr); err != nil || tr.Payments != len(sc.Payments) || tr.Seed != 3 {
		t.Errorf("truth file: %v, %d payments", err, tr.Payments)
	}
	if !strings.Contains(errOut.String(), `"site_id":"site_1"`) {
		t.Errorf("setup did not report the target: %s", errOut.String())
	}
}

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string // expected in stdout+stderr
	}{
		{"help", []string{"--help"}, 0, "Usage: tributary loadgen"},
		{"remote refused", []string{"--url", "http://example.com", "--site", "s"}, 2, "--allow-remote"},
		{"site required", []string{"--url", "http://127.0.0.1:1"}, 2, "--site is required"},
		{"unknown kind", []string{"--kinds", "event,bogus", "--site", "s"}, 2, "unknown kind"},
		{"bad now", []string{"--now", "yesterday", "--site", "s"}, 2, "RFC 3339"},
		{"bad flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"extra"}, 2, "unexpected argument"},
		{"setup without token", []string{"--setup", "--admin-token", "", "--url", "http://127.0.0.1:1"}, 1, "admin token"},
		{"unreachable server", []string{"--site", "s", "--url", "http://127.0.0.1:1", "--count", "3", "--pageviews", "50"}, 1, "errors"},
		{"bare ceiling", []string{"--bare", "--count", "300", "--pageviews", "500", "--kinds", "event,stripe,server"}, 0, "requests    300"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(context.Background(), tc.args, &out, &errOut)
			all := out.String() + errOut.String()
			if code != tc.code || !strings.Contains(all, tc.out) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s", code, tc.code, tc.out, all)
			}
		})
	}
}

func TestMainLoopKeepsGoing(t *testing.T) {
	srv := httptest.NewServer(BareServer())
	defer srv.Close()
	var out, errOut bytes.Buffer
	// 100 pageviews make scenarios of about 150 events: 1000 requests need several of them.
	code := Main(context.Background(), []string{"--url", srv.URL, "--site", "s", "--kinds", "event", "--pageviews", "100",
		"--loop", "--count", "1000", "--json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Requests != 1000 || rep.StopReason != StopCount {
		t.Errorf("report %+v, %v", rep, err)
	}
}

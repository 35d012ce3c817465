package web_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/metacache"
	"github.com/tributary/tributary/metrics"
	"github.com/tributary/tributary/s2s"
	"github.com/tributary/tributary/sites"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/web"
)

// newEnvMode is newEnv with the ingest ack mode chosen and the metrics set exposed.
func newEnvMode(t testing.TB, durable bool) (*env, *metrics.Set) { return newEnvWith(t, durable, nil) }

// newEnvWith is newEnvMode with the server's options adjusted by mod.
func newEnvWith(t testing.TB, durable bool, mod func(*web.Options)) (*env, *metrics.Set) {
	return newEnvDir(t, "", durable, mod)
}

// newEnvDir is newEnvWith on a store in dir ("" for memory).
func newEnvDir(t testing.TB, dir string, durable bool, mod func(*web.Options)) (*env, *metrics.Set) {
	t.Helper()
	st, err := duckdb.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: logLevel}))
	now := func() time.Time { return clock }
	ms := metrics.NewSet()
	siteCache := ingest.NewSiteCache(st, time.Minute, now)
	writer := ingest.NewWriter(st, ingest.WriterOptions{Logger: log, Interval: 20 * time.Millisecond, Durable: durable,
		OnDrop: func(r string) { ms.IngestWriteDropped.Inc(r) }, OnFailure: func() { ms.IngestWriteFailures.Inc() }})
	pipeline := ingest.New(ingest.Options{Sites: siteCache, Writer: writer, Limiter: ingest.NewIPLimiter(1000, 1000), Secret: []byte("test-secret"), Logger: log})
	rec := ledger.New(st, st)
	worker := inbox.New(inbox.Options{Store: st, Handler: (&stripe.Processor{Meta: st, Events: st, Ledger: rec}).Handler(), Logger: log, Now: now, Poll: 50 * time.Millisecond})
	meta := metacache.New(st, metacache.Options{SiteChanged: siteCache.Invalidate, RatesChanged: rec.InvalidateRates})
	opt := web.Options{Logger: log, Meta: meta, Events: st, Sites: &sites.Service{Meta: meta, Events: st}, AdminToken: adminToken, Now: now, Version: "test", MaxBodyBytes: 64 << 10, Metrics: ms,
		Collect: pipeline, Writer: writer, Ledger: rec,
		ServerEvents: &s2s.Processor{Meta: meta, Events: st, Ledger: rec, Now: now}, Customers: &customers.Service{Meta: meta, Events: st}, Intake: &inbox.Intake{Store: meta, Worker: worker},
		Stats: stats.NewEngine(st.DB(), stats.DuckDB{}, stats.WithPaymentRecords(st))}
	if mod != nil {
		mod(&opt) // a mod that sets an Intake without a Worker runs without the inbox worker
	}
	in, _ := opt.Intake.(*inbox.Intake)
	running := in != nil && in.Worker != nil
	if running {
		worker.Start()
	}
	w := web.New(opt)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() {
		srv.Close()
		if running {
			worker.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // a refusing store never flushes
		defer cancel()
		w.Close(ctx)
		st.Close()
	})
	return &env{t: t, srv: srv, store: st, web: w}, ms
}

// TestHostileBrowserIngest sends the hostile classes to POST /api/event — invalid UTF-8 and NUL bytes
// in every field a request controls, oversized values — and then proves ordinary traffic is still
// stored, in buffered and durable modes. Before, ?utm_source=%ff was accepted with 202 and then failed
// its batch forever (NOT NULL constraint failed: events.utm_source), losing every later event.
func TestHostileBrowserIngest(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable=%v", durable), func(t *testing.T) {
			e, _ := newEnvMode(t, durable)
			siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
			ev := func(name, url, extra string) string {
				return `{"site":"` + siteID + `","name":"` + name + `","url":"` + url + `","visitor_id":"AAAAAAAAAAAAAAAAAAAA"` + extra + `}`
			}
			tests := []struct {
				name, body string
				status     int
				stored     bool
			}{
				{"utm %ff", ev("pageview", "https://shop.example/?utm_source=%ff", ""), 202, true},
				{"every utm and click id %ff", ev("pageview", "https://shop.example/?utm_medium=%ff&utm_campaign=%fe%00&utm_term=%c3&utm_content=%00&gclid=%ff&ref=%ff", ""), 202, true},
				{"nul in utm", ev("pageview", "https://shop.example/?utm_source=a%00b", ""), 202, true},
				{"path %ff", ev("pageview", "https://shop.example/%ff%00/x", ""), 202, true},
				{"hash route", ev("pageview", "https://shop.example/#/%ff%00", ""), 202, true},
				{"raw invalid utf-8 in name", ev("sign\xffup", "https://shop.example/", ""), 202, true},
				{"nul in name", ev(`sign\u0000up`, "https://shop.example/", ""), 202, true},
				{"nul and invalid in props", ev("signup", "https://shop.example/", `,"props":{"k\u0000":"v\u0000`+"\xff"+`","`+"\xff"+`":"x"}`), 202, true},
				{"referrer %ff", ev("pageview", "https://shop.example/", `,"referrer":"https://ex%ffample.com/%ff?q=%00"`), 202, true},
				{"long utm", ev("pageview", "https://shop.example/?utm_source="+strings.Repeat("x", 1900), ""), 202, true},
				{"identify with nul", ev("identify", "https://shop.example/", `,"identity":"ann\u0000@example.com`+"\xff"+`"`), 202, false},
				{"70,000-char value", ev("pageview", "https://shop.example/?utm_source="+strings.Repeat("x", 70000), ""), 413, false},
			}
			want := 0
			for _, tc := range tests {
				r := e.event(tc.body, chromeUA, "text/plain")
				if r.status != tc.status {
					t.Fatalf("%s: status %d, want %d: %s %v", tc.name, r.status, tc.status, r.body, r.header)
				}
				if tc.stored {
					want++
				}
			}
			for i := 0; i < 5; i++ {
				if r := e.event(ev("pageview", "https://shop.example/ordinary", ""), chromeUA, "text/plain"); r.status != 202 || r.header.Get("X-Tributary-Dropped") != "" {
					t.Fatalf("ordinary event: %d %v", r.status, r.header)
				}
				want++
			}
			var n int64
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				n, _ = e.store.CountEvents(context.Background(), siteID, clock.Add(-time.Hour), clock.Add(time.Hour))
				if n >= int64(want) {
					break
				}
			}
			if n != int64(want) {
				t.Fatalf("stored %d events, want %d: a hostile event stopped the pipeline", n, want)
			}
			if r := e.do("GET", "/readyz", "", ""); r.status != 200 {
				t.Fatalf("readyz %d: %s", r.status, r.body)
			}
		})
	}
}

// TestHostileServerEvents sends the hostile classes to POST /api/v1/events: amounts at and past the
// int64 edges, negative purchases, floats in minor units, ancient and future timestamps, NUL bytes and
// oversized values. Each is a 400 naming the field (never a 5xx, never a stored payment), and ordinary
// events are still stored afterwards. Before, negative purchases were stored as payments, two
// purchases of 9223372036854775807 overflowed revenue, and years 1 and 1900 were counted.
func TestHostileServerEvents(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	purchase := func(id, amount string) string {
		return `{"event_id":"` + id + `","event_name":"purchase","event_type":"purchase","amount":` + amount + `,"currency":"USD"}`
	}
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"int64 max", purchase("a1", "9223372036854775807"), 400, "metadata.amount"},
		{"int64 max + 1", purchase("a2", "9223372036854775808"), 400, "metadata.amount"},
		{"past the ceiling", purchase("a3", "1000000000001"), 400, "metadata.amount"},
		{"negative purchase", purchase("a4", "-4999"), 400, "metadata.amount"},
		{"int64 min", purchase("a5", "-9223372036854775808"), 400, "metadata.amount"},
		{"float minor", purchase("a6", "49.99"), 400, "metadata.amount"},
		{"exponent", purchase("a7", "1e300"), 400, "metadata.amount"},
		{"billion-digit exponent", purchase("a7b", "1e999999999"), 400, "metadata.amount"},
		{"huge subscription", `{"event_id":"a8","event_name":"sub","event_type":"subscription","customer_id":"c","interval":"week","amount":9223372036854775807}`, 400, "metadata.amount"},
		{"negative in metadata", `{"event_id":"a9","event_name":"purchase","event_type":"purchase","metadata":{"amount":-1}}`, 400, "metadata.amount"},
		{"year 1", `{"event_id":"t1","event_name":"signup","timestamp":"0001-01-01T00:00:00Z"}`, 400, "timestamp"},
		{"year 1900", `{"event_id":"t2","event_name":"signup","timestamp":"1900-01-01T00:00:00Z"}`, 400, "timestamp"},
		{"year 9999", `{"event_id":"t3","event_name":"signup","timestamp":"9999-12-31T23:59:59Z"}`, 400, "timestamp"},
		{"nul in event_id", `{"event_id":"x\u0000y","event_name":"signup"}`, 400, "event_id"},
		{"nul in email", `{"event_id":"m1","event_name":"signup","email":"a\u0000@example.com"}`, 400, "email"},
		{"long customer_id", `{"event_id":"c1","event_name":"signup","customer_id":"` + strings.Repeat("c", 20000) + `"}`, 400, "customer_id"},
		{"long utm", `{"event_id":"u1","event_name":"signup","utm_source":"` + strings.Repeat("u", 20000) + `"}`, 400, "utm_source"},
		{"long referrer", `{"event_id":"r1","event_name":"signup","referrer":"https://x.example/` + strings.Repeat("r", 20000) + `"}`, 400, "referrer"},
		{"nul in event_name", `{"event_id":"n0","event_name":"sign\u0000up"}`, 400, "event_name"},
		{"nul in text is cleaned", `{"event_id":"n1","event_name":"signup","utm_source":"a\u0000b","metadata":{"k":"v\u0000"}}`, 200, ""},
		{"invalid utf-8 is cleaned", `{"event_id":"n2","event_name":"signup","utm_campaign":"` + "\xff" + `"}`, 200, ""},
		{"ceiling accepted", purchase("ok1", "1000000000000"), 200, ""},
		{"negative refund means a refund", `{"event_id":"ref1","event_name":"refund","event_type":"refund","amount":-500,"currency":"USD"}`, 200, ""},
		{"ordinary purchase", purchase("ok2", "4999"), 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/events", key, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.field != "" {
				if f := r.json(t)["error"].(map[string]any)["field"]; f != tc.field {
					t.Fatalf("field = %v, want %s: %s", f, tc.field, r.body)
				}
			}
		})
	}
	// In a batch, hostile events fail alone and the others are stored.
	batch := `{"events":[` + purchase("b1", "-1") + `,` + `{"event_id":"b2","event_name":"signup","timestamp":"1900-01-01T00:00:00Z"}` + `,` +
		`{"event_id":"b3","event_name":"signup","utm_source":"` + "\xff" + `"}` + `,` + purchase("b4", "9223372036854775807") + `]}`
	r := e.do("POST", "/api/v1/events/batch", key, batch)
	if m := r.json(t); r.status != 200 || m["processed"] != float64(1) || m["failed"] != float64(3) {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	entries, err := e.store.Ledger(context.Background(), siteID)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, en := range entries {
		if en.Amount > 1_000_000_000_000 || en.Amount < -1_000_000_000_000 {
			t.Fatalf("entry %s of %d stored", en.ID, en.Amount)
		}
		sum += en.Amount
	}
	if len(entries) != 3 || sum != 1_000_000_000_000+4999-500 {
		t.Fatalf("ledger = %d entries summing to %d, want the ceiling, 4999 and the -500 refund", len(entries), sum)
	}
}

// TestHostileQueries: bad dimensions and oversized filters at POST /api/v1/query are 400s naming the
// field, answered fast (event:props:* was a 500; a 3,000-deep or of regexes took 4 s).
func TestHostileQueries(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	deep := strings.Repeat(`["or",[`, 3000) + `["matches","visit:source",["(a+)+$"]]` + strings.Repeat(`]]`, 3000)
	tests := []struct {
		name, body, field string
	}{
		{"props wildcard", `{"site_id":"` + siteID + `","metrics":["pageviews"],"dimensions":["event:props:*"]}`, "dimensions[0]"},
		{"props backslash filter", `{"site_id":"` + siteID + `","metrics":["visitors"],"filters":[["is","event:props:\\",["x"]]]}`, "filters[0]"},
		{"3,000-deep or", `{"site_id":"` + siteID + `","metrics":["visitors"],"filters":[` + deep + `]}`, "filters[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := e.do("POST", "/api/v1/query", adminToken, tc.body)
			if r.status != 400 || time.Since(start) > time.Second {
				t.Fatalf("status %d after %s, want a fast 400: %s", r.status, time.Since(start), r.body)
			}
			if f := r.json(t)["error"].(map[string]any)["field"]; f != tc.field {
				t.Fatalf("field %v, want %s", f, tc.field)
			}
		})
	}
}

// TestHostileManagementInput: NUL characters in management API bodies, UI forms and path names are
// 400s (PostgreSQL refuses NUL in text, which made them 500s), and escaped backslashes are not NULs.
func TestHostileManagementInput(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"site name with NUL", "POST", "/api/v1/sites", `{"domain":"a.example","name":"A\u0000"}`, 400},
		{"patched name with NUL", "PATCH", "/api/v1/sites/" + siteID, `{"name":"\u0000"}`, 400},
		{"api key name with NUL", "POST", "/api/v1/sites/" + siteID + "/api-keys", `{"name":"k\u0000","scopes":["stats:read"]}`, 400},
		{"revenue event with NUL", "POST", "/api/v1/sites/" + siteID + "/revenue-events", `{"event_name":"order\u0000"}`, 400},
		{"event kind of a NUL name", "PUT", "/api/v1/sites/" + siteID + "/events/a%00b", `{"kind":"goal"}`, 400},
		{"escaped backslash is text", "POST", "/api/v1/sites", `{"domain":"b.example","name":"B \\u0000"}`, 201},
		{"deep JSON", "POST", "/api/v1/sites", strings.Repeat(`[`, 12000) + strings.Repeat("]", 12000), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(tc.method, tc.path, adminToken, tc.body); r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	b := newBrowser(e)
	_, page, _ := b.get("/setup")
	if st, _, _ := b.post("/setup", url.Values{"email": {"o@example.com\x00"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page)); st != 400 {
		t.Fatalf("setup form with a NUL byte: %d", st)
	}
}

// refusingStore is the embedded store with event writes failing, as on a full disk.
type refusingStore struct{ *duckdb.Store }

func (refusingStore) InsertEvents(context.Context, []tributary.Event) error {
	return errors.New("IO Error: No space left on device")
}

// TestReadyzShowsAStuckWriter: a store that answers pings but refuses every write leaves events
// piling up in memory; /readyz then answers 503 and /metrics says the writer is stuck.
func TestReadyzShowsAStuckWriter(t *testing.T) {
	var writer *ingest.Writer
	e, ms := newEnvWith(t, false, func(o *web.Options) {
		writer = ingest.NewWriter(refusingStore{o.Events.(*duckdb.Store)}, ingest.WriterOptions{Interval: 10 * time.Millisecond, StuckAfter: 100 * time.Millisecond})
		o.Writer = writer
	})
	ms.WriterHealth(func() (bool, time.Duration) { h := writer.Health(); return h.Stuck, h.FailingFor })
	if r := e.do("GET", "/readyz", "", ""); r.status != 200 {
		t.Fatalf("readyz before: %d %s", r.status, r.body)
	}
	if err := writer.Enqueue(context.Background(), tributary.Event{SiteID: "s", Name: "pageview"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	r := e.do("GET", "/readyz", "", "")
	if r.status != 503 || !strings.Contains(string(r.body), "ingest writer stuck") || strings.Contains(string(r.body), "No space") {
		t.Fatalf("readyz while writes fail: %d %s", r.status, r.body)
	}
	if m := e.do("GET", "/metrics", "", ""); !strings.Contains(string(m.body), "tributary_ingest_writer_stuck 1\n") {
		t.Fatalf("metrics do not show the stuck writer:\n%s", m.body)
	}
}

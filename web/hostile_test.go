package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/metrics"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/web"
)

// newEnvMode is newEnv with the ingest ack mode chosen and the metrics set exposed.
func newEnvMode(t testing.TB, durable bool) (*env, *metrics.Set) {
	t.Helper()
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: logLevel}))
	now := func() time.Time { return clock }
	ms := metrics.NewSet()
	sites := ingest.NewSiteCache(st, time.Minute, now)
	writer := ingest.NewWriter(st, ingest.WriterOptions{Logger: log, Interval: 20 * time.Millisecond, Durable: durable,
		OnDrop: func(r string) { ms.IngestWriteDropped.Inc(r) }, OnFailure: func() { ms.IngestWriteFailures.Inc() }})
	pipeline := ingest.New(ingest.Options{Sites: sites, Writer: writer, Store: st, Limiter: ingest.NewIPLimiter(1000, 1000), Secret: []byte("test-secret"), Logger: log})
	rec := ledger.New(st, st)
	worker := inbox.New(inbox.Options{Store: st, Handler: (&stripe.Processor{Meta: st, Events: st, Ledger: rec}).Handler(), Logger: log, Now: now, Poll: 50 * time.Millisecond})
	worker.Start()
	w := web.New(web.Options{Logger: log, Meta: st, Events: st, AdminToken: adminToken, Now: now, Version: "test", MaxBodyBytes: 64 << 10, Metrics: ms,
		Pipeline: pipeline, Writer: writer, Sites: sites, Ledger: rec, Inbox: worker, Stats: stats.NewEngine(st.DB(), stats.DuckDB{}, stats.WithSync(st.SyncVisits), stats.WithChanges(st.Subscribe))})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() {
		srv.Close()
		worker.Close()
		w.Close(context.Background())
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

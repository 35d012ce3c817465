package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/destinations"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/metrics"
	"github.com/tributary/tributary/s2s"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/sites"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/web"
)

var dlvID = regexp.MustCompile(`dlv_[0-9a-f]{24}`)

// destEnv is the HTTP stack with destinations on, a sender on the test's clock, and a receiver for the
// generic webhook.
type destEnv struct {
	*env
	rec    *ledger.Recorder
	sender *destinations.Sender
	hooks  []string
	mu     sync.Mutex
	hook   *httptest.Server
	now    time.Time
}

func newDestEnv(t *testing.T) *destEnv {
	t.Helper()
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &destEnv{now: clock}
	e.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.hooks = append(e.hooks, string(b))
		e.mu.Unlock()
	}))
	now := func() time.Time { return e.now }
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: logLevel}))
	e.rec = ledger.New(st, st)
	e.rec.BeforeAppend = (&destinations.Outbox{Store: st, Now: now}).BeforeAppend
	ms := metrics.NewSet()
	sent, failed := ms.Destinations(destinations.PendingGauge(st, log))
	e.sender = &destinations.Sender{Meta: st, Events: st, Box: box, Now: now, Logger: log, OnResult: func(d *tributary.Destination, status string) {
		if status == tributary.OutboxSent {
			sent.Inc(d.ID, d.Type)
		} else {
			failed.Inc(d.ID, d.Type)
		}
	}}
	w := web.New(web.Options{Logger: log, Meta: st, Events: st, Sites: &sites.Service{Meta: st, Events: st}, AdminToken: adminToken, Now: now, Version: "test", MaxBodyBytes: 64 << 10,
		Ledger: e.rec, Metrics: ms, Destinations: e.sender, ServerEvents: &s2s.Processor{Meta: st, Events: st, Ledger: e.rec, Now: now}})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() {
		srv.Close()
		e.hook.Close()
		w.Close(context.Background())
		st.Close()
	})
	e.env = &env{t: t, srv: srv, store: st, web: w}
	return e
}

func TestDestinationsAPIValidation(t *testing.T) {
	e := newDestEnv(t)
	site := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example","currency":"EUR"}`).json(t)["id"].(string)
	base := "/api/v1/sites/" + site + "/destinations"
	cases := []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"unknown type", base, `{"type":"myspace","secret":"x"}`, 400, "type"},
		{"missing secret", base, `{"type":"meta","config":{"pixel_id":"1"}}`, 400, "secret"},
		{"missing pixel", base, `{"type":"meta","secret":"tok"}`, 400, "config.pixel_id"},
		{"unknown setting", base, `{"type":"meta","secret":"tok","config":{"pixel_id":"1","colour":"red"}}`, 400, "config.colour"},
		{"bad url", base, `{"type":"webhook","secret":"s","config":{"url":"ftp://x"}}`, 400, "config.url"},
		{"google secret shape", base, `{"type":"google_ads","secret":"just-a-string","config":{"customer_id":"1","conversion_action":"2","client_id":"c"}}`, 400, "secret"},
		{"unknown field", base, `{"type":"meta","secret":"tok","config":{"pixel_id":"1"},"extra":1}`, 400, ""},
		{"unknown site", "/api/v1/sites/nope/destinations", `{"type":"meta","secret":"tok","config":{"pixel_id":"1"}}`, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, adminToken, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.field != "" {
				if got := r.json(t)["error"].(map[string]any)["field"]; got != tc.field {
					t.Fatalf("field %v, want %s: %s", got, tc.field, r.body)
				}
			}
		})
	}
	if r := e.do("POST", base, "", `{"type":"meta","secret":"tok","config":{"pixel_id":"1"}}`); r.status != 401 {
		t.Fatalf("without a token: %d", r.status)
	}
	if r := e.do("GET", base, adminToken, ""); r.status != 200 || !strings.Contains(string(r.body), `"destinations":[]`) {
		t.Fatalf("nothing created: %d %s", r.status, r.body)
	}
}

// TestDestinationsAPIEndToEnd: a webhook destination created through the API gets a linked payment
// and its refund; the API shows the delivery log (never the secret), replays a delivery, and /metrics
// counts per destination.
func TestDestinationsAPIEndToEnd(t *testing.T) {
	e := newDestEnv(t)
	ctx := context.Background()
	r := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example","currency":"EUR"}`)
	siteID := r.json(t)["id"].(string)
	r = e.do("POST", "/api/v1/sites/"+siteID+"/destinations", adminToken, `{"type":"webhook","name":"Zapier","secret":"whsec-top-secret","config":{"url":"`+e.hook.URL+`"}}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	destID := r.json(t)["id"].(string)
	norm := func(b []byte) []byte {
		s := strings.ReplaceAll(string(b), destID, "DEST_ID")
		s = strings.ReplaceAll(s, siteID, "SITE_ID")
		s = strings.ReplaceAll(s, e.hook.URL, "HOOK_URL")
		// Row ids derive from the (random) destination id.
		seen := map[string]string{}
		return []byte(dlvID.ReplaceAllStringFunc(s, func(id string) string {
			if seen[id] == "" {
				seen[id] = fmt.Sprintf("DLV_%d", len(seen)+1)
			}
			return seen[id]
		}))
	}
	golden(t, "destination_create.json", norm(r.body))

	site, err := e.store.Site(ctx, siteID)
	if err != nil {
		t.Fatal(err)
	}
	paidAt := clock.Add(-time.Hour)
	if err := e.store.InsertEvents(ctx, []tributary.Event{{SiteID: siteID, Timestamp: paidAt.Add(-10 * time.Minute), Name: "pageview", Source: "browser",
		VisitorID: "v1", SessionID: "s1", Hostname: "shop.example", Path: "/", Channel: "Paid Search", ReferrerSource: "Google", ClickIDPlatform: "google_ads", ClickID: "gclid-9"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rec.Link(ctx, site, ledger.Payment{SiteID: siteID, PaymentID: "pi_9", At: paidAt, VisitorID: "v1", SessionID: "s1", Source: "api"}); err != nil {
		t.Fatal(err)
	}
	e.now = paidAt
	must(t, e.rec.Record(ctx, site, []tributary.LedgerEntry{{ID: "pay:pi_9", SiteID: siteID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_9",
		OccurredAt: paidAt, Amount: 12000, Currency: "EUR", Source: "api"}}, nil))
	must(t, e.rec.Record(ctx, site, []tributary.LedgerEntry{{ID: "refund:re_9", SiteID: siteID, Livemode: true, Kind: tributary.EntryRefund, PaymentID: "pi_9",
		OccurredAt: paidAt, Amount: -2000, Currency: "EUR", Source: "api"}}, nil))
	e.now = clock
	if _, err := e.sender.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.hooks) != 2 {
		t.Fatalf("webhook got %d posts", len(e.hooks))
	}
	r = e.do("GET", "/api/v1/sites/"+siteID+"/destinations/"+destID, adminToken, "")
	if r.status != 200 || strings.Contains(string(r.body), "whsec") || strings.Contains(string(r.body), "v1:") {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	var got struct {
		Deliveries []tributary.DestinationDelivery `json:"deliveries"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	golden(t, "destination_get.json", norm(r.body))
	r = e.do("POST", "/api/v1/sites/"+siteID+"/destinations/"+destID+"/deliveries/"+got.Deliveries[0].ID+"/replay", adminToken, "")
	if r.status != 200 || r.json(t)["status"] != "pending" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/sites/"+siteID+"/destinations/"+destID+"/deliveries/nope/replay", adminToken, ""); r.status != 404 {
		t.Fatalf("replay of nothing: %d", r.status)
	}
	r = e.do("GET", "/metrics", adminToken, "")
	for _, want := range []string{
		`tributary_destination_sent_total{destination="` + destID + `",type="webhook"} 2`,
		`tributary_destination_pending{destination="` + destID + `",type="webhook"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if _, err := e.sender.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.hooks) != 3 || e.hooks[2] != e.hooks[1] && e.hooks[2] != e.hooks[0] {
		t.Fatalf("replay sent %d posts", len(e.hooks))
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"consent_required":true}`, 200, `{"consent_required":true,"attribution_model":"last_non_direct"}`},
		{`{"attribution_model":"First_Touch"}`, 200, `{"consent_required":true,"attribution_model":"first_touch"}`},
		{`{"attribution_model":"most_recent"}`, 400, `"field":"attribution_model"`},
		{`{}`, 400, `consent_required`},
	} {
		r = e.do("PUT", "/api/v1/sites/"+siteID+"/destination-settings", adminToken, tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Fatalf("settings %s: %d %s", tc.body, r.status, r.body)
		}
	}
	if r := e.do("DELETE", "/api/v1/sites/"+siteID+"/destinations/"+destID, adminToken, ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/sites/"+siteID+"/destinations/"+destID, adminToken, ""); r.status != 404 {
		t.Fatalf("after delete: %d", r.status)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDestinationsPage: the settings page links the destinations page, where the owner adds a
// destination (the credential never shows again), sees a failure with its error, replays it and
// removes the destination.
func TestDestinationsPage(t *testing.T) {
	e := newDestEnv(t)
	b := newBrowser(e.env)
	_, page, _ := b.get("/setup")
	if st, _, _ := b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page)); st != http.StatusSeeOther {
		t.Fatalf("setup = %d", st)
	}
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example","currency":"EUR"}`).json(t)["id"].(string)
	_, page, _ = b.get("/sites/" + siteID + "/settings")
	if !strings.Contains(page, `href="/sites/`+siteID+`/destinations"`) {
		t.Fatal("the settings page does not link the destinations")
	}
	st, page, _ := b.get("/sites/" + siteID + "/destinations")
	if st != 200 || !strings.Contains(page, "No destinations yet") {
		t.Fatalf("empty page: %d", st)
	}
	tok := b.token(page)
	if st, body, _ := b.post("/sites/"+siteID+"/destinations", url.Values{"type": {"meta"}, "secret": {"tok"}}, tok); st != 400 || !strings.Contains(body, "pixel_id") {
		t.Fatalf("without pixel id: %d", st)
	}
	e.hook.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", 410) })
	st, _, h := b.post("/sites/"+siteID+"/destinations", url.Values{"type": {"webhook"}, "name": {"n8n"}, "config": {"url=" + e.hook.URL + "\n"}, "secret": {"very-secret-value"}}, tok)
	if st != http.StatusSeeOther || h.Get("Location") != "/sites/"+siteID+"/destinations" {
		t.Fatalf("add: %d %s", st, h.Get("Location"))
	}
	ctx := context.Background()
	site, _ := e.store.Site(ctx, siteID)
	e.now = clock.Add(-time.Hour)
	must(t, e.rec.Record(ctx, site, []tributary.LedgerEntry{{ID: "pay:pi_1", SiteID: siteID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_1",
		OccurredAt: clock.Add(-time.Hour), Amount: 500, Currency: "EUR", Source: "api"}}, nil))
	e.now = clock
	if _, err := e.sender.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	_, page, _ = b.get("/sites/" + siteID + "/destinations")
	for _, want := range []string{"n8n", "failed 1", "Last error: webhook answered 410", "pay:pi_1", ">Replay<"} {
		if !strings.Contains(page, want) {
			t.Fatalf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "very-secret-value") {
		t.Fatal("the credential is shown")
	}
	dests, _ := e.store.Destinations(ctx, siteID)
	rows, _ := e.store.DestinationDeliveries(ctx, siteID, dests[0].ID, 10)
	if st, _, _ := b.post("/sites/"+siteID+"/destinations/"+dests[0].ID+"/deliveries/"+rows[0].ID+"/replay", url.Values{}, tok); st != http.StatusSeeOther {
		t.Fatalf("replay: %d", st)
	}
	if r, _ := e.store.DestinationDelivery(ctx, siteID, dests[0].ID, rows[0].ID); r.Status != tributary.OutboxPending {
		t.Fatalf("after replay: %+v", r)
	}
	if st, _, _ := b.post("/sites/"+siteID+"/destinations/consent", url.Values{"consent_required": {"1"}}, tok); st != http.StatusSeeOther {
		t.Fatalf("consent: %d", st)
	}
	if on, _ := e.store.ConsentRequired(ctx, siteID); !on {
		t.Fatal("consent switch not stored")
	}
	if st, _, _ := b.post("/sites/"+siteID+"/destinations/"+dests[0].ID+"/delete", url.Values{}, tok); st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if _, page, _ = b.get("/sites/" + siteID + "/destinations"); !strings.Contains(page, "No destinations yet") {
		t.Fatal("not removed")
	}
}

// TestDestinationsPatch: only the fields sent change; a config key sent empty is removed; a refused
// change changes nothing; a rotated secret signs the next delivery; a disabled destination gets nothing.
func TestDestinationsPatch(t *testing.T) {
	e := newDestEnv(t)
	ctx := context.Background()
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example","currency":"EUR"}`).json(t)["id"].(string)
	r := e.do("POST", "/api/v1/sites/"+siteID+"/destinations", adminToken, `{"type":"meta","secret":"tok","config":{"pixel_id":"1","test_event_code":"T1"}}`)
	meta := r.json(t)["id"].(string)
	path := "/api/v1/sites/" + siteID + "/destinations/" + meta
	cases := []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"Pixel"}`, 200, `"name":"Pixel","config":{"pixel_id":"1","test_event_code":"T1"},"enabled":true`},
		{`{"config":{"test_event_code":""}}`, 200, `"name":"Pixel","config":{"pixel_id":"1"},"enabled":true`},
		{`{"config":{"pixel_id":""}}`, 400, `"field":"config.pixel_id"`},
		{`{"config":{"colour":"red"}}`, 400, `"field":"config.colour"`},
		{`{"secret":""}`, 400, `"field":"secret"`},
		{`{"enabled":false}`, 200, `"name":"Pixel","config":{"pixel_id":"1"},"enabled":false`},
	}
	for _, tc := range cases {
		r := e.do("PATCH", path, adminToken, tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Fatalf("PATCH %s = %d %s, want %d with %s", tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	if r := e.do("PATCH", "/api/v1/sites/"+siteID+"/destinations/nope", adminToken, `{"name":"x"}`); r.status != 404 {
		t.Fatalf("unknown destination: %d", r.status)
	}
	r = e.do("POST", "/api/v1/sites/"+siteID+"/destinations", adminToken, `{"type":"webhook","secret":"old-secret","config":{"url":"`+e.hook.URL+`"}}`)
	hook := r.json(t)["id"].(string)
	var sigs []string
	e.hook.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(destinations.SignatureHeader)
		for _, secret := range []string{"old-secret", "new-secret"} {
			if destinations.Sign(secret, e.now, b) == sig {
				sigs = append(sigs, secret)
			}
		}
	})
	if r := e.do("PATCH", "/api/v1/sites/"+siteID+"/destinations/"+hook, adminToken, `{"secret":"new-secret"}`); r.status != 200 || strings.Contains(string(r.body), "new-secret") {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	site, _ := e.store.Site(ctx, siteID)
	e.now = clock.Add(-time.Hour)
	must(t, e.rec.Record(ctx, site, []tributary.LedgerEntry{{ID: "pay:pi_1", SiteID: siteID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_1",
		OccurredAt: clock.Add(-time.Hour), Amount: 500, Currency: "EUR", Source: "api"}}, nil))
	e.now = clock
	if _, err := e.sender.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 1 || sigs[0] != "new-secret" {
		t.Fatalf("signed with %v", sigs)
	}
	if rows, _ := e.store.DestinationDeliveries(ctx, siteID, meta, 10); len(rows) != 0 {
		t.Fatalf("the disabled destination got rows: %+v", rows)
	}
}

// TestDestinationsFromServerEvents: a purchase posted to the server-to-server API goes through the
// same outbox: its row is written with the ledger entry and sent with the visit's click id.
func TestDestinationsFromServerEvents(t *testing.T) {
	e := newDestEnv(t)
	ctx := context.Background()
	siteID, key := e.siteWithKey("USD", "events:write")
	var bodies []string
	e.hook.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
	})
	if r := e.do("POST", "/api/v1/sites/"+siteID+"/destinations", adminToken, `{"type":"webhook","secret":"s","config":{"url":"`+e.hook.URL+`"}}`); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	must(t, e.store.InsertEvents(ctx, []tributary.Event{{SiteID: siteID, Timestamp: clock.Add(-time.Hour), Name: "pageview", Source: "browser",
		VisitorID: "v1", SessionID: "s1", Hostname: "shop.example", Path: "/", Channel: "Paid Search", ReferrerSource: "Google", ClickIDPlatform: "google_ads", ClickID: "gclid-s2s"}}))
	r := e.do("POST", "/api/v1/events", key, `{"event_id":"order-1","event_name":"order","event_type":"purchase","amount":4999,"currency":"usd","visitor_id":"v1","session_id":"s1"}`)
	if r.status != 200 {
		t.Fatalf("s2s: %d %s", r.status, r.body)
	}
	e.now = clock.Add(10 * time.Second)
	if _, err := e.sender.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 1 || !strings.Contains(bodies[0], `"amount":49.99,"currency":"USD"`) || !strings.Contains(bodies[0], `"id":"gclid-s2s"`) {
		t.Fatalf("webhook got %q", bodies)
	}
}

// TestDestinationsWithoutSealingKey: a node without a sealing key (PostgreSQL without --secret-key)
// refuses to store a credential, saying what to do, rather than storing it in clear or failing later.
func TestDestinationsWithoutSealingKey(t *testing.T) {
	e := newDestEnv(t)
	e.sender.Box = nil
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	r := e.do("POST", "/api/v1/sites/"+siteID+"/destinations", adminToken, `{"type":"meta","secret":"tok","config":{"pixel_id":"1"}}`)
	if r.status != 409 || !strings.Contains(string(r.body), "--secret-key") {
		t.Fatalf("create without a key: %d %s", r.status, r.body)
	}
}

package destinations_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/destinations"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/reconcile"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/store/duckdb"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

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

// fake is every platform at once: it checks each request against the platform's schema, records it,
// and answers what the test asks for (a queue of status codes, then 200).
type fake struct {
	t   *testing.T
	mu  sync.Mutex
	log []string
	// answers are popped per request; empty means 200.
	answers []int
	// accepted counts accepted conversions by the platform's dedup key, as the platform would.
	accepted map[string]int
	// converted is each Google Ads conversion's time by order id.
	converted map[string]time.Time
	// delay holds each request this long before it is answered, and inflight/maxInflight count the
	// requests being answered at once (the sender's concurrency).
	delay                 time.Duration
	inflight, maxInflight atomic.Int32
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for m := f.maxInflight.Load(); n > m && !f.maxInflight.CompareAndSwap(m, n); m = f.maxInflight.Load() {
	}
	time.Sleep(f.delay)
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/oauth/token" {
		form, err := url.ParseQuery(string(b))
		if err != nil || form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt-1" || form.Get("client_secret") != "cs-1" || form.Get("client_id") != "cid-1" {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		fmt.Fprint(w, `{"access_token":"at-1","expires_in":3599,"token_type":"Bearer"}`)
		return
	}
	headers := []string{}
	for _, h := range []string{"Access-Token", "Authorization", "Developer-Token", "Login-Customer-Id", "Tributary-Signature", "Tributary-Delivery", "Tributary-Event"} {
		if v := r.Header.Get(h); v != "" {
			headers = append(headers, h+": "+v)
		}
	}
	f.check(r, b)
	f.log = append(f.log, fmt.Sprintf("%s %s\n%s\n%s\n", r.Method, r.URL.RequestURI(), strings.Join(headers, "\n"), indent(b)))
	code := 200
	if len(f.answers) > 0 {
		code, f.answers = f.answers[0], f.answers[1:]
	}
	if code != 200 {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"fake answered %d"}}`, code)
		return
	}
	var key string
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	switch {
	case strings.HasSuffix(r.URL.Path, "/events"):
		key = "meta:" + m["data"].([]any)[0].(map[string]any)["event_id"].(string)
	case strings.HasSuffix(r.URL.Path, "/event/track/"):
		key = "tiktok:" + m["data"].([]any)[0].(map[string]any)["event_id"].(string)
	case strings.HasSuffix(r.URL.Path, ":uploadClickConversions"):
		c := m["conversions"].([]any)[0].(map[string]any)
		key = "google:" + c["orderId"].(string)
		if f.converted == nil {
			f.converted = map[string]time.Time{}
		}
		f.converted[c["orderId"].(string)], _ = time.Parse("2006-01-02 15:04:05-07:00", fmt.Sprint(c["conversionDateTime"]))
	case strings.HasSuffix(r.URL.Path, ":uploadConversionAdjustments"):
		a := m["conversionAdjustments"].([]any)[0].(map[string]any)
		key = "google-adj:" + a["orderId"].(string) + ":" + a["adjustmentType"].(string) + ":" + fmt.Sprint(a["adjustmentDateTime"])
		// Google refuses an adjustment dated before its conversion (and we take "at" as before).
		at, _ := time.Parse("2006-01-02 15:04:05-07:00", fmt.Sprint(a["adjustmentDateTime"]))
		if conv, ok := f.converted[a["orderId"].(string)]; ok && !at.After(conv) {
			f.t.Errorf("google: adjustment %v dated at or before its conversion %v", a, conv)
			fmt.Fprint(w, `{"partialFailureError":{"code":3,"message":"ADJUSTMENT_PRECEDES_CONVERSION"}}`)
			return
		}
	default:
		key = "webhook:" + r.Header.Get("Tributary-Delivery")
	}
	f.accepted[key]++
	fmt.Fprint(w, `{}`)
}

// check enforces the documented schemas: what each platform requires, how it wants data hashed and
// times written.
func (f *fake) check(r *http.Request, b []byte) {
	t := f.t
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Errorf("%s: body is not JSON: %s", r.URL.Path, b)
		return
	}
	// money: a JSON number with no more decimals than the currency has, and an ISO 4217 code.
	money := func(where string, v, cur any) {
		n, ok := v.(json.Number)
		c, _ := cur.(string)
		if !ok || len(c) != 3 || strings.ToUpper(c) != c {
			t.Errorf("%s: value %v (%T) currency %v", where, v, v, cur)
			return
		}
		if _, frac, _ := strings.Cut(string(n), "."); len(frac) > tributary.CurrencyDecimals(c) {
			t.Errorf("%s: value %s has more decimals than %s", where, n, c)
		}
	}
	unix := func(where string, v any) {
		n, ok := v.(json.Number)
		sec, err := n.Int64()
		if !ok || err != nil || sec < 1262304000 || sec > 4102444800 {
			t.Errorf("%s: event_time %v is not unix seconds", where, v)
		}
	}
	hex64 := func(v any) bool {
		s, ok := v.(string)
		return ok && len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/events"): // Meta CAPI
		if r.URL.Query().Get("access_token") != "meta-token" {
			t.Errorf("meta: access_token = %q", r.URL.Query().Get("access_token"))
		}
		ev := m["data"].([]any)[0].(map[string]any)
		for _, k := range []string{"event_name", "event_time", "event_id", "action_source", "user_data", "custom_data"} {
			if ev[k] == nil {
				t.Errorf("meta: %s missing", k)
			}
		}
		if ev["action_source"] != "website" || ev["event_name"] != "Purchase" {
			t.Errorf("meta: action_source %v event_name %v", ev["action_source"], ev["event_name"])
		}
		unix("meta", ev["event_time"])
		cd := ev["custom_data"].(map[string]any)
		money("meta", cd["value"], cd["currency"])
		ud := ev["user_data"].(map[string]any)
		for _, k := range []string{"em", "external_id"} {
			if v, ok := ud[k]; ok && !hex64(v.([]any)[0]) {
				t.Errorf("meta: %s not a SHA-256: %v", k, v)
			}
		}
		if fbc, ok := ud["fbc"].(string); ok && !strings.HasPrefix(fbc, "fb.1.") {
			t.Errorf("meta: fbc = %q", fbc)
		}
		// fbp: the _fbp cookie's value as set, fb.<0-2>.<ms>.<random>, never hashed.
		if fbp, ok := ud["fbp"]; ok && !regexp.MustCompile(`^fb\.[0-2]\.[0-9]+\.[0-9]+$`).MatchString(fmt.Sprint(fbp)) {
			t.Errorf("meta: fbp = %v", fbp)
		}
	case strings.HasSuffix(r.URL.Path, "/event/track/"): // TikTok
		if r.Header.Get("Access-Token") != "tt-token" {
			t.Errorf("tiktok: Access-Token = %q", r.Header.Get("Access-Token"))
		}
		if m["event_source"] != "web" || m["event_source_id"] == nil {
			t.Errorf("tiktok: event_source(_id) = %v %v", m["event_source"], m["event_source_id"])
		}
		tev := m["data"].([]any)[0].(map[string]any)
		if tev["event"] != "CompletePayment" || tev["event_id"] == "" {
			t.Errorf("tiktok: event %v event_id %v", tev["event"], tev["event_id"])
		}
		unix("tiktok", tev["event_time"])
		props := tev["properties"].(map[string]any)
		money("tiktok", props["value"], props["currency"])
		u := m["data"].([]any)[0].(map[string]any)["user"].(map[string]any)
		for _, k := range []string{"email", "external_id"} {
			if v, ok := u[k]; ok && !hex64(v) {
				t.Errorf("tiktok: %s not a SHA-256: %v", k, v)
			}
		}
	case strings.Contains(r.URL.Path, "/customers/"): // Google Ads
		if r.Header.Get("Authorization") != "Bearer at-1" || r.Header.Get("Developer-Token") != "dev-1" {
			t.Errorf("google: auth headers %q %q", r.Header.Get("Authorization"), r.Header.Get("Developer-Token"))
		}
		check := func(s any) {
			if _, err := time.Parse("2006-01-02 15:04:05-07:00", fmt.Sprint(s)); err != nil {
				t.Errorf("google: date time %v: %v", s, err)
			}
		}
		if cs, ok := m["conversions"].([]any); ok {
			c := cs[0].(map[string]any)
			check(c["conversionDateTime"])
			money("google", c["conversionValue"], c["currencyCode"])
			if c["orderId"] == "" || !strings.HasPrefix(fmt.Sprint(c["conversionAction"]), "customers/1234567890/conversionActions/") {
				t.Errorf("google: conversion %v", c)
			}
			// ClickConversion: exactly one of gclid, gbraid and wbraid names the click.
			ids := 0
			for _, k := range []string{"gclid", "gbraid", "wbraid"} {
				if v, ok := c[k]; ok {
					if s, _ := v.(string); s == "" {
						t.Errorf("google: %s is empty: %v", k, c)
					}
					ids++
				}
			}
			if ids != 1 {
				t.Errorf("google: %d click ids in %v, want exactly one of gclid, gbraid, wbraid", ids, c)
			}
		}
		if as, ok := m["conversionAdjustments"].([]any); ok {
			a := as[0].(map[string]any)
			check(a["adjustmentDateTime"])
			switch a["adjustmentType"] {
			case "RETRACTION":
				if a["restatementValue"] != nil {
					t.Errorf("google: a retraction with a value: %v", a)
				}
			case "RESTATEMENT":
				rv := a["restatementValue"].(map[string]any)
				money("google", rv["adjustedValue"], rv["currencyCode"])
			default:
				t.Errorf("google: adjustmentType %v", a["adjustmentType"])
			}
		}
		if m["partialFailure"] != true {
			t.Errorf("google: partialFailure %v", m["partialFailure"])
		}
	default: // webhook: the signature verifies
		sig := r.Header.Get(destinations.SignatureHeader)
		ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
		var sec int64
		fmt.Sscan(ts, &sec)
		if want := destinations.Sign("whsec-1", time.Unix(sec, 0), b); sig != want {
			t.Errorf("webhook: signature %q, want %q", sig, want)
		}
	}
}

// indent shows a body indented, every byte of its values as sent.
func indent(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

type env struct {
	t      *testing.T
	st     *duckdb.Store
	site   *tributary.Site
	rec    *ledger.Recorder
	sender *destinations.Sender
	box    *secretbox.Box
	fake   *fake
	srv    *httptest.Server
	now    time.Time
	sentMu sync.Mutex // the sender reports results from several goroutines
	sent   map[string]int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, box: box, now: t0, fake: &fake{t: t, accepted: map[string]int{}}, sent: map[string]int{}}
	e.srv = httptest.NewServer(e.fake)
	t.Cleanup(e.srv.Close)
	e.site = &tributary.Site{ID: "s1", Domain: "shop.example", Name: "Shop", Currency: "EUR", Timezone: "Europe/Berlin", Locale: "en-US", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateSite(ctx, e.site); err != nil {
		t.Fatal(err)
	}
	e.rec = ledger.New(st, st)
	out := &destinations.Outbox{Store: st, Now: func() time.Time { return e.now }}
	e.rec.BeforeAppend = out.BeforeAppend
	e.sender = &destinations.Sender{Meta: st, Events: st, Box: box, Now: func() time.Time { return e.now }, Client: e.srv.Client(),
		OnResult: func(d *tributary.Destination, status string) { e.sentMu.Lock(); e.sent[status]++; e.sentMu.Unlock() }}
	return e
}

func (e *env) destination(typ string, config map[string]string, secret string) *tributary.Destination {
	e.t.Helper()
	if typ == tributary.DestinationWebhook {
		config["url"] = e.srv.URL + "/hook"
	} else {
		config["api_base_url"] = e.srv.URL
	}
	if typ == tributary.DestinationGoogleAds {
		config["oauth_url"] = e.srv.URL + "/oauth/token"
	}
	d, err := destinations.New(e.box, e.site.ID, destinations.Input{Type: typ, Config: config, Secret: json.RawMessage(secret)}, t0)
	if err != nil {
		e.t.Fatal(err)
	}
	plain, err := e.box.Open("destination:"+d.ID, d.SealedSecret)
	if err != nil {
		e.t.Fatal(err)
	}
	d.ID = "dst_" + typ // a stable id for the golden files, the secret sealed again for it
	if d.SealedSecret, err = e.box.Seal("destination:"+d.ID, plain); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.CreateDestination(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// visit stores a visit of visitor v landing with a click id param.
func (e *env) visit(v, sess string, at time.Time, platform, click string, props map[string]string, name string) {
	e.t.Helper()
	if name == "" {
		name = tributary.PageviewName
	}
	ev := tributary.Event{SiteID: e.site.ID, Timestamp: at, Name: name, Source: tributary.SourceBrowser, VisitorID: v, SessionID: sess,
		Hostname: "shop.example", Path: "/pricing", Channel: "Paid Search", ReferrerSource: "Google", ClickIDPlatform: platform, ClickID: click,
		UTMCampaign: "winter", Props: props}
	if platform == "" {
		ev.Channel, ev.ReferrerSource = "Direct", ""
	}
	if err := e.st.InsertEvents(context.Background(), []tributary.Event{ev}); err != nil {
		e.t.Fatal(err)
	}
}

// pay links and records a payment of v.
func (e *env) pay(id, v, sess string, at time.Time, amount int64, live bool) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.rec.Link(ctx, e.site, ledger.Payment{SiteID: e.site.ID, PaymentID: id, At: at, VisitorID: v, SessionID: sess, CustomerID: "cus_1", Email: " Ann@Example.com ", Source: "stripe"}); err != nil {
		e.t.Fatal(err)
	}
	e.record(tributary.LedgerEntry{ID: "pay:" + id, SiteID: e.site.ID, Livemode: live, Kind: tributary.EntryPayment, PaymentID: id, OccurredAt: at,
		Amount: amount, Currency: "EUR", CustomerID: "cus_1", Email: "ann@example.com", Source: "stripe"})
}

// record appends entries as the ledger does, at their time (the clock moves there if it is behind).
func (e *env) record(entries ...tributary.LedgerEntry) {
	e.t.Helper()
	if at := entries[0].OccurredAt; at.After(e.now) {
		e.now = at
	}
	if err := e.rec.Record(context.Background(), e.site, entries, nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) refund(id, pay string, at time.Time, amount int64, kind string, live bool) {
	e.record(tributary.LedgerEntry{ID: id, SiteID: e.site.ID, Livemode: live, Kind: kind, PaymentID: pay, OccurredAt: at,
		Amount: -amount, Currency: "EUR", CustomerID: "cus_1", Source: "stripe"})
}

// run moves the clock and runs the sender once.
func (e *env) run(at time.Time) {
	e.t.Helper()
	e.now = at
	if _, err := e.sender.RunOnce(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) rows(dest string) []tributary.DestinationDelivery {
	e.t.Helper()
	rows, err := e.st.DestinationDeliveries(context.Background(), e.site.ID, dest, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *env) requests() []byte {
	e.fake.mu.Lock()
	defer e.fake.mu.Unlock()
	return []byte(strings.Join(e.fake.log, "\n"))
}

var platforms = []struct {
	typ, click, platform, secret string
	config                       map[string]string
}{
	{tributary.DestinationMeta, "fb-click-1", "meta", `"meta-token"`, map[string]string{"pixel_id": "1234567890"}},
	{tributary.DestinationGoogleAds, "gclid-1", "google_ads", `{"developer_token":"dev-1","client_secret":"cs-1","refresh_token":"rt-1"}`,
		map[string]string{"customer_id": "123-456-7890", "conversion_action": "555", "client_id": "cid-1"}},
	{tributary.DestinationTikTok, "tt-click-1", "tiktok", `"tt-token"`, map[string]string{"pixel_code": "CPIXEL1"}},
	{tributary.DestinationWebhook, "gclid-1", "google_ads", `"whsec-1"`, map[string]string{}},
}

// TestPaymentThenRefunds: a linked payment is sent once per destination, a partial refund and then the
// rest are what each platform documents (Google Ads: RESTATEMENT, then RETRACTION; the webhook: both;
// Meta and TikTok: nothing), every request exactly as in the golden file.
func TestPaymentThenRefunds(t *testing.T) {
	for _, p := range platforms {
		t.Run(p.typ, func(t *testing.T) {
			e := newEnv(t)
			d := e.destination(p.typ, p.config, p.secret)
			e.visit("v1", "s1", t0, p.platform, p.click, nil, "")
			e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
			e.run(t0.Add(30*time.Minute + time.Second)) // too early: the row settles first
			if len(e.requests()) != 0 {
				t.Fatalf("sent before the settle delay: %s", e.requests())
			}
			e.run(t0.Add(30*time.Minute + 10*time.Second))
			e.run(t0.Add(31 * time.Minute)) // nothing is sent twice
			e.refund("refund:re_1", "pi_1", t0.Add(time.Hour), 1000, tributary.EntryRefund, true)
			e.run(t0.Add(time.Hour + 10*time.Second))
			e.refund("refund:re_2", "pi_1", t0.Add(2*time.Hour), 3999, tributary.EntryRefund, true)
			e.run(t0.Add(2*time.Hour + 10*time.Second))
			golden(t, "payment_refunds_"+p.typ+".txt", e.requests())
			for k, n := range e.fake.accepted {
				if n != 1 {
					t.Errorf("%s accepted %d times", k, n)
				}
			}
			for _, r := range e.rows(d.ID) {
				if r.Status == tributary.OutboxPending || r.Status == tributary.OutboxFailed {
					t.Errorf("row %s of %s is %s: %s", r.ID, r.EntryID, r.Status, r.LastError)
				}
			}
		})
	}
}

// TestOutageThenRecovery: 503, 429 and a network failure are retried with backoff; the platform counts
// the conversion once.
func TestOutageThenRecovery(t *testing.T) {
	for _, p := range platforms {
		t.Run(p.typ, func(t *testing.T) {
			e := newEnv(t)
			d := e.destination(p.typ, p.config, p.secret)
			e.fake.answers = []int{503, 429, 500}
			e.visit("v1", "s1", t0, p.platform, p.click, nil, "")
			e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
			at := t0.Add(30*time.Minute + 10*time.Second)
			wantNext := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}
			for i, w := range wantNext {
				e.run(at)
				r := e.rows(d.ID)[0]
				if r.Status != tributary.OutboxPending || r.Attempts != i+1 || !r.NextAttemptAt.Equal(at.Add(w)) || r.LastError == "" {
					t.Fatalf("after failure %d: %+v", i+1, r)
				}
				e.run(at.Add(w - time.Second)) // not before its time
				at = at.Add(w)
			}
			e.run(at)
			r := e.rows(d.ID)[0]
			if r.Status != tributary.OutboxSent || r.Attempts != 4 || r.Response != 200 || r.LastError != "" {
				t.Fatalf("after recovery: %+v", r)
			}
			if len(e.fake.accepted) != 1 {
				t.Fatalf("accepted = %v", e.fake.accepted)
			}
			if e.sent["sent"] != 1 {
				t.Fatalf("results = %v", e.sent)
			}
		})
	}
}

// TestRefusedThenReplayed: a 400 fails at once (visible with its error), and a replay sends it again.
func TestRefusedThenReplayed(t *testing.T) {
	e := newEnv(t)
	d := e.destination(tributary.DestinationMeta, map[string]string{"pixel_id": "1"}, `"meta-token"`)
	e.fake.answers = []int{400}
	e.visit("v1", "s1", t0, "meta", "fb1", nil, "")
	e.pay("pi_1", "v1", "s1", t0.Add(time.Minute), 1000, true)
	e.run(t0.Add(time.Hour))
	r := e.rows(d.ID)[0]
	if r.Status != tributary.OutboxFailed || r.Response != 400 || !strings.Contains(r.LastError, "400") {
		t.Fatalf("refused: %+v", r)
	}
	if e.sent["failed"] != 1 {
		t.Fatalf("results = %v", e.sent)
	}
	if _, err := destinations.Replay(context.Background(), e.st, e.site.ID, d.ID, r.ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := destinations.Replay(context.Background(), e.st, e.site.ID, d.ID, r.ID, t0.Add(2*time.Hour)); tributary.ErrorCode(err) != tributary.ECONFLICT {
		t.Fatalf("second replay: %v", err)
	}
	e.run(t0.Add(2 * time.Hour))
	if r := e.rows(d.ID)[0]; r.Status != tributary.OutboxSent {
		t.Fatalf("replayed: %+v", r)
	}
}

// TestGivesUpAfterThreeDays: a platform that never recovers fails the row after MaxAttempts, about
// three days after the first attempt.
func TestGivesUpAfterThreeDays(t *testing.T) {
	e := newEnv(t)
	d := e.destination(tributary.DestinationTikTok, map[string]string{"pixel_code": "P"}, `"tt-token"`)
	for i := 0; i < 100; i++ {
		e.fake.answers = append(e.fake.answers, 503)
	}
	e.visit("v1", "s1", t0, "tiktok", "tt1", nil, "")
	e.pay("pi_1", "v1", "s1", t0.Add(time.Minute), 1000, true)
	at := t0.Add(time.Hour)
	first := at
	for i := 0; i < 200; i++ {
		e.run(at)
		r := e.rows(d.ID)[0]
		if r.Status != tributary.OutboxPending {
			if r.Status != tributary.OutboxFailed || r.Attempts != destinations.MaxAttempts {
				t.Fatalf("end: %+v", r)
			}
			if took := at.Sub(first); took < 60*time.Hour || took > 84*time.Hour {
				t.Fatalf("gave up after %v, want about three days", took)
			}
			return
		}
		at = r.NextAttemptAt
	}
	t.Fatal("never gave up")
}

// TestSkips: consent declined (tracker call or site-wide switch), no click id, test-mode money
// without a test facility: nothing is sent, and the row says why.
func TestSkips(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(e *env)
		typ     string
		config  map[string]string
		secret  string
		live    bool
		click   string
		want    string
		wantReq bool
	}{
		{"consent declined", func(e *env) {
			e.visit("v1", "s1", t0.Add(time.Minute), "", "", map[string]string{"granted": "false"}, tributary.ConsentEventName)
		}, tributary.DestinationGoogleAds, nil, "", true, "gclid-1", "declined consent", false},
		{"consent required, not given", func(e *env) {
			must(e.t, e.st.SetConsentRequired(context.Background(), e.site.ID, true))
		}, tributary.DestinationMeta, nil, "", true, "fb-click-1", "declined consent", false},
		{"consent required and given", func(e *env) {
			must(e.t, e.st.SetConsentRequired(context.Background(), e.site.ID, true))
			e.visit("v1", "s1", t0.Add(time.Minute), "", "", map[string]string{"granted": "true"}, tributary.ConsentEventName)
		}, tributary.DestinationMeta, nil, "", true, "fb-click-1", "", true},
		{"webhook respects consent", func(e *env) {
			e.visit("v1", "s1", t0.Add(time.Minute), "", "", map[string]string{"granted": "false"}, tributary.ConsentEventName)
		}, tributary.DestinationWebhook, nil, "", true, "gclid-1", "declined consent", false},
		{"no gclid", nil, tributary.DestinationGoogleAds, nil, "", true, "", "no Google click id", false},
		{"test money, meta without a test code", nil, tributary.DestinationMeta, nil, "", false, "fb-click-1", "test-mode payment", false},
		{"test money, meta with a test code", nil, tributary.DestinationMeta, map[string]string{"test_event_code": "TEST42"}, "", false, "fb-click-1", "", true},
		{"test money, tiktok without a test code", nil, tributary.DestinationTikTok, nil, "", false, "tt-click-1", "test-mode payment", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var p = platforms[0]
			for _, q := range platforms {
				if q.typ == tc.typ {
					p = q
				}
			}
			cfg := map[string]string{}
			for k, v := range p.config {
				cfg[k] = v
			}
			for k, v := range tc.config {
				cfg[k] = v
			}
			d := e.destination(tc.typ, cfg, p.secret)
			if tc.setup != nil {
				tc.setup(e)
			}
			platform := p.platform
			if tc.click == "" {
				platform = ""
			}
			e.visit("v1", "s1", t0, platform, tc.click, nil, "")
			e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, tc.live)
			e.run(t0.Add(time.Hour))
			r := e.rows(d.ID)[0]
			if got := len(e.requests()) > 0; got != tc.wantReq {
				t.Fatalf("requests sent = %v, want %v: %s", got, tc.wantReq, e.requests())
			}
			if tc.wantReq {
				if r.Status != tributary.OutboxSent {
					t.Fatalf("row = %+v", r)
				}
				if !tc.live && !strings.Contains(string(e.requests()), `"test_event_code": "TEST42"`) {
					t.Fatalf("test money without its test code: %s", e.requests())
				}
				return
			}
			if r.Status != tributary.OutboxSkipped || !strings.Contains(r.LastError, tc.want) {
				t.Fatalf("row = %+v, want skipped with %q", r, tc.want)
			}
		})
	}
}

// TestGoogleTestModeValidatesOnly: test-mode money reaches Google Ads only as validateOnly.
func TestGoogleTestModeValidatesOnly(t *testing.T) {
	e := newEnv(t)
	p := platforms[1]
	e.destination(p.typ, p.config, p.secret)
	e.visit("v1", "s1", t0, p.platform, p.click, nil, "")
	e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, false)
	e.run(t0.Add(time.Hour))
	if !strings.Contains(string(e.requests()), `"validateOnly": true`) {
		t.Fatalf("test money not validate-only: %s", e.requests())
	}
}

// TestCrashBetweenOutboxAndLedger: the outbox row is written and the process dies before the entry is
// appended. The row waits for its entry; the retried batch writes no second row; one conversion goes out.
func TestCrashBetweenOutboxAndLedger(t *testing.T) {
	e := newEnv(t)
	p := platforms[1]
	d := e.destination(p.typ, p.config, p.secret)
	e.visit("v1", "s1", t0, p.platform, p.click, nil, "")
	entry := tributary.LedgerEntry{ID: "pay:pi_1", SiteID: e.site.ID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_1",
		OccurredAt: t0.Add(30 * time.Minute), Amount: 4999, Currency: "EUR", Source: "stripe"}
	// The hook ran, then the process was killed: no ledger entry, no link.
	e.crash(d, t0.Add(time.Hour), []tributary.LedgerEntry{entry}, nil)
	// The provider retries: the same payment is linked and recorded again.
	e.now = t0.Add(2 * time.Hour)
	e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
	for i := 0; i < 5; i++ {
		e.run(e.rows(d.ID)[0].NextAttemptAt.Add(time.Second))
	}
	rows := e.rows(d.ID)
	if len(rows) != 1 || rows[0].Status != tributary.OutboxSent {
		t.Fatalf("after the retry: %+v", rows)
	}
	if e.fake.accepted["google:pi_1"] != 1 {
		t.Fatalf("accepted = %v", e.fake.accepted)
	}
}

// crash records es and ms as a process killed right after the outbox hook would (nothing appended),
// then runs the sender at `at`: d's one row must wait, unsent.
func (e *env) crash(d *tributary.Destination, at time.Time, es []tributary.LedgerEntry, ms []tributary.MRRMovement) {
	e.t.Helper()
	crashed := ledger.New(e.st, e.st)
	crashed.BeforeAppend = func(ctx context.Context, s *tributary.Site, es []tributary.LedgerEntry, ms []tributary.MRRMovement) error {
		if err := e.rec.BeforeAppend(ctx, s, es, ms); err != nil {
			return err
		}
		return fmt.Errorf("killed")
	}
	if err := crashed.Record(context.Background(), e.site, es, ms); err == nil {
		e.t.Fatal("the crash did not stop the write")
	}
	e.run(at)
	if r := e.rows(d.ID); len(r) != 1 || r[0].Status != tributary.OutboxPending || len(e.requests()) != 0 {
		e.t.Fatalf("before the retry: %+v %s", r, e.requests())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOlderMoneyIsNotSent: entries that occurred before the destination existed (a Stripe history
// import, an old payment's entries given again) get no rows; a refund of such a payment is not sent to
// Google Ads either, which never had its conversion, but reaches the webhook.
func TestOlderMoneyIsNotSent(t *testing.T) {
	for _, p := range platforms {
		t.Run(p.typ, func(t *testing.T) {
			e := newEnv(t)
			d := e.destination(p.typ, p.config, p.secret) // created at t0
			e.visit("v1", "s1", t0.Add(-48*time.Hour), p.platform, p.click, nil, "")
			e.pay("pi_old", "v1", "s1", t0.Add(-47*time.Hour), 4999, true)
			e.visit("v2", "s2", t0.Add(-90*time.Minute), p.platform, p.click, nil, "")
			e.pay("pi_recent", "v2", "s2", t0.Add(-30*time.Minute), 1999, true) // within the hour before: sent
			e.refund("refund:re_old", "pi_old", t0.Add(time.Hour), 4999, tributary.EntryRefund, true)
			e.run(t0.Add(2 * time.Hour))
			e.run(t0.Add(3 * time.Hour))
			got := map[string]string{}
			for _, r := range e.rows(d.ID) {
				got[r.EntryID] = r.Status
			}
			want := map[string]string{"pay:pi_recent": "sent"}
			switch p.typ {
			case tributary.DestinationGoogleAds:
				want["refund:re_old"] = "skipped"
			case tributary.DestinationWebhook:
				want["refund:re_old"] = "sent"
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("rows = %v, want %v", got, want)
			}
		})
	}
}

// TestMergedPaymentIsNotSent: a payment whose record says it was merged into another is not sent as a
// conversion of its own (the other one is); the e-mail of the payment record is used when the ledger
// has none.
func TestMergedPaymentIsNotSent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.destination(tributary.DestinationMeta, map[string]string{"pixel_id": "1"}, `"meta-token"`)
	must(t, e.st.PutPayment(ctx, &tributary.Payment{SiteID: "s1", ID: "cs_1", Livemode: true, Status: tributary.PaymentMerged, MergedInto: "pi_1", Currency: "EUR", Source: "stripe", UpdatedAt: t0}))
	must(t, e.st.PutPayment(ctx, &tributary.Payment{SiteID: "s1", ID: "pi_1", Livemode: true, Status: tributary.PaymentSucceeded, Email: "Bob@Example.com", Currency: "EUR", Source: "stripe", UpdatedAt: t0}))
	for _, id := range []string{"cs_1", "pi_1"} {
		e.record(tributary.LedgerEntry{ID: "pay:" + id, SiteID: "s1", Livemode: true, Kind: tributary.EntryPayment, PaymentID: id, OccurredAt: t0, Amount: 100, Currency: "EUR", Source: "stripe"})
	}
	e.run(t0.Add(2 * time.Hour)) // no links: decided without them after an hour
	got := map[string]string{}
	for _, r := range e.rows(d.ID) {
		got[r.PaymentID] = r.Status + " " + r.LastError
	}
	if !strings.HasPrefix(got["cs_1"], "skipped the payment was merged into pi_1") || got["pi_1"] != "sent " {
		t.Fatalf("rows = %v", got)
	}
	if !strings.Contains(string(e.requests()), hashOf("bob@example.com")) {
		t.Fatalf("the record's e-mail is not sent: %s", e.requests())
	}
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestDisputeLostThenWon: Google Ads hears a lost dispute as a RETRACTION and the won dispute's
// reinstatement as a RESTATEMENT of the payment's value; the webhook hears both.
func TestDisputeLostThenWon(t *testing.T) {
	for _, p := range platforms[1:] {
		if p.typ == tributary.DestinationTikTok {
			continue
		}
		t.Run(p.typ, func(t *testing.T) {
			e := newEnv(t)
			e.destination(p.typ, p.config, p.secret)
			e.visit("v1", "s1", t0, p.platform, p.click, nil, "")
			e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
			e.run(t0.Add(time.Hour))
			e.refund("dispute_withdrawn:dp_1", "pi_1", t0.Add(2*time.Hour), 4999, tributary.EntryDisputeWithdrawn, true)
			e.run(t0.Add(3 * time.Hour))
			e.refund("dispute_reinstated:dp_1", "pi_1", t0.Add(4*time.Hour), -4999, tributary.EntryDisputeReinstated, true)
			e.run(t0.Add(5 * time.Hour))
			golden(t, "dispute_"+p.typ+".txt", e.requests())
		})
	}
}

// TestValueDecimals: values are the currency's major unit with exactly its decimals.
func TestValueDecimals(t *testing.T) {
	for _, tc := range []struct {
		currency string
		amount   int64
		want     string
	}{{"EUR", 4999, `"value":49.99,`}, {"EUR", 5000, `"value":50.00,`}, {"JPY", 5000, `"value":5000,`}, {"KWD", 12345, `"value":12.345,`}} {
		t.Run(tc.currency, func(t *testing.T) {
			e := newEnv(t)
			d := e.destination(tributary.DestinationMeta, map[string]string{"pixel_id": "1"}, `"meta-token"`)
			e.visit("v1", "s1", t0, "meta", "fb1", nil, "")
			if _, err := e.rec.Link(context.Background(), e.site, ledger.Payment{SiteID: "s1", PaymentID: "pi_1", At: t0, VisitorID: "v1", SessionID: "s1"}); err != nil {
				t.Fatal(err)
			}
			e.record(tributary.LedgerEntry{ID: "pay:pi_1", SiteID: "s1", Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_1", OccurredAt: t0.Add(time.Minute), Amount: tc.amount, Currency: tc.currency, Source: "api"})
			e.run(t0.Add(time.Hour))
			if r := e.rows(d.ID)[0]; !strings.Contains(r.Request, tc.want+`"currency":"`+tc.currency+`"`) {
				t.Fatalf("request %s lacks %s", r.Request, tc.want)
			}
		})
	}
}

// TestCreditedVisitFollowsTheSiteModel: the visit whose click id is sent is the one the site's model
// credits: last non-direct (the default) credits the later Meta visit, first touch the earlier Google
// one.
func TestCreditedVisitFollowsTheSiteModel(t *testing.T) {
	for _, tc := range []struct {
		model      string
		wantStatus string
	}{{"", "skipped"}, {"last_non_direct", "skipped"}, {"first_touch", "sent"}, {"linear", "skipped"}} {
		t.Run(tc.model, func(t *testing.T) {
			e := newEnv(t)
			p := platforms[1]
			d := e.destination(p.typ, p.config, p.secret)
			if tc.model != "" {
				must(t, e.st.SetAttributionModel(context.Background(), e.site.ID, tc.model))
			}
			e.visit("v1", "s1", t0, "google_ads", "gclid-first", nil, "")
			e.visit("v1", "s2", t0.Add(2*time.Hour), "meta", "fb-later", nil, "")
			e.pay("pi_1", "v1", "s2", t0.Add(3*time.Hour), 4999, true)
			e.run(t0.Add(4 * time.Hour))
			r := e.rows(d.ID)[0]
			if r.Status != tc.wantStatus {
				t.Fatalf("row = %+v, want %s", r, tc.wantStatus)
			}
			if tc.wantStatus == "sent" && !strings.Contains(r.Request, `"gclid":"gclid-first"`) {
				t.Fatalf("request = %s", r.Request)
			}
		})
	}
}

// TestPersonAcrossDevices: a visitor who clicked a Meta ad on one device, identified, and paid on
// another is one person: the ad visit is credited (as the stats credit it) and its fbclid sent; a
// consent(false) on either device stops the send.
func TestPersonAcrossDevices(t *testing.T) {
	for _, tc := range []struct {
		name        string
		declineOn   string
		wantFBC     bool
		wantSkipped bool
	}{{"credited across devices", "", true, false}, {"declined on the phone", "phone", false, true}, {"declined on the desktop", "desktop", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			d := e.destination(tributary.DestinationMeta, map[string]string{"pixel_id": "1"}, `"meta-token"`)
			e.visit("phone", "p1", t0, "meta", "fb-phone", nil, "")
			must(t, e.st.InsertIdentities(ctx, []tributary.Identity{
				{SiteID: "s1", At: t0.Add(time.Minute), VisitorID: "phone", PersonID: "ann@example.com", Source: "browser"},
				{SiteID: "s1", At: t0.Add(time.Hour), VisitorID: "desktop", PersonID: "ann@example.com", Source: "browser"},
			}))
			e.visit("desktop", "d1", t0.Add(time.Hour), "", "", nil, "")
			if tc.declineOn != "" {
				e.visit(tc.declineOn, "c1", t0.Add(90*time.Minute), "", "", map[string]string{"granted": "false"}, tributary.ConsentEventName)
			}
			e.pay("pi_1", "desktop", "d1", t0.Add(2*time.Hour), 4999, true)
			e.run(t0.Add(3 * time.Hour))
			r := e.rows(d.ID)[0]
			if got := strings.Contains(r.Request, fmt.Sprintf(`"fbc":"fb.1.%d.fb-phone"`, t0.UnixMilli())); got != tc.wantFBC {
				t.Fatalf("fbc of the phone's click sent = %v, want %v: %+v", got, tc.wantFBC, r)
			}
			if (r.Status == tributary.OutboxSkipped) != tc.wantSkipped {
				t.Fatalf("row = %+v", r)
			}
		})
	}
}

// TestGoogleClickIDParams: each Google click id goes in the field of the parameter that carried it
// (gbraid and wbraid are iOS clicks Google refuses as a gclid); a visit stored before the parameter was
// kept sends a gclid.
func TestGoogleClickIDParams(t *testing.T) {
	for _, param := range []string{"gclid", "gbraid", "wbraid", ""} {
		t.Run("param="+param, func(t *testing.T) {
			e := newEnv(t)
			p := platforms[1]
			d := e.destination(p.typ, p.config, p.secret)
			must(t, e.st.InsertEvents(context.Background(), []tributary.Event{{SiteID: e.site.ID, Timestamp: t0, Name: tributary.PageviewName,
				Source: tributary.SourceBrowser, VisitorID: "v1", SessionID: "s1", Hostname: "shop.example", Path: "/pricing", Channel: "Paid Search",
				ReferrerSource: "Google", ClickIDPlatform: "google_ads", ClickID: "click-1", ClickIDParam: param}}))
			e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
			e.run(t0.Add(time.Hour))
			r := e.rows(d.ID)[0]
			field := param
			if field == "" {
				field = "gclid"
			}
			if r.Status != tributary.OutboxSent || !strings.Contains(r.Request, `"`+field+`":"click-1"`) {
				t.Fatalf("row = %+v, want the click in %s", r, field)
			}
			if e.fake.accepted["google:pi_1"] != 1 {
				t.Fatalf("accepted = %v", e.fake.accepted)
			}
		})
	}
}

// movement is an MRR movement of subscription sub_1 of cus_1.
func movement(id, kind string, at time.Time, delta int64) tributary.MRRMovement {
	return tributary.MRRMovement{ID: id, SiteID: "s1", Livemode: true, SubscriptionID: "sub_1", CustomerID: "cus_1", At: at, Kind: kind,
		Delta: delta, Currency: "EUR", Source: "stripe"}
}

// TestSubscriptionEvents: each MRR movement reaches the webhook once, signed, with the subscription's
// MRR after it and the attribution of the visit that brought the subscription (the customer's linked
// visitor, credited when the subscription started); movements given again write no new rows; the ad
// platforms get none.
func TestSubscriptionEvents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sender.Workers = 1 // the golden file's requests in one order
	hook := e.destination(platforms[3].typ, platforms[3].config, platforms[3].secret)
	g := e.destination(platforms[1].typ, platforms[1].config, platforms[1].secret)
	e.visit("v1", "s1", t0, "google_ads", "gclid-1", nil, "")
	e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
	ms := []tributary.MRRMovement{
		movement("mrr_new", tributary.MRRNew, t0.Add(30*time.Minute), 4999),
		movement("mrr_up", tributary.MRRExpansion, t0.Add(2*time.Hour), 1000),
		movement("mrr_end", tributary.MRRChurn, t0.Add(3*time.Hour), -5999),
	}
	must(t, e.rec.Record(ctx, e.site, nil, ms[:1]))
	e.run(t0.Add(time.Hour))
	e.now = t0.Add(2 * time.Hour)
	must(t, e.rec.Record(ctx, e.site, nil, ms[1:2]))
	e.run(t0.Add(2*time.Hour + 10*time.Second))
	e.now = t0.Add(3 * time.Hour)
	must(t, e.rec.Record(ctx, e.site, nil, ms)) // the provider retries the whole history
	e.run(t0.Add(3*time.Hour + 10*time.Second))
	e.run(t0.Add(4 * time.Hour))
	golden(t, "subscription_webhook.txt", e.requests())
	got := map[string]string{}
	for _, r := range e.rows(hook.ID) {
		got[r.EntryID] = r.Kind + " " + r.PaymentID + " " + r.Status
	}
	want := map[string]string{"pay:pi_1": "payment pi_1 sent", "mrr:mrr_new": "subscription sub_1 sent", "mrr:mrr_up": "subscription sub_1 sent",
		"mrr:mrr_end": "subscription sub_1 sent"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("webhook rows = %v, want %v", got, want)
	}
	for k, n := range e.fake.accepted {
		if n != 1 {
			t.Errorf("%s accepted %d times", k, n)
		}
	}
	if len(e.fake.accepted) != 5 { // the webhook's 4, Google Ads' conversion
		t.Fatalf("accepted = %v", e.fake.accepted)
	}
	for _, r := range e.rows(g.ID) {
		if r.Kind == tributary.DeliverySubscription {
			t.Fatalf("google ads got a subscription row: %+v", r)
		}
	}
}

// TestSubscriptionCrashAndConsent: a movement whose outbox row was written but which the process died
// before storing is sent once the provider's retry stores it; an unlinked customer's movement is sent
// unattributed after a short wait; a visitor who declined consent gets nothing sent.
func TestSubscriptionCrashAndConsent(t *testing.T) {
	t.Run("crash", func(t *testing.T) {
		e := newEnv(t)
		hook := e.destination(platforms[3].typ, platforms[3].config, platforms[3].secret)
		m := movement("mrr_new", tributary.MRRNew, t0, 4999)
		m.CustomerID = "cus_unknown"
		e.crash(hook, t0.Add(time.Minute), nil, []tributary.MRRMovement{m})
		e.now = t0.Add(2 * time.Minute)
		must(t, e.rec.Record(context.Background(), e.site, nil, []tributary.MRRMovement{m}))
		for i := 0; i < 5; i++ {
			e.run(e.rows(hook.ID)[0].NextAttemptAt.Add(time.Second))
		}
		rows := e.rows(hook.ID)
		if len(rows) != 1 || rows[0].Status != tributary.OutboxSent || !strings.Contains(rows[0].Request, `"link_method":"unattributed"`) {
			t.Fatalf("after the retry: %+v", rows)
		}
		if len(e.fake.accepted) != 1 {
			t.Fatalf("accepted = %v", e.fake.accepted)
		}
	})
	t.Run("consent declined", func(t *testing.T) {
		e := newEnv(t)
		hook := e.destination(platforms[3].typ, platforms[3].config, platforms[3].secret)
		e.visit("v1", "s1", t0, "google_ads", "gclid-1", nil, "")
		e.visit("v1", "s1", t0.Add(time.Minute), "", "", map[string]string{"granted": "false"}, tributary.ConsentEventName)
		e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
		must(t, e.rec.Record(context.Background(), e.site, nil, []tributary.MRRMovement{movement("mrr_new", tributary.MRRNew, t0.Add(30*time.Minute), 4999)}))
		e.run(t0.Add(time.Hour))
		for _, r := range e.rows(hook.ID) {
			if r.Status != tributary.OutboxSkipped || !strings.Contains(r.LastError, "declined consent") {
				t.Fatalf("row = %+v", r)
			}
		}
		if len(e.requests()) != 0 {
			t.Fatalf("sent: %s", e.requests())
		}
	})
}

// TestConcurrentOutageThenRecovery: payments to every destination at once are sent with several
// requests in flight but never more than Workers; an outage (5xx, 429) followed by recovery still
// delivers each exactly once, and each Google Ads adjustment after its conversion even when both are
// claimed in the same batch.
func TestConcurrentOutageThenRecovery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sender.Workers = 3
	e.fake.delay = 20 * time.Millisecond
	var dests []*tributary.Destination
	for _, p := range platforms {
		dests = append(dests, e.destination(p.typ, p.config, p.secret))
	}
	const n = 4
	for i := 0; i < n; i++ {
		for _, p := range platforms[:3] {
			// One person per payment, with no customer data: only the platform of the click gets it.
			v := fmt.Sprintf("v-%s-%d", p.typ, i)
			e.visit(v, v, t0, p.platform, fmt.Sprintf("%s-%d", p.click, i), nil, "")
			id := fmt.Sprintf("pi_%s_%d", p.typ, i)
			if _, err := e.rec.Link(ctx, e.site, ledger.Payment{SiteID: e.site.ID, PaymentID: id, At: t0.Add(30 * time.Minute), VisitorID: v, SessionID: v, Source: "api"}); err != nil {
				t.Fatal(err)
			}
			e.record(tributary.LedgerEntry{ID: "pay:" + id, SiteID: e.site.ID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: id,
				OccurredAt: t0.Add(30 * time.Minute), Amount: 4999, Currency: "EUR", Source: "api"})
			e.refund("refund:re_"+id, id, t0.Add(40*time.Minute), 1000, tributary.EntryRefund, true)
		}
	}
	e.fake.mu.Lock()
	for i := 0; i < 12; i++ {
		e.fake.answers = append(e.fake.answers, []int{503, 429, 500}[i%3])
	}
	e.fake.mu.Unlock()
	at := t0.Add(time.Hour)
	for i := 0; i < 10; i++ {
		e.run(at)
		at = at.Add(10 * time.Minute)
	}
	sent := map[string]int{}
	for _, d := range dests {
		for _, r := range e.rows(d.ID) {
			sent[d.Type+" "+r.Kind+" "+r.Status]++
		}
	}
	want := map[string]int{
		"meta payment sent": n, "meta payment skipped": 2 * n, // no fbclid, no customer data
		"tiktok payment sent": n, "tiktok payment skipped": 2 * n,
		"google_ads payment sent": n, "google_ads payment skipped": 2 * n, "google_ads refund sent": n, "google_ads refund skipped": 2 * n,
		"webhook payment sent": 3 * n, "webhook refund sent": 3 * n,
	}
	if fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("rows = %v\nwant %v", sent, want)
	}
	if len(e.fake.accepted) != n+n+2*n+6*n {
		t.Errorf("accepted %d distinct requests: %v", len(e.fake.accepted), e.fake.accepted)
	}
	for k, c := range e.fake.accepted {
		if c != 1 {
			t.Errorf("%s accepted %d times", k, c)
		}
	}
	if m := e.fake.maxInflight.Load(); m < 2 || m > 3 {
		t.Errorf("at most %d requests in flight, want 2 or 3 (Workers)", m)
	}
	// Google Ads: a payment's first request is its conversion, never its adjustment.
	log := string(e.requests())
	for i := 0; i < n; i++ {
		id := fmt.Sprintf(`"orderId": "pi_google_ads_%d"`, i)
		at := strings.Index(log, id)
		if at < 0 || strings.LastIndex(log[:at], ":uploadConversionAdjustments") > strings.LastIndex(log[:at], ":uploadClickConversions") {
			t.Errorf("the first request of pi_google_ads_%d is not its conversion", i)
		}
	}
}

// TestConcurrentAdjustmentFollowsConversion: a payment's conversion and refund claimed in one batch are
// attempted in order on one goroutine, so the adjustment goes out in the same run, right after its
// conversion, instead of being attempted beside it and put off.
func TestConcurrentAdjustmentFollowsConversion(t *testing.T) {
	e := newEnv(t)
	p := platforms[1]
	d := e.destination(p.typ, p.config, p.secret)
	e.sender.Workers = 4
	e.fake.delay = 10 * time.Millisecond
	for i := 0; i < 6; i++ {
		v := fmt.Sprintf("v%d", i)
		e.visit(v, v, t0, p.platform, fmt.Sprintf("gclid-%d", i), nil, "")
		id := fmt.Sprintf("pi_%d", i)
		if _, err := e.rec.Link(context.Background(), e.site, ledger.Payment{SiteID: e.site.ID, PaymentID: id, At: t0.Add(30 * time.Minute), VisitorID: v, SessionID: v, Source: "api"}); err != nil {
			t.Fatal(err)
		}
		e.record(tributary.LedgerEntry{ID: "pay:" + id, SiteID: e.site.ID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: id,
			OccurredAt: t0.Add(30 * time.Minute), Amount: 4999, Currency: "EUR", Source: "api"})
		e.refund("refund:re_"+id, id, t0.Add(40*time.Minute), 1000, tributary.EntryRefund, true)
	}
	e.run(t0.Add(time.Hour))
	for _, r := range e.rows(d.ID) {
		if r.Status != tributary.OutboxSent || r.Attempts != 1 {
			t.Errorf("row %s: %s after %d attempts: %s", r.EntryID, r.Status, r.Attempts, r.LastError)
		}
	}
	if m := e.fake.maxInflight.Load(); m < 2 {
		t.Errorf("%d requests in flight at most, want several", m)
	}
}

// TestMetaFBP: the _fbp the tracker sent with a pageview reaches Meta as user_data.fbp, as stored
// (normalised at ingest, not hashed): the credited visit's before another of the person's; it alone
// lets a payment without fbclid or customer data be matched; a visitor who declined consent gets
// nothing sent at all.
func TestMetaFBP(t *testing.T) {
	for _, tc := range []struct {
		name, click, credited, want string
		decline, noCustomer         bool
	}{
		{"credited visit's fbp with the fbclid", "fb-click-1", "fb.1.1795168800000.111", "fb.1.1795168800000.111", false, false},
		{"fbp alone matches", "", "fb.1.1795168800000.111", "fb.1.1795168800000.111", false, true},
		{"another visit's when the credited one has none", "fb-click-1", "", "fb.1.1795000000000.999", false, false},
		{"consent declined", "fb-click-1", "fb.1.1795168800000.111", "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			d := e.destination(tributary.DestinationMeta, map[string]string{"pixel_id": "1"}, `"meta-token"`)
			platform := "meta"
			if tc.click == "" {
				platform = ""
			}
			pv := func(sess string, at time.Time, fbp, click, platform string) tributary.Event {
				return tributary.Event{SiteID: e.site.ID, Timestamp: at, Name: tributary.PageviewName, Source: tributary.SourceBrowser, VisitorID: "v1",
					SessionID: sess, Hostname: "shop.example", Path: "/pricing", Channel: "Paid Social", ReferrerSource: "Facebook",
					ClickIDPlatform: platform, ClickID: click, FBP: fbp}
			}
			must(t, e.st.InsertEvents(ctx, []tributary.Event{
				pv("s1", t0, tc.credited, tc.click, platform),
				pv("s1", t0.Add(time.Minute), "", "", ""),
				pv("s0", t0.Add(-48*time.Hour), "fb.1.1795000000000.999", "", ""), // an older visit of another browser
			}))
			if tc.decline {
				e.visit("v1", "s1", t0.Add(2*time.Minute), "", "", map[string]string{"granted": "false"}, tributary.ConsentEventName)
			}
			if tc.noCustomer {
				if _, err := e.rec.Link(ctx, e.site, ledger.Payment{SiteID: e.site.ID, PaymentID: "pi_1", At: t0.Add(30 * time.Minute), VisitorID: "v1", SessionID: "s1", Source: "api"}); err != nil {
					t.Fatal(err)
				}
				e.record(tributary.LedgerEntry{ID: "pay:pi_1", SiteID: e.site.ID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_1",
					OccurredAt: t0.Add(30 * time.Minute), Amount: 4999, Currency: "EUR", Source: "api"})
			} else {
				e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
			}
			e.run(t0.Add(time.Hour))
			r := e.rows(d.ID)[0]
			if tc.want == "" {
				if r.Status != tributary.OutboxSkipped || len(e.requests()) != 0 {
					t.Fatalf("row = %+v, requests %s", r, e.requests())
				}
				return
			}
			if r.Status != tributary.OutboxSent || !strings.Contains(r.Request, `"fbp":"`+tc.want+`"`) {
				t.Fatalf("row = %+v, want fbp %s", r, tc.want)
			}
			if tc.noCustomer && (strings.Contains(r.Request, `"em"`) || strings.Contains(r.Request, `"fbc"`)) {
				t.Fatalf("request = %s", r.Request)
			}
		})
	}
}

// TestMergeLearntAfterBothSent: two payments sent to every destination are later found to be one
// (Stripe reconciliation merges cs_1 into pi_1 and reverses cs_1's entries, reconcile.Diff). Google Ads
// gets a RETRACTION of cs_1, dated when the merge was learnt (after its conversion, as Google requires);
// the webhook gets the reversal, a negative "payment" entry with merged_into and a net of zero; Meta and
// TikTok, which have no retraction, get nothing more and keep both purchases.
func TestMergeLearntAfterBothSent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dests := map[string]*tributary.Destination{}
	for _, p := range platforms {
		dests[p.typ] = e.destination(p.typ, p.config, p.secret)
	}
	e.visit("v1", "s1", t0, "google_ads", "gclid-1", nil, "")
	// Meta and TikTok match on the hashed e-mail and customer id the payments carry.
	e.pay("cs_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
	e.pay("pi_1", "v1", "s1", t0.Add(30*time.Minute), 4999, true)
	e.run(t0.Add(time.Hour))
	before := len(e.fake.accepted)
	if before != 2+2+2+2 {
		t.Fatalf("before the merge: %v", e.fake.accepted)
	}
	// The merge, learnt a day later.
	e.now = t0.Add(24 * time.Hour)
	must(t, e.st.PutPayment(ctx, &tributary.Payment{SiteID: "s1", ID: "cs_1", Livemode: true, Status: tributary.PaymentMerged, MergedInto: "pi_1", Currency: "EUR", Source: "stripe", UpdatedAt: e.now}))
	held, err := e.st.LedgerForPayment(ctx, "s1", "cs_1")
	must(t, err)
	rev := reconcile.Diff("cs_1", nil, held)
	if len(rev) != 1 || rev[0].Amount != -4999 || rev[0].Kind != tributary.EntryPayment {
		t.Fatalf("reversal = %+v", rev)
	}
	for i := range rev {
		rev[i].SiteID, rev[i].Livemode, rev[i].Source = "s1", true, "stripe"
	}
	must(t, e.rec.Record(ctx, e.site, rev, nil))
	e.run(e.now.Add(10 * time.Second))
	e.run(e.now.Add(time.Hour))
	row := func(typ string) tributary.DestinationDelivery {
		for _, r := range e.rows(dests[typ].ID) {
			if r.EntryID == rev[0].ID {
				return r
			}
		}
		t.Fatalf("%s: no row for the reversal", typ)
		return tributary.DestinationDelivery{}
	}
	for _, typ := range []string{tributary.DestinationMeta, tributary.DestinationTikTok} {
		if r := row(typ); r.Status != tributary.OutboxSkipped || !strings.Contains(r.LastError, "no way to take a conversion back") {
			t.Errorf("%s reversal row = %+v", typ, r)
		}
	}
	g := row(tributary.DestinationGoogleAds)
	if g.Status != tributary.OutboxSent || !strings.Contains(g.Request, `"adjustmentType":"RETRACTION","orderId":"cs_1","adjustmentDateTime":"2026-11-21 11:00:00+01:00"`) {
		t.Errorf("google ads reversal row = %+v", g)
	}
	h := row(tributary.DestinationWebhook)
	if h.Status != tributary.OutboxSent || !strings.Contains(h.Request, `"kind":"payment","occurred_at":"2026-11-20T10:30:00Z","amount":-49.99,"currency":"EUR","payment_net":0.00`) ||
		!strings.Contains(h.Request, `"merged_into":"pi_1"`) {
		t.Errorf("webhook reversal row = %+v", h)
	}
	if n := len(e.fake.accepted); n != before+2 {
		t.Errorf("accepted after the merge: %v", e.fake.accepted)
	}
	for k, n := range e.fake.accepted {
		if n != 1 {
			t.Errorf("%s accepted %d times", k, n)
		}
	}
	if e.fake.accepted["meta:cs_1"] != 1 || e.fake.accepted["tiktok:cs_1"] != 1 {
		t.Errorf("meta/tiktok keep both: %v", e.fake.accepted)
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tributary/tributary"
)

// siteWithKey creates a site (currency cur) and an API key with scopes, returning their ids and secret.
func (e *env) siteWithKey(cur string, scopes ...string) (siteID, key string) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example","currency":"`+cur+`"}`)
	if r.status != 201 {
		e.t.Fatalf("create site: %d %s", r.status, r.body)
	}
	siteID = r.json(e.t)["id"].(string)
	r = e.do("POST", "/api/v1/sites/"+siteID+"/api-keys", adminToken, `{"name":"backend","scopes":["`+strings.Join(scopes, `","`)+`"]}`)
	if r.status != 201 {
		e.t.Fatalf("create key: %d %s", r.status, r.body)
	}
	return siteID, r.json(e.t)["key"].(string)
}

func TestServerEventsStatuses(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	_, statsKey := e.siteWithKey("USD", "stats:read")

	tests := []struct {
		name, token, body string
		status            int
		field             string
		processed         *bool
	}{
		{"ok", key, `{"event_id":"e1","event_name":"signup","email":"Ann@Example.com","visitor_id":"v1"}`, 200, "", ptr(true)},
		{"duplicate", key, `{"event_id":"e1","event_name":"signup"}`, 200, "", ptr(false)},
		{"transaction_id alias", key, `{"transaction_id":"t1","event_name":"purchase","amount":4999,"currency":"usd","event_type":"purchase"}`, 200, "", ptr(true)},
		{"no auth", "", `{"event_id":"x","event_name":"a"}`, 401, "", nil},
		{"wrong key", "trk_nope", `{"event_id":"x","event_name":"a"}`, 401, "", nil},
		{"wrong scope", statsKey, `{"event_id":"x","event_name":"a"}`, 403, "", nil},
		{"missing event_id", key, `{"event_name":"a"}`, 400, "event_id", nil},
		{"missing event_name", key, `{"event_id":"x"}`, 400, "event_name", nil},
		{"bad timestamp", key, `{"event_id":"x","event_name":"a","timestamp":"yesterday"}`, 400, "timestamp", nil},
		{"future timestamp", key, `{"event_id":"x","event_name":"a","timestamp":"2026-11-20T12:06:00Z"}`, 400, "timestamp", nil},
		{"unknown field", key, `{"event_id":"x","event_name":"a","colour":"red"}`, 400, "colour", nil},
		{"metadata not object", key, `{"event_id":"x","event_name":"a","metadata":[1]}`, 400, "metadata", nil},
		{"bad event_type", key, `{"event_id":"x","event_name":"a","event_type":"gift"}`, 400, "event_type", nil},
		{"bad currency", key, `{"event_id":"x","event_name":"a","event_type":"purchase","amount":1,"currency":"bitcoin"}`, 400, "", nil},
		{"fractional minor", key, `{"event_id":"x","event_name":"a","event_type":"purchase","amount":49.99}`, 400, "", nil},
		{"metadata too large", key, `{"event_id":"x","event_name":"a","metadata":{"k":"` + strings.Repeat("x", 33<<10) + `"}}`, 413, "", nil},
		{"malformed", key, `{"event_id":`, 400, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/events", tc.token, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.field != "" {
				if f := r.json(t)["error"].(map[string]any)["field"]; f != tc.field {
					t.Fatalf("field = %v, want %s: %s", f, tc.field, r.body)
				}
			}
			if tc.processed != nil && r.json(t)["processed"] != *tc.processed {
				t.Fatalf("processed = %v: %s", r.json(t)["processed"], r.body)
			}
			if tc.token == key && r.header.Get("RateLimit-Limit") != "600" {
				t.Fatalf("RateLimit headers missing: %v", r.header)
			}
		})
	}
	ledger, err := e.store.Ledger(context.Background(), siteID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 1 || ledger[0].Amount != 4999 || ledger[0].Currency != "USD" || ledger[0].ReportingAmount != 4999 || !ledger[0].Converted {
		t.Fatalf("ledger after rejected and duplicate events = %+v", ledger)
	}
}

func ptr(b bool) *bool { return &b }

// TestAmountUnits pins that a Stripe-style 4999 never becomes $4,999 and that major units are exact.
func TestAmountUnits(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	if r := e.do("POST", "/api/v1/sites/"+siteID+"/revenue-events", adminToken, `{"event_name":"order","amount_path":"metadata.total","unit":"major","currency_path":"metadata.cur"}`); r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/sites/"+siteID+"/revenue-events", adminToken, `{"event_name":"order","unit":"cents"}`); r.status != 400 {
		t.Fatalf("bad unit: %d", r.status)
	}
	cases := []struct {
		body   string
		amount int64
		cur    string
		status int
	}{
		{`{"event_id":"a","event_name":"purchase","metadata":{"amount":4999,"currency":"usd"}}`, 499900, "USD", 200}, // the built-in purchase: major units
		{`{"event_id":"b","event_name":"purchase","event_type":"purchase","metadata":{"amount":4999,"currency":"usd"}}`, 4999, "USD", 200},
		{`{"event_id":"c","event_name":"order","metadata":{"total":"49.99","cur":"EUR"}}`, 4999, "EUR", 200},
		{`{"event_id":"d","event_name":"order","metadata":{"total":5000,"cur":"JPY"}}`, 5000, "JPY", 200},
		{`{"event_id":"e","event_name":"order","metadata":{"total":1.25,"cur":"BHD"}}`, 1250, "BHD", 200},
		{`{"event_id":"f","event_name":"order","metadata":{"total":49.999,"cur":"USD"}}`, 0, "", 400},
		{`{"event_id":"g","event_name":"order","metadata":{"total":10}}`, 1000, "USD", 200},
	}
	for _, c := range cases {
		r := e.do("POST", "/api/v1/events", key, c.body)
		if r.status != c.status {
			t.Fatalf("%s: %d %s", c.body, r.status, r.body)
		}
		if c.amount == 0 {
			if _, ok := r.json(t)["revenue"]; ok && c.status == 200 {
				t.Fatalf("%s: unexpected revenue %s", c.body, r.body)
			}
			continue
		}
		rev := r.json(t)["revenue"].(map[string]any)
		if int64(rev["amount"].(float64)) != c.amount || rev["currency"] != c.cur {
			t.Fatalf("%s: revenue %v, want %d %s", c.body, rev, c.amount, c.cur)
		}
	}
	ledger, _ := e.store.Ledger(context.Background(), siteID)
	unconverted := 0
	for _, l := range ledger {
		if !l.Converted {
			unconverted++
			if l.ReportingAmount != 0 {
				t.Fatalf("unconverted entry has a reporting amount: %+v", l)
			}
		}
	}
	if unconverted != 3 { // EUR, JPY, BHD without rates are unconverted, never 1:1
		t.Fatalf("%d unconverted entries, want 3: %+v", unconverted, ledger)
	}
}

func TestServerEventsIdempotentUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	var wg sync.WaitGroup
	var mu sync.Mutex
	processed := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/v1/events", key, `{"event_id":"same","event_name":"purchase","event_type":"purchase","amount":1500,"currency":"USD"}`)
			if r.status != 200 {
				t.Errorf("status %d %s", r.status, r.body)
				return
			}
			if r.json(t)["processed"] == true {
				mu.Lock()
				processed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if processed != 1 {
		t.Fatalf("%d requests processed, want 1", processed)
	}
	ledger, _ := e.store.Ledger(context.Background(), siteID)
	if len(ledger) != 1 {
		t.Fatalf("ledger has %d entries", len(ledger))
	}
}

func TestServerEventsRateLimit(t *testing.T) {
	e := newEnv(t)
	siteID, _ := e.siteWithKey("USD", "events:write")
	r := e.do("POST", "/api/v1/sites/"+siteID+"/api-keys", adminToken, `{"name":"slow","scopes":["events:write"],"rate_limit_per_minute":5}`)
	key := r.json(t)["key"].(string)
	var wg sync.WaitGroup
	codes := make(chan int, 12)
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.do("POST", "/api/v1/events", key, fmt.Sprintf(`{"event_id":"r%d","event_name":"a"}`, i))
			if r.status == 429 && r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			codes <- r.status
		}(i)
	}
	wg.Wait()
	close(codes)
	ok, limited := 0, 0
	for c := range codes {
		switch c {
		case 200:
			ok++
		case http.StatusTooManyRequests:
			limited++
		}
	}
	if ok != 5 || limited != 7 {
		t.Fatalf("ok=%d limited=%d, want 5 and 7 (the clock is fixed, so no refill)", ok, limited)
	}
}

func TestServerEventsBatch(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	r := e.do("POST", "/api/v1/events/batch", key, `{"events":[{"event_id":"b1","event_name":"a"},{"event_name":"missing id"},{"event_id":"b1","event_name":"a"},{"event_id":"b2","event_name":"purchase","event_type":"purchase","amount":100}]}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	res := m["results"].([]any)
	if len(res) != 4 || res[0].(map[string]any)["processed"] != true || res[1].(map[string]any)["error"].(map[string]any)["field"] != "event_id" ||
		res[2].(map[string]any)["processed"] != false || res[3].(map[string]any)["processed"] != true || m["processed"].(float64) != 2 || m["failed"].(float64) != 1 {
		t.Fatalf("batch = %s", r.body)
	}
	big := `{"events":[` + strings.Repeat(`{"event_id":"x","event_name":"a"},`, 500) + `{"event_id":"y","event_name":"a"}]}`
	if r := e.do("POST", "/api/v1/events/batch", key, big); r.status != 413 {
		t.Fatalf("501 events: %d", r.status)
	}
	// Catalog shows server events and their classification.
	if r := e.do("PUT", "/api/v1/sites/"+siteID+"/events/purchase", adminToken, `{"kind":"conversion"}`); r.status != 200 {
		t.Fatalf("set kind: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/sites/"+siteID+"/events/purchase", adminToken, `{"kind":"vip"}`); r.status != 400 {
		t.Fatalf("bad kind: %d", r.status)
	}
	cat := e.do("GET", "/api/v1/sites/"+siteID+"/events", adminToken, "").json(t)["events"].([]any)
	found := false
	for _, c := range cat {
		c := c.(map[string]any)
		if c["name"] == "purchase" && c["kind"] == tributary.KindConversion && c["server_count"].(float64) == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("catalog = %v", cat)
	}
}

// TestSubscriptionMovements pins MRR movements from API subscription event types.
func TestSubscriptionMovements(t *testing.T) {
	e := newEnv(t)
	siteID, key := e.siteWithKey("USD", "events:write")
	steps := []string{
		`{"event_id":"s1","event_name":"subscribed","event_type":"subscription","customer_id":"c1","amount":2900}`,
		`{"event_id":"s2","event_name":"renewed","event_type":"renewal","customer_id":"c1","amount":2900}`,
		`{"event_id":"s3","event_name":"upgraded","event_type":"upgrade","customer_id":"c1","amount":58800,"interval":"year"}`,
		`{"event_id":"s4","event_name":"downgraded","event_type":"downgrade","customer_id":"c1","amount":1900}`,
		`{"event_id":"s5","event_name":"cancelled","event_type":"cancellation","customer_id":"c1"}`,
		`{"event_id":"s6","event_name":"back","event_type":"subscription","customer_id":"c1","amount":2900}`,
	}
	for _, s := range steps {
		if r := e.do("POST", "/api/v1/events", key, s); r.status != 200 {
			t.Fatalf("%s: %d %s", s, r.status, r.body)
		}
	}
	ms, err := e.store.MRRMovements(context.Background(), siteID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind  string
		delta int64
	}{{"new", 2900}, {"expansion", 2000}, {"contraction", -3000}, {"churn", -1900}, {"reactivation", 2900}}
	if len(ms) != len(want) {
		t.Fatalf("movements = %+v", ms)
	}
	for i, w := range want {
		if ms[i].Kind != w.kind || ms[i].Delta != w.delta {
			t.Fatalf("movement %d = %s %d, want %s %d", i, ms[i].Kind, ms[i].Delta, w.kind, w.delta)
		}
	}
}

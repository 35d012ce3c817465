package web_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/web"
)

func dirSize(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// TestUnsignedWebhookFloodCostsNoDisk is the disk-fill test: 1,000 posts of 200 KB with a bad
// signature — from one address, then each from its own — grow the data directory by less than 1 MiB,
// the delivery log keeps only a sample of them with the first bytes of each body and the reason, and
// a signed delivery is still accepted afterwards. Before, 926 such posts added 350 MiB in 20 s.
func TestUnsignedWebhookFloodCostsNoDisk(t *testing.T) {
	dir := t.TempDir()
	e, ms := newEnvDir(t, dir, false, func(o *web.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	ep := e.endpoint(siteID, "test", secretA)
	if _, err := e.store.DB().Exec(`CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	before := dirSize(t, dir)
	body := bytes.Repeat([]byte("A"), 200<<10)
	post := func(addr string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+"/stripe/webhook/"+ep, bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", "t=1,v1=deadbeef")
		req.Header.Set("X-Forwarded-For", addr)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			return 0 // the server may close a connection whose body it did not read
		}
		res.Body.Close()
		return res.StatusCode
	}
	codes := map[int]int{}
	for i := 0; i < 500; i++ {
		codes[post("192.0.2.9")]++
	}
	if codes[400] != 30 || codes[429] != 470 {
		t.Fatalf("one address: answers %v, want 30 × 400 then 429s", codes)
	}
	codes = map[int]int{}
	for i := 0; i < 500; i++ {
		codes[post(fmt.Sprintf("10.%d.%d.1", i/250, i%250))]++
	}
	if codes[400] != 500 {
		t.Fatalf("many addresses: answers %v, want 500 × 400", codes)
	}
	if _, err := e.store.DB().Exec(`CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	if grew := dirSize(t, dir) - before; grew > 1<<20 {
		t.Fatalf("1,000 unsigned 200 KB posts grew the data directory by %d bytes", grew)
	}
	var rows, longest int
	if err := e.store.DB().QueryRow(`SELECT count(*), coalesce(max(octet_length(payload)), 0) FROM webhook_deliveries WHERE status = 'rejected'`).Scan(&rows, &longest); err != nil {
		t.Fatal(err)
	}
	if rows == 0 || rows > 40 || longest > 256 {
		t.Fatalf("delivery log holds %d rejected rows, longest payload %d bytes; want a sample of at most 40 with 256-byte prefixes", rows, longest)
	}
	if n := ms.WebhookRejected.Value("signature"); n != 530 {
		t.Fatalf("tributary_webhook_rejected_total{reason=signature} = %d, want 530", n)
	}
	if n := ms.WebhookRejected.Value("rate_limited"); n != 470 {
		t.Fatalf("tributary_webhook_rejected_total{reason=rate_limited} = %d, want 470", n)
	}
	if r := e.webhook(ep, event("evt_after", false), sign(event("evt_after", false), secretA, clock)); r.status != 200 {
		t.Fatalf("signed delivery after the flood: %d %s", r.status, r.body)
	}
}

// TestWebhookEventTimeWindow pins the intake's window for a signed event's created time: from 2010
// to a day ahead. Outside it the answer is a 400 (Stripe does not retry), never a 503 (which it
// retries for three days). Before, created = int64 max answered 503 with Retry-After.
func TestWebhookEventTimeWindow(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	ep := e.endpoint(siteID, "test", secretA)
	tests := []struct {
		name    string
		created string
		status  int
	}{
		{"int64 max", "9223372036854775807", 400},
		{"int64 min", "-9223372036854775808", 400},
		{"year 1", "-62135596800", 400},
		{"1970", "1", 400},
		{"2009", fmt.Sprint(time.Date(2009, 12, 31, 0, 0, 0, 0, time.UTC).Unix()), 400},
		{"two days ahead", fmt.Sprint(clock.Add(48 * time.Hour).Unix()), 400},
		{"2010", fmt.Sprint(time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), 200},
		{"an hour ahead", fmt.Sprint(clock.Add(time.Hour).Unix()), 200},
		{"now", fmt.Sprint(clock.Unix()), 200},
	}
	t.Run("nul in the event id", func(t *testing.T) {
		body := []byte(strings.Replace(string(event("evt_nul", false)), `"evt_nul"`, `"evt_\u0000"`, 1))
		if r := e.webhook(ep, body, sign(body, secretA, clock)); r.status != 400 || !strings.Contains(string(r.body), "NUL") {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(strings.Replace(string(event(fmt.Sprintf("evt_time_%d", i), false)), `"created":1763640000`, `"created":`+tc.created, 1))
			r := e.webhook(ep, body, sign(body, secretA, clock))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 400 && !strings.Contains(string(r.body), "outside the accepted window") {
				t.Fatalf("message does not say what is wrong: %s", r.body)
			}
		})
	}
}

// TestDeliveryLogPaging pins the delivery log API's cursor: a bad ?before is a 400 naming the field
// (it was a 500), and next_before pages past 1,000 deliveries.
func TestDeliveryLogPaging(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	ep := e.endpoint(siteID, "test", secretA)
	for i := 0; i < 1005; i++ {
		body := []byte(strings.Replace(string(event(fmt.Sprintf("evt_page_%d", i), false)), `"livemode":false`, `"livemode":true`, 1))
		if r := e.webhook(ep, body, sign(body, secretA, clock)); r.status != 400 { // wrong mode: rejected, logged whole
			t.Fatalf("post %d: %d %s", i, r.status, r.body)
		}
	}
	tests := []struct {
		name, query string
		status      int
		field       string
	}{
		{"unknown cursor", "?before=x", 400, "before"},
		{"quote in cursor", "?before=x'%20OR%201=1--", 400, "before"},
		{"bad limit", "?limit=0", 400, "limit"},
		{"bad status", "?status=nope", 400, "status"},
		{"bad from", "?from=yesterday", 400, "from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/sites/"+siteID+"/webhook-deliveries"+tc.query, adminToken, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if f := r.json(t)["error"].(map[string]any)["field"]; f != tc.field {
				t.Fatalf("field %v, want %s: %s", f, tc.field, r.body)
			}
		})
	}
	seen, before := map[string]bool{}, ""
	for page := 0; ; page++ {
		q := "?limit=1000"
		if before != "" {
			q += "&before=" + before
		}
		m := e.do("GET", "/api/v1/sites/"+siteID+"/webhook-deliveries"+q, adminToken, "").json(t)
		for _, d := range m["deliveries"].([]any) {
			seen[d.(map[string]any)["id"].(string)] = true
		}
		next, _ := m["next_before"].(string)
		if next == "" {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		before = next
	}
	if len(seen) != 1005 {
		t.Fatalf("paged through %d deliveries, want 1005", len(seen))
	}
}

// TestStripePageShowsBacklog: deliveries acknowledged but not processed show on the Stripe page with
// the oldest one's age.
func TestStripePageShowsBacklog(t *testing.T) {
	e, _ := newEnvWith(t, false, func(o *web.Options) { o.Intake = &inbox.Intake{Store: o.Meta} })
	b := newBrowser(e)
	_, page, _ := b.get("/setup")
	b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page))
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	if _, body, _ := b.get("/sites/" + siteID + "/stripe"); !strings.Contains(body, "Every acknowledged delivery is processed") {
		t.Fatalf("empty backlog not shown: %.300s", body)
	}
	ep := e.endpoint(siteID, "test", secretA)
	for i := 0; i < 3; i++ {
		body := event(fmt.Sprintf("evt_wait_%d", i), false)
		if r := e.webhook(ep, body, sign(body, secretA, clock)); r.status != 200 {
			t.Fatalf("delivery: %d %s", r.status, r.body)
		}
	}
	if _, body, _ := b.get("/sites/" + siteID + "/stripe"); !strings.Contains(body, "3 deliveries acknowledged and waiting to be processed; the oldest arrived 0s ago") {
		t.Fatalf("backlog not shown: %.2000s", body)
	}
}

// FuzzWebhookIntake signs arbitrary bodies with the endpoint's secret and posts them: the intake
// answers 200 (stored) or 400 (refused, saying why), never a 5xx that Stripe would retry for days.
func FuzzWebhookIntake(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","object":"event","created":9223372036854775807,"livemode":false,"type":"charge.succeeded","data":{"object":{}}}`))
	f.Add([]byte(`{"id":"evt_2","object":"event","created":-62135596800,"livemode":false,"type":"charge.succeeded","data":{"object":{}}}`))
	f.Add([]byte(`{"id":"evt_3","object":"event","created":1763640000,"livemode":false,"type":"charge.succeeded","data":{"object":{"amount":49.99}}}`))
	f.Add([]byte(`{"id":"evt_\u0000","object":"event","created":1763640000,"livemode":false,"type":"x\u0000","api_version":"\u0000","data":{}}`))
	f.Add([]byte("\xff\xfe"))
	e := newEnv(f)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(f)["id"].(string)
	ep := e.endpoint(siteID, "test", secretA)
	h := e.web.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/stripe/webhook/"+ep, bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", sign(body, secretA, clock))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("intake answered %d: %s", rec.Code, rec.Body)
		}
	})
}

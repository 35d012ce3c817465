package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/browsertest"
)

// seedCustomers records two visits and three API purchases: Ann (customer cus_ann) pays twice, the
// second time after a newsletter visit whose campaign carries a script payload; Bob pays once as a
// guest and gets a full refund.
func seedCustomers(t *testing.T, e *env) (siteID, statsKey string) {
	t.Helper()
	siteID, key := e.siteWithKey("EUR", "events:write")
	for _, v := range []struct{ at, body string }{
		{"2026-11-18T09:00:00Z", `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/pricing?utm_source=google&utm_medium=cpc","referrer":"https://www.google.com/","visitor_id":"AnnAnnAnnAnnAnnAnn01","session_id":"AnnSession0000000001"}`},
		{"2026-11-20T11:50:00Z", `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/upgrade?utm_source=newsletter&utm_medium=email&utm_campaign=` + url.QueryEscape(xss) + `","visitor_id":"AnnAnnAnnAnnAnnAnn01","session_id":"AnnSession0000000002"}`},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/event", strings.NewReader(v.body))
		req.Header.Set("User-Agent", chromeUA)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("X-Tributary-Backfill-Time", v.at)
		res, err := e.srv.Client().Do(req)
		if err != nil || res.StatusCode != 202 || res.Header.Get("X-Tributary-Dropped") != "" {
			t.Fatalf("seed visit: %v %v", res, err)
		}
		res.Body.Close()
	}
	for _, body := range []string{
		`{"event_id":"order-1","event_name":"purchase","event_type":"purchase","amount":4900,"currency":"EUR","customer_id":"cus_ann","email":"ann@example.com","visitor_id":"AnnAnnAnnAnnAnnAnn01","session_id":"AnnSession0000000001","timestamp":"2026-11-18T09:10:00Z"}`,
		`{"event_id":"order-2","event_name":"purchase","event_type":"purchase","amount":2500,"currency":"EUR","customer_id":"cus_ann","visitor_id":"AnnAnnAnnAnnAnnAnn01","session_id":"AnnSession0000000002","timestamp":"2026-11-20T12:00:00Z"}`,
		`{"event_id":"order-3","event_name":"purchase","event_type":"purchase","amount":1000,"currency":"EUR","email":"bob@example.com","timestamp":"2026-11-20T11:00:00Z"}`,
		`{"event_id":"refund-3","event_name":"refund","event_type":"refund","amount":1000,"currency":"EUR","email":"bob@example.com","timestamp":"2026-11-20T11:30:00Z"}`,
	} {
		if r := e.do("POST", "/api/v1/events", key, body); r.status != 200 {
			t.Fatalf("seed purchase: %d %s", r.status, r.body)
		}
	}
	waitFor(t, "the visits to be stored", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n >= 2
	})
	r := e.do("POST", "/api/v1/sites/"+siteID+"/api-keys", adminToken, `{"name":"reader","scopes":["stats:read"]}`)
	return siteID, r.json(t)["key"].(string)
}

func TestCustomersAPI(t *testing.T) {
	e := newEnv(t)
	siteID, reader := seedCustomers(t, e)
	_, writer := e.siteWithKey("EUR", "stats:read")
	base := "/api/v1/sites/" + siteID + "/customers"

	list := e.do("GET", base, reader, "")
	if list.status != 200 {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	golden(t, "customers_list.json", list.body)
	detail := e.do("GET", base+"/cus_ann", adminToken, "")
	if detail.status != 200 {
		t.Fatalf("detail: %d %s", detail.status, detail.body)
	}
	golden(t, "customer_detail.json", detail.body)

	tests := []struct {
		name, path, token string
		status            int
		code, field       string
	}{
		{"search", base + "?search=BOB", adminToken, 200, "", ""},
		{"by e-mail", base + "/" + url.PathEscape("email:bob@example.com"), adminToken, 200, "", ""},
		{"by payment", base + "/payment:api:order-2", adminToken, 200, "", ""},
		{"bad sort", base + "?sort=age", adminToken, 400, "invalid", "sort"},
		{"bad limit", base + "?limit=ten", adminToken, 400, "invalid", "limit"},
		{"limit too large", base + "?limit=5000", adminToken, 400, "invalid", "limit"},
		{"bad mode", base + "?mode=prod", adminToken, 400, "invalid", "mode"},
		{"unknown customer", base + "/cus_nobody", adminToken, 404, "not_found", ""},
		{"no credentials", base, "", 401, "unauthorized", ""},
		{"key of another site", base, writer, 403, "forbidden", ""},
		{"unknown site", "/api/v1/sites/nope/customers", adminToken, 404, "not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.token, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				er := r.json(t)["error"].(map[string]any)
				if er["code"] != tc.code || (tc.field != "" && er["field"] != tc.field) {
					t.Fatalf("error %v, want %s/%s", er, tc.code, tc.field)
				}
			}
		})
	}
	if r := e.do("GET", base+"?search=BOB", adminToken, ""); !strings.Contains(string(r.body), `"total":1`) || !strings.Contains(string(r.body), `"ltv":0.00`) {
		t.Fatalf("search for Bob: %s", r.body)
	}
}

// TestCustomersInChromium opens the list, searches, opens a customer with the keyboard and checks the
// journey: the visits before each payment with their channel and campaign, payloads shown as text.
func TestCustomersInChromium(t *testing.T) {
	ctx := browsertest.New(t, 90*time.Second)
	e := newEnv(t)
	setupOwner(t, ctx, e.srv.URL)
	siteID, _ := seedCustomers(t, e)

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/sites/"+siteID+"/customers"), chromedp.WaitVisible(chromedp.CSS(`#customers`)))
	text := eval[string](t, ctx, `document.querySelector('#customers').innerText`)
	if !strings.Contains(text, "ann@example.com") || !strings.Contains(text, "€74.00") || !strings.Contains(text, "bob@example.com") {
		t.Fatalf("customers list:\n%s", text)
	}
	shot(t, ctx, "customers")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#search`), "ann"), chromedp.Click(chromedp.CSS(`#search-go`)))
	waitFor(t, "the search results", func() bool { return strings.Contains(eval[string](t, ctx, `location.search`), "search=ann") })
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#customers`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('#customers tbody a').length`); n != 1 {
		t.Fatalf("search for ann shows %d customers", n)
	}
	// Keyboard: the customer link takes focus and Enter opens it.
	do(t, ctx, chromedp.Focus(chromedp.CSS(`#customers tbody a`)))
	if !eval[bool](t, ctx, `document.activeElement === document.querySelector('#customers tbody a')`) {
		t.Fatal("the customer link cannot take keyboard focus")
	}
	do(t, ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(`.journey`)))
	journey := eval[string](t, ctx, `document.querySelector('.journey').innerText`)
	for _, want := range []string{"Paid Search", "Email", "/pricing", "/upgrade", "<script>window.__xss=1</script>", "order-1", "order-2", "linked by"} {
		if !strings.Contains(journey, want) {
			t.Errorf("journey lacks %q:\n%s", want, journey)
		}
	}
	if ltv := eval[string](t, ctx, `document.querySelector('#ltv').innerText`); ltv != "€74.00" {
		t.Errorf("LTV %q, want €74.00", ltv)
	}
	if eval[bool](t, ctx, `window.__xss === 1`) {
		t.Fatal("a payload executed on the customer page")
	}
	shot(t, ctx, "customer-journey")
}

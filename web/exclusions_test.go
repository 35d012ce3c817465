package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestCheckoutIsNotASource: a visit whose referrer is a payment provider (back from checkout) is
// Direct, not a Referral from it; the settings page lists the hosts.
func TestCheckoutIsNotASource(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID, _ := e.siteWithKey("USD", "events:write")
	for i, ref := range []string{"https://checkout.stripe.com/c/pay/cs_live_x", "https://www.paypal.com/checkoutnow?token=EC-1", "https://news.example.org/post"} {
		body := `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/thanks","referrer":"` + ref + `","visitor_id":"Visitor00000000000` + string(rune('A'+i)) + `0","session_id":"Session00000000000` + string(rune('A'+i)) + `0"}`
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/event", strings.NewReader(body))
		req.Header.Set("User-Agent", chromeUA)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("X-Tributary-Backfill-Time", "2026-11-19T10:00:00Z")
		if res, err := e.srv.Client().Do(req); err != nil || res.StatusCode != 202 || res.Header.Get("X-Tributary-Dropped") != "" {
			t.Fatalf("visit from %s: %v %v", ref, res, err)
		}
	}
	waitFor(t, "the visits", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == 3
	})
	r := e.do("POST", "/api/v1/query", adminToken, `{"site_id":"`+siteID+`","metrics":["visitors"],"dimensions":["visit:channel","visit:source"],"date_range":["2026-11-19","2026-11-19"],"order_by":[["visit:channel","asc"]]}`)
	golden(t, "query_checkout_not_a_source.json", r.body)
	_, page, _ := b.get("/sites/" + siteID + "/settings")
	if i := strings.Index(page, `id="excluded-hosts"`); i < 0 || !strings.Contains(page[i:], "stripe.com") || !strings.Contains(page[i:], "paypal.com") {
		t.Error("the settings page does not list the excluded hosts")
	}
}

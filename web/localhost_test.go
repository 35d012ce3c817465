package web_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestLoopbackPagesCountForAnySite: the tracker sends from localhost, 127.0.0.0/8, [::1] or 0.0.0.0 only
// with data-allow-localhost, so those page hosts are accepted for any site rather than dropped as
// host_mismatch; look-alike hosts still are.
func TestLoopbackPagesCountForAnySite(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	tests := []struct {
		url, dropped string
	}{
		{"http://localhost:3000/pricing", ""},
		{"http://127.0.0.1:8000/", ""},
		{"http://127.0.1.1/", ""},
		{"http://[::1]:8080/", ""},
		{"http://0.0.0.0:5173/", ""},
		{"http://app.localhost/", ""},
		{"http://LOCALHOST./", ""},
		{"http://localhost.evil.example/", "host_mismatch"},
		{"http://127.0.0.1.evil.example/", "host_mismatch"},
		{"http://10.0.0.1/", "host_mismatch"},
		{"http://[::2]/", "host_mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			r := e.event(`{"site":"`+siteID+`","name":"pageview","url":"`+tc.url+`","visitor_id":"LocalLocalLocalLocal","session_id":"LocalLocalLocalLocal"}`, chromeUA, "text/plain")
			if r.status != 202 || r.header.Get("X-Tributary-Dropped") != tc.dropped {
				t.Fatalf("%d dropped %q, want %q", r.status, r.header.Get("X-Tributary-Dropped"), tc.dropped)
			}
		})
	}
	waitFor(t, "the local pageviews", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == 7
	})
}

// TestSiteReferrerExclusions: a site's own list of hosts never taken as a source (settings page) is what
// ingest classifies its visits with; it replaces the server's list for that site only, and emptying it
// follows the server's list again.
func TestSiteReferrerExclusions(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	other := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example","name":"other"}`).json(t)["id"].(string)
	settings := "/sites/" + siteID + "/settings"
	_, page, _ := b.get(settings)
	if !strings.Contains(page, "follows the server's list") {
		t.Fatal("a new site does not say it follows the server's list")
	}
	save := func(list string) (int, string) {
		_, page, _ := b.get(settings)
		status, body, _ := b.post(settings, url.Values{"referrer_exclude": {list}}, b.token(page))
		if status == 303 { // saved: the settings page again
			status, body, _ = b.get(settings)
		}
		return status, body
	}
	if status, body := save("partner-pay.example\nhttps://www.Checkout.Stripe.com/c/pay\n"); status != 200 || !strings.Contains(body, "keeps its own list") {
		t.Fatalf("save: %d", status)
	}
	if status, body := save("not a host!"); status != 400 || !strings.Contains(body, "not a host name") {
		t.Fatalf("a bad host: %d", status)
	}
	n := 0
	visit := func(site, ref, want string) {
		t.Helper()
		n++
		vid := "Visitor0000000000" + string(rune('A'+n)) + "00"
		r := e.event(`{"site":"`+site+`","name":"pageview","url":"https://shop.example/","referrer":"`+ref+`","visitor_id":"`+vid+`","session_id":"`+vid+`"}`, chromeUA, "text/plain")
		if r.status != 202 || r.header.Get("X-Tributary-Dropped") != "" {
			t.Fatalf("visit: %d %q", r.status, r.header.Get("X-Tributary-Dropped"))
		}
		var got string
		waitFor(t, "the visit", func() bool {
			return e.store.DB().QueryRow(`SELECT channel || ' ' || referrer_source FROM events WHERE site_id = $1 AND visitor_id = $2`, site, vid).Scan(&got) == nil
		})
		if got != want {
			t.Errorf("%s from %s: %q, want %q", site, ref, got, want)
		}
	}
	visit(siteID, "https://pay.partner-pay.example/x", "Direct ")                         // the site's own host, with its subdomains
	visit(siteID, "https://checkout.stripe.com/c/pay/x", "Direct ")                       // kept in the site's list
	visit(siteID, "https://www.paypal.com/checkoutnow", "Referral paypal.com")            // the site's list replaces the server's
	visit(other, "https://pay.partner-pay.example/x", "Referral pay.partner-pay.example") // another site keeps the server's
	visit(other, "https://www.paypal.com/checkoutnow", "Direct ")
	// Emptying the list follows the server's again.
	if status, body := save(""); status != 200 || !strings.Contains(body, "follows the server's list") {
		t.Fatalf("reset: %d", status)
	}
	visit(siteID, "https://www.paypal.com/checkoutnow", "Direct ")
}

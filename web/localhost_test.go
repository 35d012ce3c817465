package web_test

import (
	"net/http"
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

// TestReferrerExclusionsAPI: GET and PUT /api/v1/sites/{id}/referrer-exclusions read and replace a
// site's list (hosts normalized, [] back to the server's), and the query API's numbers follow it.
func TestReferrerExclusionsAPI(t *testing.T) {
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	path := "/api/v1/sites/" + siteID + "/referrer-exclusions"
	r := e.do("GET", path, adminToken, "")
	if r.status != 200 || !strings.Contains(string(r.body), `"stripe.com"`) || !strings.Contains(string(r.body), `"own":false`) {
		t.Fatalf("default: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", path, adminToken, `{"hosts":["https://www.Partner-Pay.example/checkout","stripe.com","partner-pay.example"]}`); r.status != 200 ||
		strings.TrimSpace(string(r.body)) != `{"hosts":["partner-pay.example","stripe.com"],"own":true}` {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"hosts":["not a host"]}`, `{"hosts":"x"}`} {
		if r := e.do("PUT", path, adminToken, bad); r.status != 400 {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
	if r := e.do("PUT", "/api/v1/sites/nope/referrer-exclusions", adminToken, `{"hosts":[]}`); r.status != 404 {
		t.Errorf("unknown site: %d", r.status)
	}
	// Three visits: from the site's own host (none), Stripe (kept: none) and PayPal (no longer excluded).
	for i, ref := range []string{"https://pay.partner-pay.example/x", "https://checkout.stripe.com/c/pay/x", "https://www.paypal.com/checkoutnow"} {
		vid := "Visitor00000000000" + string(rune('A'+i)) + "0"
		e.hitRef(siteID, vid, ref)
	}
	waitFor(t, "the visits", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == 3
	})
	q := `{"site_id":"` + siteID + `","metrics":["visitors"],"dimensions":["visit:channel","visit:source"],"date_range":["2026-11-19","2026-11-19"],"order_by":[["visit:channel","asc"]]}`
	if r := e.do("POST", "/api/v1/query", adminToken, q); r.status != 200 ||
		!strings.Contains(string(r.body), `"results":[{"dimensions":["Direct","Direct / None"],"metrics":[2]},{"dimensions":["Referral","paypal.com"],"metrics":[1]}]`) {
		t.Fatalf("query: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", path, adminToken, `{"hosts":[]}`); r.status != 200 || !strings.Contains(string(r.body), `"own":false`) || !strings.Contains(string(r.body), `"paypal.com"`) {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
}

// hitRef sends a backdated pageview (2026-11-19 10:00) from referrer ref.
func (e *env) hitRef(siteID, vid, ref string) {
	e.t.Helper()
	body := `{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/thanks","referrer":"` + ref + `","visitor_id":"` + vid + `","session_id":"` + vid + `"}`
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/event", strings.NewReader(body))
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Tributary-Backfill-Time", "2026-11-19T10:00:00Z")
	res, err := e.srv.Client().Do(req)
	if err != nil || res.StatusCode != 202 || res.Header.Get("X-Tributary-Dropped") != "" {
		e.t.Fatalf("visit from %s: %v %v", ref, res, err)
	}
	res.Body.Close()
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/browsertest"
)

const trackerPage = `<!doctype html><html><head><title>shop</title>
<script>window.tributary=window.tributary||function(){(window.tributary.q=window.tributary.q||[]).push(arguments)};tributary('track','early',{source:'queue'});</script>
<script defer src="%s/js/tributary.js" data-site="%s" data-allow-localhost %s></script>
</head><body>
<a id="pl" href="https://buy.stripe.com/test_abc?prefilled_email=x%%40y.z">Buy</a>
<a id="other" href="https://example.org/x">Other</a>
<stripe-buy-button id="bb" buy-button-id="buy_btn_1" publishable-key="pk_test_1"></stripe-buy-button>
<script>setTimeout(function(){var a=document.createElement('a');a.id='late';a.href='https://buy.stripe.com/test_late';document.body.appendChild(a);
var t=document.createElement('stripe-pricing-table');t.id='pt';document.body.appendChild(t)},500)</script>
</body></html>`

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// TestTrackerInChromium loads the real tracker from a running Tributary into a page on another origin,
// navigates as a single-page app, fires a custom event and identify, and checks what was stored and how
// the Stripe links were rewritten.
func TestTrackerInChromium(t *testing.T) {
	ctx := browsertest.New(t, 90*time.Second)
	e := newEnv(t)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"127.0.0.1"}`).json(t)["id"].(string)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		extra := ""
		if r.URL.Query().Get("mode") == "cookieless" {
			extra = "data-cookieless"
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, trackerPage, e.srv.URL, siteID, extra)
	}))
	defer page.Close()

	do(t, ctx, chromedp.Navigate(page.URL+"/landing?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=XYZ"))
	waitFor(t, "the late Payment Link to be decorated", func() bool {
		return strings.Contains(eval[string](t, ctx, `(document.getElementById('late')||{}).href||''`), "client_reference_id=trib-")
	})
	vid := eval[string](t, ctx, `tributary.getVisitorId()`)
	sid := eval[string](t, ctx, `tributary.getSessionId()`)
	if len(vid) != 20 || len(sid) != 20 || !strings.Contains(eval[string](t, ctx, `document.cookie`), "trib_vid="+vid) {
		t.Fatalf("ids %q %q, cookies %q", vid, sid, eval[string](t, ctx, `document.cookie`))
	}
	ref := "trib-" + vid + "-" + sid
	pl, _ := url.Parse(eval[string](t, ctx, `document.getElementById('pl').href`))
	if pl.Query().Get("client_reference_id") != ref || pl.Query().Get("prefilled_email") != "x@y.z" {
		t.Fatalf("payment link = %s", pl)
	}
	if got := eval[string](t, ctx, `document.getElementById('bb').getAttribute('client-reference-id')`); got != ref {
		t.Fatalf("buy button client-reference-id = %q", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('pt').getAttribute('client-reference-id')`); got != ref {
		t.Fatalf("late pricing table client-reference-id = %q", got)
	}
	if eval[string](t, ctx, `document.getElementById('other').href`) != "https://example.org/x" {
		t.Fatal("a non-Stripe link was rewritten")
	}
	if len(ref) > 200 {
		t.Fatalf("client reference id longer than Stripe allows: %d", len(ref))
	}

	eval[any](t, ctx, `history.pushState({}, '', '/pricing'); tributary.track('signup', {plan: 'pro'}); tributary.identify('Ann@Example.com', {plan: 'pro'}); 1`)
	db := e.store.DB()
	count := func(q string, args ...any) int {
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	defer func() {
		if t.Failed() {
			r, _ := db.Query(`SELECT name, path, visitor_id FROM events WHERE site_id = $1`, siteID)
			for r != nil && r.Next() {
				var a, b, c string
				r.Scan(&a, &b, &c)
				t.Logf("stored: %s %s %s", a, b, c)
			}
			t.Logf("identities: %d", count(`SELECT count(*) FROM identities WHERE site_id = $1`, siteID))
		}
	}()
	waitFor(t, "4 events and the identify", func() bool {
		return count(`SELECT count(*) FROM events WHERE site_id = $1`, siteID) == 4 && count(`SELECT count(*) FROM identities WHERE site_id = $1`, siteID) == 1
	})
	rows, err := db.Query(`SELECT name, path, referrer, channel, referrer_source, utm_campaign, click_id_platform, click_id, visitor_id, session_id, props
		FROM events WHERE site_id = $1 ORDER BY name, path`, siteID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, path, referrer, channel, source, campaign, platform, click, v, s, props string
		if err := rows.Scan(&name, &path, &referrer, &channel, &source, &campaign, &platform, &click, &v, &s, &props); err != nil {
			t.Fatal(err)
		}
		if v != vid || s != sid {
			t.Fatalf("%s %s has ids %s/%s, want %s/%s", name, path, v, s, vid, sid)
		}
		got = append(got, strings.Join([]string{name, path, channel, source, campaign, platform, click, props}, "|"))
	}
	want := []string{
		`early|/landing|Paid Search|Google|spring|google_ads|XYZ|{"source":"queue"}`,
		`pageview|/landing|Paid Search|Google|spring|google_ads|XYZ|{}`,
		`pageview|/pricing|Direct|||||{}`,
		`signup|/pricing|Direct|||||{"plan":"pro"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stored events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var email, ivid string
	if err := db.QueryRow(`SELECT email, visitor_id FROM identities WHERE site_id = $1`, siteID).Scan(&email, &ivid); err != nil || email != "ann@example.com" || ivid != vid {
		t.Fatalf("identify stored %q for %q: %v", email, ivid, err)
	}

	// Cookieless: nothing stored on the device, no Stripe decoration, the server derives the visitor.
	do(t, ctx, chromedp.Navigate(page.URL+"/cookieless?mode=cookieless"))
	waitFor(t, "the cookieless pageview", func() bool {
		return count(`SELECT count(*) FROM events WHERE site_id = $1 AND path = '/cookieless' AND name = 'pageview'`, siteID) == 1
	})
	if n := count(`SELECT count(*) FROM events WHERE site_id = $1 AND path = '/cookieless' AND name = 'pageview' AND visitor_id LIKE 'c%'`, siteID); n != 1 {
		t.Fatal("cookieless pageview without a server-derived visitor id")
	}
	if eval[string](t, ctx, `tributary.getVisitorId()`) != "" || eval[float64](t, ctx, `localStorage.length`) != 0 {
		t.Fatal("cookieless mode kept an id on the device")
	}
	if strings.Contains(eval[string](t, ctx, `document.getElementById('pl').href`), "client_reference_id") {
		t.Fatal("cookieless mode decorated a Payment Link")
	}
}

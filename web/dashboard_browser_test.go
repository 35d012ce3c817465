package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/browsertest"
)

const xss = `"><script>window.__xss=1</script><img src=x onerror="window.__xss=1">`

func setupOwner(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(base+"/setup"),
		chromedp.WaitVisible(chromedp.CSS(`#password_confirm`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`#password_confirm`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`#password_confirm`)),
		chromedp.WaitVisible(chromedp.CSS(`#domain`)),
	)
}

// TestDashboardInChromium drives the dashboard with user-controlled strings carrying script payloads in
// every place a visitor or customer controls (path, referrer, UTM, event property, customer e-mail):
// nothing executes; a row click filters, the model switch applies, and a delivery is replayed.
func TestDashboardInChromium(t *testing.T) {
	ctx := browsertest.New(t, 120*time.Second)
	e := newEnv(t)
	setupOwner(t, ctx, e.srv.URL)
	siteID, key := e.siteWithKey("USD", "events:write")
	vid := "AAAAAAAAAAAAAAAAAAAA"
	page := "https://shop.example/" + url.PathEscape(xss) + "?utm_source=" + url.QueryEscape(xss) + "&utm_medium=email&utm_campaign=" + url.QueryEscape(xss)
	for _, body := range []string{
		`{"site":"` + siteID + `","name":"pageview","url":` + jsonString(page) + `,"referrer":` + jsonString("https://evil.example/"+xss) + `,"visitor_id":"` + vid + `","session_id":"BBBBBBBBBBBBBBBBBBBB"}`,
		`{"site":"` + siteID + `","name":"signup","url":"https://shop.example/","props":{"plan":` + jsonString(xss) + `},"visitor_id":"` + vid + `","session_id":"BBBBBBBBBBBBBBBBBBBB"}`,
		`{"site":"` + siteID + `","name":"pageview","url":"https://shop.example/pricing","referrer":"https://www.google.com/","visitor_id":"CCCCCCCCCCCCCCCCCCCC","session_id":"DDDDDDDDDDDDDDDDDDDD"}`,
	} {
		if r := e.event(body, chromeUA, "text/plain"); r.status != 202 || r.header.Get("X-Tributary-Dropped") != "" {
			t.Fatalf("seed event: %d %s %s", r.status, r.header.Get("X-Tributary-Dropped"), r.header.Get("X-Tributary-Dropped-Detail"))
		}
	}
	if r := e.do("POST", "/api/v1/events", key, `{"event_id":"o1","event_name":"purchase","event_type":"purchase","amount":4999,"currency":"USD","visitor_id":"`+vid+`","email":"x`+strings.ReplaceAll(url.QueryEscape(xss), "%", "")+`@example.com","timestamp":"2026-11-20T11:59:00Z"}`); r.status != 200 {
		t.Fatalf("purchase: %d %s", r.status, r.body)
	}
	ep := e.endpoint(siteID, "test", secretA)
	body := event("evt_dash", false)
	if r := e.webhook(ep, body, sign(body, secretA, clock)); r.status != 200 {
		t.Fatalf("webhook: %d", r.status)
	}
	waitFor(t, "events to be stored", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n >= 4
	})

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/sites/"+siteID))
	if !eval[bool](t, ctx, `!!document.querySelector(".kpis")`) {
		t.Fatalf("dashboard did not render:\n%.1500s", eval[string](t, ctx, `document.body.innerText`))
	}
	shot(t, ctx, "dashboard")
	if eval[bool](t, ctx, `window.__xss === 1`) {
		t.Fatal("a script payload executed on the dashboard")
	}
	text := eval[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(text, "$49.99") || !strings.Contains(text, "<script>window.__xss=1</script>") {
		t.Fatalf("dashboard text lacks the revenue or the escaped payload:\n%.2000s", text)
	}
	// Clicking a channel row filters the whole dashboard.
	do(t, ctx, chromedp.Click(chromedp.CSS(`section.panel:first-of-type tbody tr:first-child a`)), chromedp.WaitVisible(chromedp.CSS(`.chips`)))
	loc := eval[string](t, ctx, `location.search`)
	if !strings.Contains(loc, "f=visit%3Achannel") {
		t.Fatalf("row click did not filter: %s", loc)
	}
	// Switching the attribution model.
	eval[any](t, ctx, `document.getElementById('model').value = 'position_based'; 1`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#apply`)))
	waitFor(t, "the model switch", func() bool { return strings.Contains(eval[string](t, ctx, `location.search`), "model=position_based") })
	if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "model=position_based") || !strings.Contains(loc, "f=visit%3Achannel") {
		t.Fatalf("model switch lost state: %s", loc)
	}
	if eval[bool](t, ctx, `window.__xss === 1`) {
		t.Fatal("a script payload executed after filtering")
	}
	// Revenue page (customer e-mail with a payload) and the delivery log with replay.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/sites/"+siteID+"/revenue"), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	shot(t, ctx, "revenue")
	if eval[bool](t, ctx, `window.__xss === 1`) || !strings.Contains(eval[string](t, ctx, `document.body.innerText`), "$49.99") {
		t.Fatal("revenue page: payload executed or payment missing")
	}
	// Money follows the site's locale: German puts the symbol after, with a decimal comma.
	if r := e.do("PATCH", "/api/v1/sites/"+siteID, adminToken, `{"locale":"de-DE"}`); r.status != 200 {
		t.Fatalf("set locale: %d %s", r.status, r.body)
	}
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	if text := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(text, "49,99\u00a0$") {
		t.Fatalf("revenue page in de-DE lacks 49,99 $:\n%.1500s", text)
	}
	e.do("PATCH", "/api/v1/sites/"+siteID, adminToken, `{"locale":"en-US"}`)
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/sites/"+siteID+"/stripe"), chromedp.WaitVisible(chromedp.CSS(`#deliveries`)))
	waitFor(t, "the delivery to be processed", func() bool {
		do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#deliveries`)))
		return eval[int](t, ctx, `document.querySelectorAll('button.replay').length`) > 0
	})
	shot(t, ctx, "stripe")
	do(t, ctx, chromedp.Click(chromedp.CSS(`button.replay`)), chromedp.WaitVisible(chromedp.CSS(`p.ok`)))
	if notice := eval[string](t, ctx, `document.querySelector('p.ok').innerText`); !strings.Contains(notice, "replay") {
		t.Fatalf("replay notice = %q", notice)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

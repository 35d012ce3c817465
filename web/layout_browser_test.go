package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/browsertest"
)

// TestLayoutInChromium loads every page that shows data in Chromium at a phone's width (390 px: nothing
// wider than the screen) and at a desktop's (1440 px: no table cut off, the Replay column visible); on
// the way it checks the chart's axes and buckets and that the Live / Test switch shows a test payment
// only under Test, with the hint on the live page.
func TestLayoutInChromium(t *testing.T) {
	ctx := browsertest.New(t, 120*time.Second)
	e := newEnv(t)
	setupOwner(t, ctx, e.srv.URL)
	siteID, _ := seedCustomers(t, e)
	if _, err := e.store.InsertLedger(context.Background(), []tributary.LedgerEntry{{ID: "pay:pi_testmode", SiteID: siteID, Livemode: false,
		Kind: tributary.EntryPayment, PaymentID: "pi_testmode", OccurredAt: clock.Add(-time.Hour), Amount: 123456, Currency: "EUR",
		ReportingAmount: 123456, ReportingCurrency: "EUR", Rate: "1", Converted: true, CustomerID: "cus_testmode", Source: "stripe"}}); err != nil {
		t.Fatal(err)
	}
	ep := e.endpoint(siteID, "test", secretA)
	body := event("evt_layout", false)
	if r := e.webhook(ep, body, sign(body, secretA, clock)); r.status != 200 {
		t.Fatalf("webhook: %d", r.status)
	}
	site := "/sites/" + siteID
	pages := []string{site, site + "?mode=test", site + "?range=day", site + "/revenue", site + "/customers", site + "/customers/cus_ann",
		site + "/customers/cus_testmode?mode=test", site + "/stripe", site + "/settings", "/sites"}
	overflow := `document.documentElement.scrollWidth - document.documentElement.clientWidth`
	cut := `[...document.querySelectorAll('table')].filter(t => t.scrollWidth > t.clientWidth + 1).length`
	for _, width := range []int64{390, 1440} {
		for _, p := range pages {
			do(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(e.srv.URL+p), chromedp.WaitVisible(chromedp.CSS(`footer`)))
			if n := eval[int](t, ctx, overflow); n > 0 {
				t.Errorf("%s at %d px: %d px wider than the screen", p, width, n)
			}
			if width == 1440 {
				if n := eval[int](t, ctx, cut); n > 0 {
					t.Errorf("%s at 1440 px: %d tables cut off", p, n)
				}
			}
		}
	}
	// The Replay button is on screen at 1440 px.
	do(t, ctx, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(e.srv.URL+site+"/stripe"), chromedp.WaitVisible(chromedp.CSS(`#deliveries`)))
	waitFor(t, "the delivery", func() bool {
		do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#deliveries`)))
		return eval[int](t, ctx, `document.querySelectorAll('button.replay').length`) > 0
	})
	if !eval[bool](t, ctx, `(() => { const r = document.querySelector('button.replay').getBoundingClientRect(); return r.width > 0 && r.right <= document.documentElement.clientWidth })()`) {
		t.Error("the Replay button is not on screen at 1440 px")
	}

	// The chart: axes with ticks, a bar per day of 30d, a title naming the metric.
	do(t, ctx, chromedp.Navigate(e.srv.URL+site), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('svg.chart .bars rect').length`); n != 30 {
		t.Errorf("%d bars for 30d", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('svg.chart .yaxis text').length`); n < 2 {
		t.Errorf("%d y ticks", n)
	}
	if title := eval[string](t, ctx, `document.getElementById('chart-title').textContent`); title != "Visitors per day" {
		t.Errorf("chart title %q", title)
	}
	// Live hides the test payment and says so; the hint's link switches to Test, where it shows.
	if strings.Contains(eval[string](t, ctx, `document.body.innerText`), "1,234.56") {
		t.Error("the live dashboard shows the test payment")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`#mode-hint a`)), chromedp.WaitVisible(chromedp.CSS(`#mode-note`)))
	if text := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(text, "1,234.56") {
		t.Errorf("the test dashboard lacks the test payment:\n%.800s", text)
	}
}

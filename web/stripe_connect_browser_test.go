package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/browsertest"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/stripe/stripeapi"
	"github.com/tributary/tributary/web"
)

// TestConnectStripeInChromium: in a browser, against Stripe's own mock, the user pastes a restricted key,
// sees the account connected with Tributary's endpoint created in Stripe, watches the history import
// finish, and disconnects.
func TestConnectStripeInChromium(t *testing.T) {
	ctx := browsertest.New(t, 120*time.Second)
	base := testenv.StartStripeMock(t)
	box, _ := secretbox.Load("", t.TempDir())
	var sy *stripe.Syncer
	e, _ := newEnvWith(t, false, func(o *web.Options) {
		sy = &stripe.Syncer{Meta: o.Meta, Processor: &stripe.Processor{Meta: o.Meta, Events: o.Events, Ledger: o.Ledger}, Box: box,
			BaseURL: "https://stats.example.com",
			Client:  func(key string) *stripeapi.Client { return &stripeapi.Client{BaseURL: base, Key: key, Rate: 1e6} }}
		o.Stripe = sy
	})
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go sy.Run(runCtx, 100*time.Millisecond) // as the server runs it
	setupOwner(t, ctx, e.srv.URL)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	do(t, ctx,
		chromedp.Navigate(e.srv.URL+"/sites/"+siteID+"/stripe"),
		chromedp.WaitVisible(chromedp.CSS(`#connect-form`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), "rk_test_browser0042"),
		chromedp.Submit(chromedp.CSS(`#key`)),
		chromedp.WaitVisible(chromedp.CSS(`.account`)),
	)
	text := eval[string](t, ctx, `document.querySelector('.account').innerText`)
	if !strings.Contains(text, "test mode") || !strings.Contains(text, "key …0042") || !strings.Contains(text, "created its webhook endpoint") {
		t.Fatalf("connected account:\n%s", text)
	}
	for i := 0; ; i++ {
		do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.account .import`)))
		if eval[string](t, ctx, `document.querySelector('.account .import').dataset.importDone`) == "true" {
			break
		}
		if i > 100 {
			t.Fatalf("import not done: %s", eval[string](t, ctx, `document.querySelector('.account').innerText`))
		}
		time.Sleep(100 * time.Millisecond)
	}
	shot(t, ctx, "stripe-connected")
	do(t, ctx,
		chromedp.Navigate(e.srv.URL+"/sites/"+siteID+"/stripe"),
		chromedp.WaitVisible(chromedp.CSS(`.account`)),
		chromedp.Click(chromedp.CSS(`.account form[action$="/disconnect"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.ok`)),
	)
	if text := eval[string](t, ctx, `document.querySelector('.account').innerText`); !strings.Contains(text, "disconnected") {
		t.Fatalf("after disconnect:\n%s", text)
	}
}

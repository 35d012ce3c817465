package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/browsertest"
)

// TestFunnelAndGoalsInChromium: in a browser, the goals panel shows the custom events with known
// numbers, and the funnel panel's form turns written steps into each step's visitors, conversion and
// drop-off; saved, the funnel is what the dashboard shows next time.
func TestFunnelAndGoalsInChromium(t *testing.T) {
	ctx := browsertest.New(t, 120*time.Second)
	e := newEnv(t)
	setupOwner(t, ctx, e.srv.URL)
	siteID := funnelSite(t, e) // six visitors; signup: A, B, C, F; purchase: A, D, F
	rows := func(sel string) string {
		return eval[string](t, ctx, `Array.from(document.querySelectorAll('`+sel+` tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText.trim()).join(' ')).join('\n')`)
	}
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/sites/"+siteID+"?range=7d"), chromedp.WaitVisible(chromedp.CSS(`#funnel-steps`)))
	if got, want := rows("#goals"), "signup unclassified 4 4 66.7% —\npurchase unclassified 3 3 50.0% —"; got != want {
		t.Errorf("goals panel:\n%s\nwant:\n%s", got, want)
	}
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#funnel-steps`), "/pricing, signup, purchase"),
		chromedp.Submit(chromedp.CSS(`#funnel-steps`)),
		chromedp.WaitVisible(chromedp.CSS(`#funnel table`)),
	)
	want := "/pricing page 4 100% —\nsignup event 3 75% 1 (25%)\npurchase event 1 25% 2 (66.67%)"
	if got := rows("#funnel"); got != want {
		t.Errorf("funnel panel:\n%s\nwant:\n%s", got, want)
	}
	if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "range=7d") || !strings.Contains(loc, "funnel=") {
		t.Errorf("the funnel form lost the dashboard's controls or is not in the URL: %s", loc)
	}
	shot(t, ctx, "funnel")
	// The save posts and redirects: wait for the page after it (where the save button is gone) before
	// navigating, or the navigation aborts the post.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#save-funnel`)), chromedp.WaitNotPresent(chromedp.CSS(`#save-funnel`)))
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/sites/"+siteID+"?range=7d"), chromedp.WaitVisible(chromedp.CSS(`#funnel table`)))
	if got := rows("#funnel"); got != want {
		t.Errorf("saved funnel:\n%s\nwant:\n%s", got, want)
	}
}

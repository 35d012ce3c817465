package web_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/browsertest"
)

var screenshots = flag.String("screenshots", "", "directory to save page screenshots into, to look at a test's pages (the README's come from the demo: scripts/screenshots.sh)")

// shot saves a full-page screenshot when -screenshots is set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserSetupAndSite drives the real UI in Chromium: owner setup, site creation, the snippet.
func TestBrowserSetupAndSite(t *testing.T) {
	ctx := browsertest.New(t, 60*time.Second)
	e := newEnv(t)
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/setup") {
		t.Errorf("first visit landed on %s, want /setup", loc)
	}
	shot(t, ctx, "setup")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`#password_confirm`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`#password_confirm`)),
		chromedp.WaitVisible(chromedp.CSS(`#domain`)),
		chromedp.SendKeys(chromedp.CSS(`#domain`), "shop.example.com"),
		chromedp.SetValue(chromedp.CSS(`#currency`), "EUR"),
		chromedp.SetValue(chromedp.CSS(`#timezone`), "Europe/Berlin"),
		chromedp.Submit(chromedp.CSS(`#domain`)),
		chromedp.WaitVisible(chromedp.CSS(`pre.code`)),
	)
	snippet, heading := text(t, ctx, "pre.code"), text(t, ctx, "h1")
	shot(t, ctx, "site-settings")
	if heading != "shop.example.com" || !strings.Contains(snippet, "/js/tributary.js") || !strings.Contains(snippet, `data-site="`) {
		t.Fatalf("after creating a site: heading %q snippet %q", heading, snippet)
	}
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/sites"), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	sites := text(t, ctx, "table.list")
	shot(t, ctx, "sites")
	if !strings.Contains(sites, "EUR") || !strings.Contains(sites, "Europe/Berlin") {
		t.Fatalf("sites table = %q", sites)
	}
}

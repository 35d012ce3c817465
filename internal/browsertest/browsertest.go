// Package browsertest starts Debian's Chromium for chromedp tests with the flags these machines need:
// headless, no sandbox (root in CI), no background networking (the network is closed) and a fresh
// profile per test.
package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/testenv"
)

// UserAgent is the desktop Chrome user agent the test browser presents.
const UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

// New returns a browser tab context that is cancelled when the test ends; it skips (or, when the
// chromium gate is required, fails) without Chromium. timeout bounds the whole test's browser use.
func New(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path := testenv.ChromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 900),
		// Headless Chromium says "HeadlessChrome", which Tributary rightly drops as a bot; the tests play
		// a real visitor.
		chromedp.UserAgent(UserAgent),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium at %s: %v", path, err)
	}
	return ctx
}

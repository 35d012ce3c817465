// Command screenshots logs in to a running Tributary (the demo) with Chromium and saves the README's
// screenshots, and reports pages that overflow a phone's width. scripts/screenshots.sh runs it against
// a fresh demo:
//
//	go run ./scripts/screenshots -url http://127.0.0.1:18080 -email demo@tributary.local -password … -out docs/screenshots
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "the server")
	email := flag.String("email", "demo@tributary.local", "owner e-mail")
	password := flag.String("password", "", "owner password")
	out := flag.String("out", "docs/screenshots", "directory for the PNG files")
	chromium := flag.String("chromium", "/usr/bin/chromium", "Chromium binary")
	width := flag.Int64("width", 1440, "desktop width in CSS pixels")
	flag.Parse()
	if err := run(*base, *email, *password, *out, *chromium, *width); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(base, email, password, out, chromium string, width int64) error {
	dir, err := os.MkdirTemp("", "tributary-shots")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium), chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true), chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(int(width), 900), chromedp.Flag("hide-scrollbars", true))
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel3()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email), chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)), chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Main]`))); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	site, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => { const r = await fetch('/sites'); const t = await r.text();
		const m = t.match(/href="\/sites\/([A-Za-z0-9]+)"/); return m ? m[1] : '' })()`, awaitPromise))
	if err != nil || site == "" {
		return fmt.Errorf("find the demo site: %v", err)
	}
	customer, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => { const r = await fetch('/sites/`+site+`/customers'); const t = await r.text();
		const m = t.match(/href="(\/sites\/[A-Za-z0-9]+\/customers\/[^"]+)"/); return m ? m[1].replaceAll('&amp;', '&') : '' })()`, awaitPromise))
	if err != nil {
		return err
	}
	pages := []struct{ name, path string }{
		{"dashboard", "/sites/" + site}, {"revenue", "/sites/" + site + "/revenue"}, {"customers", "/sites/" + site + "/customers"},
		{"customer-journey", customer}, {"stripe", "/sites/" + site + "/stripe"}, {"site-settings", "/sites/" + site + "/settings"}, {"sites", "/sites"},
	}
	for _, p := range pages {
		if p.path == "" {
			continue
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(`footer`))); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		// What a visitor of the page sees first, at desktop width (the README shows these).
		buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			return err
		}
		// A table wider than its card scrolls: at desktop width none should.
		cut, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table')].filter(t => t.scrollWidth > t.clientWidth + 1).map(t => (t.closest('section')?.querySelector('h2')?.textContent || '?') + ' by ' + (t.scrollWidth - t.clientWidth) + ' px')`))
		if err == nil && len(cut) > 0 {
			fmt.Printf("%-18s at %d px, tables cut off: %s\n", p.name, width, strings.Join(cut, "; "))
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, p.name+".png"), buf, 0o644); err != nil {
			return err
		}
		// The same page on a phone: nothing may be wider than the screen.
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`footer`))); err != nil {
			return err
		}
		phone, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
		if err != nil {
			return err
		}
		status := "ok"
		if phone > 0 {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')].filter(e => { const w = document.documentElement.clientWidth + 1; return e.getBoundingClientRect().right > w && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w) })
				.slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className == 'string' ? '.' + e.className.split(' ')[0] : '') + ' ' + Math.round(e.getBoundingClientRect().right))`))
			status = fmt.Sprintf("overflows 390 px by %d px: %s", phone, strings.Join(wide, ", "))
		}
		fmt.Printf("%-18s %s\n", p.name, strings.TrimSpace(status))
	}
	return nil
}

func awaitPromise(p *runtime.EvaluateParams) { t := true; p.AwaitPromise = &t }

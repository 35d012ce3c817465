package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// TestInstallCheck: a site without events shows "waiting for the first event" with its snippet instead
// of an empty chart; the events dropped for it are listed with their reason and what to do; the first
// kept event turns the dashboard into the usual one.
func TestInstallCheck(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	dash := func() string {
		t.Helper()
		st, page, _ := b.get("/sites/" + siteID)
		if st != 200 {
			t.Fatalf("dashboard: %d", st)
		}
		return page
	}
	page := dash()
	for _, want := range []string{`id="waiting"`, "Waiting for the first event", `data-site=&#34;` + siteID, `id="no-drops"`} {
		if !strings.Contains(page, want) {
			t.Errorf("new site's dashboard lacks %q", want)
		}
	}
	if strings.Contains(page, `class="chart"`) {
		t.Error("new site's dashboard shows an empty chart")
	}

	headless := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
	drops := []struct{ name, url, ua, reason, advice string }{
		{"staging page", "https://staging.shop-example.net/", chromeUA, "host_mismatch", "check the domain in the settings"},
		{"headless browser", "https://shop.example/", headless, "bot", "headless browsers"},
	}
	for _, d := range drops {
		r := e.event(`{"site":"`+siteID+`","name":"pageview","url":"`+d.url+`"}`, d.ua, "text/plain")
		if r.header.Get("X-Tributary-Dropped") != d.reason {
			t.Fatalf("%s: dropped %q, want %q", d.name, r.header.Get("X-Tributary-Dropped"), d.reason)
		}
	}
	page = dash()
	table, _, ok := strings.Cut(page[strings.Index(page, `id="drops"`)+1:], "</table>")
	if !ok || strings.Index(page, `id="drops"`) < 0 {
		t.Fatal("no table of dropped events")
	}
	for _, d := range drops {
		if !strings.Contains(table, "<code>"+d.reason+"</code>") || !strings.Contains(table, d.advice) {
			t.Errorf("%s: the drops table lacks %s and its advice %q", d.name, d.reason, d.advice)
		}
	}
	if !strings.Contains(table, "staging.shop-example.net") {
		t.Error("the drops table does not name the page's host")
	}
	// Newest first: the headless drop came last.
	if strings.Index(table, "<code>bot</code>") > strings.Index(table, "<code>host_mismatch</code>") {
		t.Error("drops are not listed newest first")
	}

	if r := e.event(`{"site":"`+siteID+`","name":"pageview","url":"https://shop.example/","visitor_id":"AAAAAAAAAAAAAAAAAAAA","session_id":"BBBBBBBBBBBBBBBBBBBB"}`, chromeUA, "text/plain"); r.header.Get("X-Tributary-Dropped") != "" {
		t.Fatalf("a good event was dropped: %s", r.header.Get("X-Tributary-Dropped"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := e.store.CountEvents(context.Background(), siteID, tributary.EarliestEventTime, clock.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the event was not stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if page := dash(); strings.Contains(page, `id="waiting"`) || !strings.Contains(page, `class="chart"`) {
		t.Error("after the first event the dashboard still waits")
	}
}

package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// loggedIn is a browser logged in as the owner of a fresh env.
func loggedIn(t *testing.T, e *env) *browser {
	t.Helper()
	b := newBrowser(e)
	_, page, _ := b.get("/setup")
	b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page))
	return b
}

// TestModeSwitch: live and test money never mix on the pages; each page has a Live / Test switch in the
// URL, a live dashboard says how many test payments it hides, every revenue row says its mode, and the
// customer link of a test payment opens that customer (in test mode) instead of 404.
func TestModeSwitch(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID, _ := e.siteWithKey("USD", "events:write")
	at := clock.Add(-26 * time.Hour)
	entry := func(pid, cus string, live bool, amount int64) tributary.LedgerEntry {
		return tributary.LedgerEntry{ID: "pay:" + pid, SiteID: siteID, Livemode: live, Kind: tributary.EntryPayment, PaymentID: pid, OccurredAt: at,
			Amount: amount, Currency: "USD", ReportingAmount: amount, ReportingCurrency: "USD", Rate: "1", Converted: true, CustomerID: cus, Source: "stripe"}
	}
	if _, err := e.store.InsertLedger(context.Background(), []tributary.LedgerEntry{
		entry("pi_live1", "cus_live", true, 1000), entry("pi_test1", "cus_test", false, 2500), entry("pi_test2", "cus_test", false, 500)}); err != nil {
		t.Fatal(err)
	}
	kpi := func(page, label string) string {
		m := regexp.MustCompile(`<div class="muted">` + label + `</div><div class="kpi-value">([^<]*)</div>`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s card", label)
		}
		return m[1]
	}
	tests := []struct {
		name, path, revenue string
		hint, note          bool
	}{
		{"live by default", "/sites/" + siteID, "$10.00", true, false},
		{"live explicitly", "/sites/" + siteID + "?mode=live", "$10.00", true, false},
		{"test", "/sites/" + siteID + "?mode=test", "$30.00", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, page, _ := b.get(tc.path)
			if st != 200 {
				t.Fatalf("%s: %d", tc.path, st)
			}
			if got := kpi(page, "Revenue"); got != tc.revenue {
				t.Errorf("revenue %s, want %s", got, tc.revenue)
			}
			if got := strings.Contains(page, `id="mode-hint"`) && strings.Contains(page, "2 test payments are hidden"); got != tc.hint {
				t.Errorf("hint shown %v, want %v", got, tc.hint)
			}
			if got := strings.Contains(page, `id="mode-note"`); got != tc.note {
				t.Errorf("test-mode note shown %v, want %v", got, tc.note)
			}
			if !strings.Contains(page, `id="mode-test"`) || !strings.Contains(page, `id="mode-live"`) {
				t.Error("no Live / Test switch")
			}
			cur := "mode-live"
			if tc.note {
				cur = "mode-test"
			}
			if !strings.Contains(page, `aria-current="page" id="`+cur+`"`) {
				t.Errorf("switch does not mark %s", cur)
			}
		})
	}

	// The revenue page: a Mode column, and test customers linked with ?mode=test.
	_, page, _ := b.get("/sites/" + siteID + "/revenue")
	if n := strings.Count(page, `<span class="mode-test">test</span>`); n != 2 {
		t.Errorf("%d rows marked test, want 2", n)
	}
	link := regexp.MustCompile(`href="(/sites/` + siteID + `/customers/cus_test[^"]*)"`).FindStringSubmatch(page)
	if link == nil || !strings.HasSuffix(link[1], "?mode=test") {
		t.Fatalf("test customer link %v", link)
	}
	st, cpage, _ := b.get(strings.ReplaceAll(link[1], "&amp;", "&"))
	if st != 200 || !strings.Contains(cpage, "$30.00") || !strings.Contains(cpage, `id="mode-note"`) {
		t.Errorf("test customer page: %d, LTV $30.00 and test note expected", st)
	}
	if st, _, _ := b.get("/sites/" + siteID + "/customers/cus_live"); st != 200 {
		t.Errorf("live customer page: %d", st)
	}
	// The customers list in test mode lists the test customer, with links that stay in test mode.
	_, lpage, _ := b.get("/sites/" + siteID + "/customers?mode=test")
	if !strings.Contains(lpage, "/customers/cus_test?mode=test") || strings.Contains(lpage, "cus_live") {
		t.Error("test-mode customers list does not keep to test mode")
	}
}

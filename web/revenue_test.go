package web_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// TestRevenuePage: the newest 200 entries with their link methods, and every unattributed payment in the
// review list, however old (the list used to be cut from the newest entries).
func TestRevenuePage(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	_, page, _ := b.get("/setup")
	b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page))
	siteID, _ := e.siteWithKey("USD", "events:write")
	ctx := context.Background()
	var entries []tributary.LedgerEntry
	var links []tributary.Identity
	for i := 0; i < 230; i++ {
		at := clock.Add(-time.Duration(230-i) * time.Hour)
		pid := fmt.Sprintf("pi_%03d", i)
		entries = append(entries, tributary.LedgerEntry{ID: "pay:" + pid, SiteID: siteID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: pid,
			OccurredAt: at, Amount: 1000 + int64(i), Currency: "USD", ReportingAmount: 1000 + int64(i), ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "api"})
		l := tributary.Identity{SiteID: siteID, At: at, PaymentID: pid, VisitorID: fmt.Sprintf("v%d", i), LinkMethod: tributary.LinkMetadata, Source: "api"}
		if i == 3 || i == 228 { // one older than the newest 200 entries, one among them
			l.VisitorID, l.LinkMethod = "", tributary.LinkUnattributed
		}
		links = append(links, l)
	}
	if _, err := e.store.InsertLedger(ctx, entries); err != nil {
		t.Fatal(err)
	}
	if err := e.store.InsertIdentities(ctx, links); err != nil {
		t.Fatal(err)
	}
	status, page, _ := b.get("/sites/" + siteID + "/revenue")
	if status != 200 {
		t.Fatalf("revenue page: %d", status)
	}
	review, rest, ok := strings.Cut(page, "Payments, refunds and disputes")
	if !ok {
		t.Fatal("no entries section")
	}
	for _, want := range []string{"pi_003", "pi_228", "$10.03", "$12.28", "Guest · pi_003"} {
		if !strings.Contains(review, want) {
			t.Errorf("review list lacks %s", want)
		}
	}
	if strings.Contains(review, "pi_100") {
		t.Error("a linked payment is in the review list")
	}
	if n := strings.Count(rest, "<code>pi_"); n != 200 {
		t.Errorf("entries list has %d payments, want the newest 200", n)
	}
	if !strings.Contains(rest, "pi_229") || strings.Contains(rest, "pi_029") {
		t.Error("entries list is not the newest 200")
	}
	if !strings.Contains(rest, ">metadata<") || !strings.Contains(rest, ">unattributed<") {
		t.Error("entries list lacks the link methods")
	}
}

// TestRevenueMovementsPaged: the MRR movements list newest first, 50 a page, with links to older and
// newer pages.
func TestRevenueMovementsPaged(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID, _ := e.siteWithKey("USD", "events:write")
	var ms []tributary.MRRMovement
	for i := 0; i < 120; i++ {
		ms = append(ms, tributary.MRRMovement{ID: fmt.Sprintf("m%03d", i), SiteID: siteID, Livemode: true, SubscriptionID: fmt.Sprintf("sub_%03d", i),
			At: clock.Add(-time.Duration(120-i) * time.Hour), Kind: tributary.MRRNew, Delta: 1000, Currency: "USD", ReportingDelta: 1000,
			ReportingCurrency: "USD", Converted: true, Source: "api"})
	}
	if _, err := e.store.InsertMRRMovements(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	subs := regexp.MustCompile(`<code>(sub_\d+)</code>`)
	tests := []struct {
		query, first, last string
		n                  int
		prev, next         bool
	}{
		{"", "sub_119", "sub_070", 50, false, true},
		{"?moves=50", "sub_069", "sub_020", 50, true, true},
		{"?moves=100", "sub_019", "sub_000", 20, true, false},
		{"?moves=500", "sub_119", "sub_070", 50, false, true}, // out of range: the first page
	}
	for _, tc := range tests {
		_, page, _ := b.get("/sites/" + siteID + "/revenue" + tc.query)
		_, moves, _ := strings.Cut(page, `id="movements"`)
		got := subs.FindAllStringSubmatch(moves, -1)
		if len(got) != tc.n || got[0][1] != tc.first || got[len(got)-1][1] != tc.last {
			t.Errorf("%q: %d movements from %v, want %d from %s to %s", tc.query, len(got), got[0], tc.n, tc.first, tc.last)
		}
		if p := strings.Contains(moves, `rel="prev"`); p != tc.prev {
			t.Errorf("%q: newer link %v, want %v", tc.query, p, tc.prev)
		}
		if n := strings.Contains(moves, `rel="next"`); n != tc.next {
			t.Errorf("%q: older link %v, want %v", tc.query, n, tc.next)
		}
	}
}

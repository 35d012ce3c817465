package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func newRecorder(t *testing.T) (*Recorder, *duckdb.Store) {
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, st), st
}

var site = &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}

func TestLinkOrder(t *testing.T) {
	ctx := context.Background()
	r, st := newRecorder(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Facts that exist before the payments: an identify of ann, an earlier linked payment of cus_b.
	must(st.InsertIdentities(ctx, []tributary.Identity{
		{SiteID: "s1", At: t0.Add(-time.Hour), VisitorID: "vAnn", SessionID: "sAnn", PersonID: "ann@example.com", Email: "ann@example.com", Source: "browser"},
		{SiteID: "s1", At: t0.Add(-time.Hour), VisitorID: "vBob", SessionID: "sBob", CustomerID: "cus_b", PaymentID: "pi_old", LinkMethod: "metadata", Source: "stripe"},
	}))
	tests := []struct {
		name    string
		p       Payment
		method  string
		visitor string
		channel string
	}{
		{"metadata wins", Payment{PaymentID: "p1", VisitorID: "vMeta", SessionID: "sMeta", ClientReferenceID: "trib-vRef-sRef", CustomerID: "cus_b", Email: "ann@example.com"}, "metadata", "vMeta", ""},
		{"client reference id", Payment{PaymentID: "p2", ClientReferenceID: "trib-vRef-sRef", CustomerID: "cus_b"}, "client_reference_id", "vRef", ""},
		{"raw client reference id", Payment{PaymentID: "p3", ClientReferenceID: "vRaw"}, "client_reference_id", "vRaw", ""},
		// cus_b paid before through p2 (client reference vRef): its newest linked payment wins over the older pi_old.
		{"customer", Payment{PaymentID: "p4", CustomerID: "cus_b", Email: "ann@example.com"}, "customer", "vRef", ""},
		{"email", Payment{PaymentID: "p5", Email: "ANN@example.com"}, "email", "vAnn", ""},
		{"unattributed with utm", Payment{PaymentID: "p6", Email: "new@example.com", UTMSource: "newsletter", UTMMedium: "email"}, "unattributed", "", "Email"},
		{"unattributed direct", Payment{PaymentID: "p7"}, "unattributed", "", "Direct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.SiteID, tc.p.At, tc.p.Source = "s1", t0, "stripe"
			l, err := r.Link(ctx, site, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if l.LinkMethod != tc.method || l.VisitorID != tc.visitor || (tc.channel != "" && l.Channel != tc.channel) {
				t.Fatalf("link = %+v, want %s %s %s", l, tc.method, tc.visitor, tc.channel)
			}
			// Re-linking the same payment is idempotent.
			if _, err := r.Link(ctx, site, tc.p); err != nil {
				t.Fatal(err)
			}
			var n int
			st.DB().QueryRow(`SELECT count(*) FROM identities WHERE payment_id = $1`, tc.p.PaymentID).Scan(&n)
			if n != 1 {
				t.Fatalf("%d link rows after linking twice", n)
			}
		})
	}
	// An e-mail match carries the payment's customer id; the payment's next event must not take that
	// row for an earlier payment of the customer and relabel the match "customer".
	for i := range 2 {
		l, err := r.Link(ctx, site, Payment{SiteID: "s1", PaymentID: "p8", At: t0, CustomerID: "cus_new", Email: "ann@example.com", Source: "stripe"})
		if err != nil || l.LinkMethod != "email" || l.VisitorID != "vAnn" {
			t.Fatalf("event %d of an e-mail matched payment: %+v %v", i+1, l, err)
		}
	}
	// A weaker observation never downgrades a stronger link.
	l, err := r.Link(ctx, site, Payment{SiteID: "s1", PaymentID: "p1", At: t0.Add(time.Hour), Email: "ann@example.com", Source: "stripe"})
	if err != nil || l.LinkMethod != "metadata" {
		t.Fatalf("downgraded: %+v %v", l, err)
	}
	// A payment that arrived before its visitor's identify links once the identify is stored.
	must(st.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: t0.Add(2 * time.Hour), VisitorID: "vNew", SessionID: "sNew", PersonID: "new@example.com", Email: "new@example.com", Source: "browser"}}))
	n, err := r.Relink(ctx, site)
	if err != nil || n != 1 {
		t.Fatalf("relink = %d %v", n, err)
	}
	got, err := st.PaymentLink(ctx, "s1", "p6")
	if err != nil || got.LinkMethod != "email" || got.VisitorID != "vNew" {
		t.Fatalf("after relink = %+v %v", got, err)
	}
	if n, _ := r.Relink(ctx, site); n != 0 {
		t.Fatalf("second relink linked %d again", n)
	}
}

func TestParseClientReferenceID(t *testing.T) {
	tests := []struct{ in, v, s string }{
		{"trib-AAAA-BBBB", "AAAA", "BBBB"},
		{"trib-AAAA", "AAAA", ""},
		{"plainVisitor123", "plainVisitor123", ""},
		{"trib-<x>-y", "", ""},
		{"order 17", "", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		if v, s := ParseClientReferenceID(tc.in); v != tc.v || s != tc.s {
			t.Errorf("%q = %q %q", tc.in, v, s)
		}
	}
}

func TestConvertNeverGuesses(t *testing.T) {
	ctx := context.Background()
	r, st := newRecorder(t)
	entries := []tributary.LedgerEntry{{ID: "a", Amount: 4999, Currency: "usd", OccurredAt: t0}, {ID: "b", Amount: 5000, Currency: "JPY", OccurredAt: t0}}
	if err := r.Convert(ctx, site, entries); err != nil {
		t.Fatal(err)
	}
	if !entries[0].Converted || entries[0].ReportingAmount != 4999 || entries[0].Rate != "1" || entries[0].Currency != "USD" {
		t.Fatalf("same currency = %+v", entries[0])
	}
	if entries[1].Converted || entries[1].ReportingAmount != 0 || entries[1].Rate != "" {
		t.Fatalf("no rate must stay unconverted: %+v", entries[1])
	}
	if _, err := st.PutExchangeRates(ctx, []tributary.ExchangeRate{{Date: "2026-11-19", Currency: "USD", PerEUR: "1.05"}, {Date: "2026-11-19", Currency: "JPY", PerEUR: "160"}}); err != nil {
		t.Fatal(err)
	}
	r.InvalidateRates()
	entries[1].Converted = false
	if err := r.Convert(ctx, site, entries[1:]); err != nil {
		t.Fatal(err)
	}
	if !entries[1].Converted || entries[1].ReportingAmount != 3281 || entries[1].RateDate != "2026-11-19" {
		t.Fatalf("JPY with the previous day's rate = %+v", entries[1])
	}
}

// TestBeforeTracking: an imported payment from before the site's first tracked event is its own
// "Before tracking" channel, never retried as unattributed; one after it is unattributed as ever; a site
// that tracks nothing yet leaves every payment unattributed.
func TestBeforeTracking(t *testing.T) {
	ctx := context.Background()
	r, st := newRecorder(t)
	site := &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
	first := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	pay := func(id string, at time.Time) *tributary.Identity {
		l, err := r.Link(ctx, site, Payment{SiteID: "s1", PaymentID: id, At: at, CustomerID: "cus_" + id, Source: "stripe"})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := pay("early_untracked", first.AddDate(0, -6, 0)); l.LinkMethod != tributary.LinkUnattributed {
		t.Fatalf("no tracking yet: %+v", l)
	}
	if err := st.InsertEvents(ctx, []tributary.Event{{SiteID: "s1", Timestamp: first, Name: "pageview", Source: "browser", VisitorID: "v1", SessionID: "s1",
		Hostname: "shop.example", Path: "/"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     string
		at     time.Time
		method string
	}{
		{"before", first.Add(-time.Hour), tributary.LinkBeforeTracking},
		{"long_before", first.AddDate(-1, 0, 0), tributary.LinkBeforeTracking},
		{"after", first.Add(time.Hour), tributary.LinkUnattributed},
	} {
		l := pay(tc.id, tc.at)
		if l.LinkMethod != tc.method || (tc.method == tributary.LinkBeforeTracking && l.Channel != tributary.ChannelBeforeTracking) {
			t.Errorf("%s: %+v", tc.id, l)
		}
	}
	un, err := st.UnattributedPayments(ctx, "s1", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range un {
		if u.PaymentID == "before" || u.PaymentID == "long_before" {
			t.Fatalf("a payment before tracking is retried for linking: %+v", u)
		}
	}
}

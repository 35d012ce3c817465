package customers_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/store/duckdb"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// fixture: three people.
//   - Ann pays twice as Stripe customer cus_A (one payment also carries her e-mail) and once as a guest
//     with the same e-mail: one person, three payments; one is partly refunded; she subscribes.
//   - Bob pays once through the API with only an e-mail; a lost dispute takes it back.
//   - A guest with neither id nor e-mail; and a JPY payment without an exchange rate (unconverted).
func fixture(t *testing.T) (*customers.Service, *tributary.Site) {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	site := &tributary.Site{ID: "s1", Domain: "shop.example", Name: "Shop", Currency: "EUR", Timezone: "UTC", Locale: "en-US", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	pay := func(id, kind, pid string, h int, amount int64, cus, email string, converted bool) tributary.LedgerEntry {
		e := tributary.LedgerEntry{ID: id, SiteID: "s1", Livemode: true, Kind: kind, PaymentID: pid, OccurredAt: at(h), Amount: amount, Currency: "EUR",
			ReportingAmount: amount, ReportingCurrency: "EUR", Converted: converted, CustomerID: cus, Email: email, Source: "stripe"}
		if !converted {
			e.Currency, e.ReportingAmount = "JPY", 0
		}
		return e
	}
	entries := []tributary.LedgerEntry{
		pay("pay:a1", tributary.EntryPayment, "pi_a1", 2, 5000, "cus_A", "", true),
		pay("pay:a2", tributary.EntryPayment, "pi_a2", 30, 3000, "cus_A", "Ann@Example.com", true),
		pay("refund:a2", tributary.EntryRefund, "pi_a2", 40, -1000, "", "", true),
		pay("pay:a3", tributary.EntryPayment, "pi_a3", 50, 2000, "", "", true),
		pay("pay:b1", tributary.EntryPayment, "ord_b1", 5, 9000, "", "bob@example.com", true),
		pay("dispute_withdrawn:b1", tributary.EntryDisputeWithdrawn, "ord_b1", 60, -9000, "", "", true),
		pay("pay:g1", tributary.EntryPayment, "pi_g1", 7, 1500, "", "", true),
		pay("pay:j1", tributary.EntryPayment, "pi_j1", 8, 20000, "cus_J", "", false),
		{ID: "pay:test", SiteID: "s1", Livemode: false, Kind: tributary.EntryPayment, PaymentID: "pi_test", OccurredAt: at(9), Amount: 100, Currency: "EUR",
			ReportingAmount: 100, ReportingCurrency: "EUR", Converted: true, CustomerID: "cus_A", Source: "stripe"},
	}
	if _, err := st.InsertLedger(ctx, entries); err != nil {
		t.Fatal(err)
	}
	// pi_a3 is a guest checkout: the e-mail is only on its payment record.
	if err := st.PutPayment(ctx, &tributary.Payment{SiteID: "s1", ID: "pi_a3", Livemode: true, Status: "succeeded", Amount: 2000, Currency: "EUR",
		Email: "ann@example.com", Created: at(50), Source: "stripe"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutPayment(ctx, &tributary.Payment{SiteID: "s1", ID: "pi_a2", Livemode: true, Status: "partially_refunded", Amount: 3000, Currency: "EUR",
		CustomerID: "cus_A", Created: at(30), Source: "stripe"}); err != nil {
		t.Fatal(err)
	}
	// Ann's visits: a Google visit a day before her first payment, a newsletter visit before the second,
	// and one 40 days earlier (outside the 30-day lookback).
	ev := func(h int, session, ch, src, campaign, path string) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: at(h), Name: "pageview", Source: "browser", VisitorID: "vAnn", SessionID: session, Hostname: "shop.example",
			Path: path, Channel: ch, ReferrerSource: src, UTMCampaign: campaign, Country: "DE", Device: "desktop"}
	}
	events := []tributary.Event{
		ev(-24*40, "sOld", "Referral", "blog.example", "", "/old"),
		ev(-20, "sG", "Organic Search", "Google", "", "/pricing"),
		ev(-19, "sG", "Organic Search", "Google", "", "/signup"),
		ev(28, "sN", "Email", "newsletter", "<script>x</script>", "/upgrade"),
	}
	if err := st.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	links := []tributary.Identity{
		{SiteID: "s1", At: at(2), VisitorID: "vAnn", SessionID: "sG", PaymentID: "pi_a1", LinkMethod: tributary.LinkMetadata, Source: "stripe"},
		{SiteID: "s1", At: at(30), VisitorID: "vAnn", SessionID: "sN", PaymentID: "pi_a2", LinkMethod: tributary.LinkCustomer, Source: "stripe"},
		{SiteID: "s1", At: at(5), PaymentID: "ord_b1", LinkMethod: tributary.LinkUnattributed, Channel: "Direct", Source: "server"},
	}
	if err := st.InsertIdentities(ctx, links); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertMRRMovements(ctx, []tributary.MRRMovement{
		{ID: "m1", SiteID: "s1", Livemode: true, SubscriptionID: "sub_A", CustomerID: "cus_A", At: at(30), Kind: tributary.MRRNew, Delta: 3000, Currency: "EUR",
			ReportingDelta: 3000, ReportingCurrency: "EUR", Converted: true, Source: "stripe"},
		{ID: "m2", SiteID: "s1", Livemode: true, SubscriptionID: "sub_A", CustomerID: "cus_A", At: at(45), Kind: tributary.MRRExpansion, Delta: 2000, Currency: "EUR",
			ReportingDelta: 2000, ReportingCurrency: "EUR", Converted: true, Source: "stripe"},
	}); err != nil {
		t.Fatal(err)
	}
	return &customers.Service{Meta: st, Events: st}, site
}

func TestListGroupsPeopleAndSums(t *testing.T) {
	svc, site := fixture(t)
	ctx := context.Background()
	list, total, err := svc.List(ctx, site, customers.Query{})
	if err != nil {
		t.Fatal(err)
	}
	// Ann 5000+3000-1000+2000 = 9000; guest 1500; Bob 9000-9000 = 0; cus_J unconverted only.
	type want struct {
		id, email            string
		payments             int
		gross, refunds, disp int64
		ltv, mrr             int64
		unconverted          int
		channel              string
	}
	wants := []want{
		{"cus_A", "ann@example.com", 3, 10000, -1000, 0, 9000, 5000, 0, "Organic Search"},
		{"payment:pi_g1", "", 1, 1500, 0, 0, 1500, 0, 0, ""},
		{"cus_J", "", 1, 0, 0, 0, 0, 0, 1, ""},
		{"email:bob@example.com", "bob@example.com", 1, 9000, 0, -9000, 0, 0, 0, "Direct"},
	}
	if total != len(wants) || len(list) != len(wants) {
		t.Fatalf("total %d, list %+v", total, list)
	}
	for i, w := range wants {
		c := list[i]
		got := want{c.ID, c.Email, c.Payments, c.Gross, c.Refunds, c.Disputes, c.LTV, c.MRR, c.Unconverted, c.Channel}
		if got != w {
			t.Errorf("row %d = %+v, want %+v", i, got, w)
		}
	}
	if !list[0].FirstPayment.Equal(at(2)) || !list[0].LastPayment.Equal(at(50)) {
		t.Errorf("Ann's payment times %v %v", list[0].FirstPayment, list[0].LastPayment)
	}

	tests := []struct {
		q     customers.Query
		ids   []string
		total int
	}{
		{customers.Query{Search: "BOB@"}, []string{"email:bob@example.com"}, 1},
		{customers.Query{Search: "cus_"}, []string{"cus_A", "cus_J"}, 2},
		{customers.Query{Sort: "last_payment", Limit: 2}, []string{"cus_A", "cus_J"}, 4},
		{customers.Query{Sort: "first_payment", Limit: 2, Offset: 1}, []string{"email:bob@example.com", "payment:pi_g1"}, 4},
		{customers.Query{Sort: "payments", Limit: 1}, []string{"cus_A"}, 4},
		{customers.Query{Offset: 10}, []string{}, 4},
		{customers.Query{Test: true}, []string{"cus_A"}, 1},
	}
	for _, tc := range tests {
		got, total, err := svc.List(ctx, site, tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		ids := []string{}
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if total != tc.total || len(ids) != len(tc.ids) {
			t.Errorf("%+v: ids %v total %d, want %v %d", tc.q, ids, total, tc.ids, tc.total)
			continue
		}
		for i := range ids {
			if ids[i] != tc.ids[i] {
				t.Errorf("%+v: ids %v, want %v", tc.q, ids, tc.ids)
				break
			}
		}
	}
	for _, bad := range []customers.Query{{Sort: "age"}, {Limit: 501}, {Offset: -1}} {
		if _, _, err := svc.List(ctx, site, bad); tributary.ErrorCode(err) != tributary.EINVALID {
			t.Errorf("%+v: err %v, want invalid", bad, err)
		}
	}
}

func TestDetailJourney(t *testing.T) {
	svc, site := fixture(t)
	ctx := context.Background()
	d, err := svc.Get(ctx, site, "cus_A", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.PaymentList) != 3 || d.LTV != 9000 || d.MRR != 5000 {
		t.Fatalf("detail %+v", d.Customer)
	}
	p1, p2, p3 := d.PaymentList[0], d.PaymentList[1], d.PaymentList[2]
	if p1.ID != "pi_a1" || p1.LinkMethod != tributary.LinkMetadata || len(p1.Sessions) != 1 || p1.Sessions[0].SessionID != "sG" ||
		p1.Sessions[0].Channel != "Organic Search" || p1.Sessions[0].LandingPage != "/pricing" || p1.Sessions[0].Pageviews != 2 {
		t.Errorf("first payment journey %+v", p1)
	}
	// Before the second payment: the Google visit and the newsletter visit, oldest first; not the visit
	// 40 days before.
	if p2.ID != "pi_a2" || p2.Status != "partially_refunded" || len(p2.Sessions) != 2 || p2.Sessions[1].UTMCampaign != "<script>x</script>" || len(p2.Entries) != 2 {
		t.Errorf("second payment %+v", p2)
	}
	if p3.ID != "pi_a3" || p3.LinkMethod != tributary.LinkUnattributed || len(p3.Sessions) != 0 {
		t.Errorf("guest payment %+v", p3)
	}
	if len(d.Subscriptions) != 1 || d.Subscriptions[0].MRR != 5000 || d.Subscriptions[0].Status != "active" || len(d.Subscriptions[0].Movements) != 2 {
		t.Errorf("subscriptions %+v", d.Subscriptions)
	}
	for _, alias := range []string{"ann@example.com", "email:ANN@example.com", "payment:pi_a3", "payment:pi_a1"} {
		if a, err := svc.Get(ctx, site, alias, false); err != nil || a.ID != "cus_A" {
			t.Errorf("Get(%q) = %v, %v; want Ann", alias, a, err)
		}
	}
	if _, err := svc.Get(ctx, site, "payment:pi_g2", false); tributary.ErrorCode(err) != tributary.ENOTFOUND {
		t.Errorf("unknown payment: %v", err)
	}
	if _, err := svc.Get(ctx, site, "cus_nobody", false); tributary.ErrorCode(err) != tributary.ENOTFOUND {
		t.Errorf("unknown customer: %v", err)
	}
}

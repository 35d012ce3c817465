package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// Conversions runs the ConvertPending suite: entries and MRR movements stored without an exchange rate
// get their reporting fields when rates arrive; their original amount and currency, the entries already
// converted, those still without a rate and other sites' entries do not change.
func Conversions(t *testing.T, open func(t *testing.T) tributary.EventStore) {
	ctx := context.Background()
	at := Clock.Add(-24 * time.Hour)
	entry := func(site, id, cur string, amount int64, converted bool) tributary.LedgerEntry {
		e := tributary.LedgerEntry{ID: id, SiteID: site, Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_" + id, OccurredAt: at,
			Amount: amount, Currency: cur, ReportingCurrency: "USD", CustomerID: "cus_" + id, Email: id + "@example.com", Product: "Pro",
			Source: "stripe", Detail: "d"}
		if converted {
			e.ReportingAmount, e.Rate, e.RateDate, e.Converted = amount, "1", "2026-11-19", true
		}
		return e
	}
	// A converter with one rate: EUR → USD at 1.1 on the entry's day; no GBP rate.
	var seen []string
	convert := func(es []tributary.LedgerEntry) error {
		for i := range es {
			e := &es[i]
			seen = append(seen, e.ID)
			if e.Currency != "EUR" {
				continue
			}
			e.ReportingAmount, e.ReportingCurrency, e.Rate, e.RateDate, e.Converted = e.Amount*11/10, "USD", "1.1", e.OccurredAt.Format("2006-01-02"), true
		}
		return nil
	}
	s := open(t)
	_, err := s.InsertLedger(ctx, []tributary.LedgerEntry{
		entry("s1", "eur1", "EUR", 1000, false), entry("s1", "usd1", "USD", 500, true), entry("s1", "gbp1", "GBP", 2000, false),
		entry("s2", "eur2", "EUR", 3000, false)})
	must(t, err)
	_, err = s.InsertMRRMovements(ctx, []tributary.MRRMovement{
		{ID: "m1", SiteID: "s1", Livemode: true, SubscriptionID: "sub_1", CustomerID: "cus_eur1", At: at, Kind: tributary.MRRNew, Delta: 900, Currency: "EUR", ReportingCurrency: "USD", Source: "stripe"},
		{ID: "m2", SiteID: "s1", Livemode: true, SubscriptionID: "sub_2", CustomerID: "cus_usd1", At: at, Kind: tributary.MRRNew, Delta: 700, Currency: "USD", ReportingDelta: 700, ReportingCurrency: "USD", Converted: true, Source: "stripe"}})
	must(t, err)

	got, err := s.ConvertPending(ctx, "s1", convert)
	must(t, err)
	if !slices.Equal(got.Entries, []string{"eur1"}) || !slices.Equal(got.Movements, []string{"m1"}) || got.Pending != 1 {
		t.Fatalf("conversion = %+v, want entries [eur1], movements [m1], 1 pending", got)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"eur1", "gbp1", "m1"}) {
		t.Errorf("converter saw %v, want only the unconverted rows of s1", seen)
	}

	ledger, err := s.Ledger(ctx, "s1")
	must(t, err)
	want := map[string]tributary.LedgerEntry{
		"eur1": entry("s1", "eur1", "EUR", 1000, false), "usd1": entry("s1", "usd1", "USD", 500, true), "gbp1": entry("s1", "gbp1", "GBP", 2000, false)}
	w := want["eur1"]
	w.ReportingAmount, w.Rate, w.RateDate, w.Converted = 1100, "1.1", at.Format("2006-01-02"), true
	want["eur1"] = w
	if len(ledger) != 3 {
		t.Fatalf("ledger has %d entries, want 3", len(ledger))
	}
	for _, e := range ledger {
		e.OccurredAt = e.OccurredAt.UTC()
		if wnt := want[e.ID]; e != wnt {
			t.Errorf("entry %s =\n %+v\nwant\n %+v", e.ID, e, wnt)
		}
	}
	other, err := s.Ledger(ctx, "s2")
	must(t, err)
	if len(other) != 1 || other[0].Converted {
		t.Errorf("another site's entry changed: %+v", other)
	}
	ms, err := s.MRRMovements(ctx, "s1")
	must(t, err)
	for _, m := range ms {
		switch {
		case m.ID == "m1" && (m.ReportingDelta != 990 || !m.Converted || m.Delta != 900 || m.Currency != "EUR"):
			t.Errorf("m1 = %+v, want 900 EUR reported as 990 USD", m)
		case m.ID == "m2" && (m.ReportingDelta != 700 || !m.Converted):
			t.Errorf("m2 changed: %+v", m)
		}
	}

	// Again: nothing left to convert but the GBP entry, which still has no rate.
	seen = nil
	got, err = s.ConvertPending(ctx, "s1", convert)
	must(t, err)
	if len(got.Entries)+len(got.Movements) != 0 || got.Pending != 1 || !slices.Equal(seen, []string{"gbp1"}) {
		t.Errorf("second conversion = %+v after seeing %v, want nothing converted, 1 pending", got, seen)
	}
	// A later write of a converted id is still skipped, and the conversion holds.
	n, err := s.InsertLedger(ctx, []tributary.LedgerEntry{entry("s1", "eur1", "EUR", 1000, false)})
	must(t, err)
	ledger, err = s.Ledger(ctx, "s1")
	must(t, err)
	for _, e := range ledger {
		if e.ID == "eur1" && (n != 0 || !e.Converted || e.ReportingAmount != 1100) {
			t.Errorf("after a second write of eur1 (%d new): %+v", n, e)
		}
	}
}

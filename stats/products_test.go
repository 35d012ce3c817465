package stats

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// TestProductsFromPaymentRecords: a Stripe payment's product lives in its payment record (MetaStore),
// an API payment's in its ledger entry; revenue by payment:product reads both, and a failing read is an
// error, not an empty product.
func TestProductsFromPaymentRecords(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &tributary.Site{ID: "pr", Domain: "pr.example", Currency: "USD", Timezone: "UTC"}
	at := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	entry := func(id string, amount int64, product string) tributary.LedgerEntry {
		return tributary.LedgerEntry{ID: "pay:" + id, SiteID: s.ID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: id, OccurredAt: at,
			Amount: amount, Currency: "USD", ReportingAmount: amount, ReportingCurrency: "USD", Rate: "1", Converted: true, Product: product, Source: "stripe"}
	}
	if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{entry("pi_stripe", 4900, ""), entry("api_1", 1000, "Ebook")}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutPayment(ctx, &tributary.Payment{SiteID: s.ID, ID: "pi_stripe", Livemode: true, Amount: 4900, Currency: "USD", Created: at, Product: "Pro plan"}); err != nil {
		t.Fatal(err)
	}
	q, err := ParseQuery([]byte(`{"site_id":"pr","metrics":["revenue"],"dimensions":["payment:product"],"date_range":"30d"}`), s, at.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		eng  *Engine
		want string
	}{
		{"with the payment records", NewEngine(st.DB(), DuckDB{}, WithPaymentRecords(st)), "Pro plan=49.00 | Ebook=10.00"},
		{"ledger only", NewEngine(st.DB(), DuckDB{}), "=49.00 | Ebook=10.00"},
	}
	for _, tt := range tests {
		res, err := tt.eng.Run(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := flat(res); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

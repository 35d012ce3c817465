package stripe

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// TestUpgradeCorrectsEarlierLedgers starts from what a release before the reconciliation stored for a
// partial refund on API 2023-10-16 (the charge total and the refund object both booked: $20 shown as
// $40) and a subscription with an upgrade, and checks the first start corrects the refund, keeps the
// MRR history, and runs once.
func TestUpgradeCorrectsEarlierLedgers(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	at := time.Unix(1700000000, 0).UTC()
	put := func(id, typ, data string, created time.Time) {
		if err := r.st.PutStripeObject(ctx, &tributary.StripeObject{SiteID: r.site.ID, ID: id, Type: typ, Livemode: true, EventCreated: created, Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	put("ch_1", "charge", `{"id":"ch_1","object":"charge","amount":10000,"amount_captured":10000,"amount_refunded":2000,"captured":true,"paid":true,"status":"succeeded","currency":"usd","created":1700000000,"customer":"cus_1","payment_intent":"pi_1"}`, at.Add(time.Hour))
	put("re_1", "refund", `{"id":"re_1","object":"refund","amount":2000,"charge":"ch_1","payment_intent":"pi_1","currency":"usd","status":"succeeded","created":1700003500}`, at.Add(time.Hour))
	put("sub_1", "subscription", `{"id":"sub_1","object":"subscription","status":"active","customer":"cus_1","currency":"usd","items":{"data":[{"quantity":1,"price":{"unit_amount":10000,"currency":"usd","recurring":{"interval":"month","interval_count":1}}}]}}`, at.Add(48*time.Hour))
	old := func(id, kind string, amount int64, when time.Time) tributary.LedgerEntry {
		return tributary.LedgerEntry{ID: id, SiteID: r.site.ID, Livemode: true, Kind: kind, PaymentID: "pi_1", OccurredAt: when, Amount: amount, Currency: "USD", Source: "stripe"}
	}
	if err := r.p.Ledger.Record(ctx, r.site, []tributary.LedgerEntry{
		old("pay:pi_1", tributary.EntryPayment, 10000, at),
		old("refund:ch_1:total", tributary.EntryRefund, -2000, at.Add(time.Hour)),
		old("refund:re_1", tributary.EntryRefund, -2000, at.Add(time.Hour)),
	}, []tributary.MRRMovement{
		{ID: "mrr:sub_1:1700000000:new", SiteID: r.site.ID, Livemode: true, SubscriptionID: "sub_1", At: at, Kind: tributary.MRRNew, Delta: 4000, Currency: "USD", Source: "stripe"},
		{ID: "mrr:sub_1:1700172800:expansion", SiteID: r.site.ID, Livemode: true, SubscriptionID: "sub_1", At: at.Add(48 * time.Hour), Kind: tributary.MRRExpansion, Delta: 6000, Currency: "USD", Source: "stripe"},
	}); err != nil {
		t.Fatal(err)
	}
	if got := r.totals(); got != "payment USD 10000, refund USD -4000 payments=1" {
		t.Fatalf("before the upgrade: %s", got)
	}
	for i := 0; i < 2; i++ {
		if _, err := r.p.Upgrade(ctx, r.site); err != nil {
			t.Fatal(err)
		}
		if got := r.totals(); got != "payment USD 10000, refund USD -2000 payments=1" {
			t.Fatalf("after upgrade %d: %s\n%v", i+1, got, r.summary())
		}
	}
	ms, _ := r.st.MRRMovements(ctx, r.site.ID)
	if len(ms) != 2 {
		t.Fatalf("the MRR history changed: %+v", ms)
	}
	// A later event of the payment keeps the corrected figures.
	r.apply(ev("evt_late", "refund.updated", 1700010000, true, `{"id":"re_1","object":"refund","amount":2000,"charge":"ch_1","payment_intent":"pi_1","currency":"usd","status":"succeeded","created":1700003500}`))
	if got := r.totals(); got != "payment USD 10000, refund USD -2000 payments=1" {
		t.Fatalf("after a later event: %s", got)
	}
}

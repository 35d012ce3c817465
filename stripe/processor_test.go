package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/store/duckdb"
)

var testSite = &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}

type rig struct {
	t    *testing.T
	st   *duckdb.Store
	p    *Processor
	site *tributary.Site
	n    *int
}

func newRig(t *testing.T) *rig {
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &rig{t: t, st: st, p: &Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}, site: testSite, n: new(int)}
}

// fork returns a rig on the same store with a site of its own: ids are per site, so each run of a
// property test starts from an empty ledger without the cost of opening a store.
func (r *rig) fork() *rig {
	*r.n++
	site := *testSite
	site.ID = fmt.Sprintf("s%d", *r.n+1)
	return &rig{t: r.t, st: r.st, p: r.p, site: &site, n: r.n}
}

func (r *rig) apply(raw []byte) string {
	r.t.Helper()
	status, err := r.p.Apply(context.Background(), r.site, raw)
	if err != nil {
		r.t.Fatalf("apply %.120s: %v", raw, err)
	}
	return status
}

// totals renders what the ledger adds up to: the sum per entry kind and currency, and the payments whose
// gross is positive. Entry ids and payment keys may differ with the order of arrival (a payment is keyed
// by the first identity seen; differences are appended), the totals may not.
func (r *rig) totals() string {
	r.t.Helper()
	es, err := r.st.Ledger(context.Background(), r.site.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return totalsOf(es, nil)
}

// totalsOf sums entries per kind and currency (and movements per currency as "mrr CUR") and counts the
// payments whose gross is positive.
func totalsOf(es []tributary.LedgerEntry, ms []tributary.MRRMovement) string {
	sum := map[string]int64{}
	gross := map[string]int64{}
	for _, e := range es {
		sum[e.Kind+" "+e.Currency] += e.Amount
		if e.Kind == tributary.EntryPayment {
			gross[e.PaymentID] += e.Amount
		}
	}
	for _, m := range ms {
		sum["mrr "+m.Currency] += m.Delta
	}
	var out []string
	for k, v := range sum {
		if v != 0 {
			out = append(out, fmt.Sprintf("%s %d", k, v))
		}
	}
	n := 0
	for _, v := range gross {
		if v > 0 {
			n++
		}
	}
	sort.Strings(out)
	return fmt.Sprintf("%s payments=%d", strings.Join(out, ", "), n)
}

// summary renders the ledger as comparable lines; times are compared to the minute because the
// objects of one payment (session, intent, charge) are created seconds apart and whichever arrives
// first dates the entry.
func (r *rig) summary() []string {
	r.t.Helper()
	es, err := r.st.Ledger(context.Background(), r.site.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s %s %d %s live=%v", e.ID, e.Kind, e.PaymentID, e.Amount, e.Currency, e.Livemode))
	}
	sort.Strings(out)
	return out
}

func ev(id, typ string, created int64, live bool, object string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2020-08-27","created":%d,"livemode":%v,"type":%q,"data":{"object":%s}}`, id, created, live, typ, object))
}

// oneTimeFlow is a checkout in the pre-2022 shape: session, payment intent with embedded charges, the
// charge, a partial refund, then a lost dispute.
func oneTimeFlow(cur string, amount int64) [][]byte {
	charge := func(refunded int64, refunds string) string {
		return fmt.Sprintf(`{"id":"ch_1","object":"charge","amount":%d,"amount_captured":%d,"amount_refunded":%d,"captured":true,"paid":true,"status":"succeeded","currency":%q,
			"created":1700000005,"customer":"cus_1","payment_intent":"pi_1","billing_details":{"email":"Ann@Example.com"},"refunds":{"object":"list","data":[%s]}}`, amount, amount, refunded, strings.ToLower(cur), refunds)
	}
	refund := fmt.Sprintf(`{"id":"re_1","object":"refund","amount":%d,"charge":"ch_1","payment_intent":"pi_1","currency":%q,"status":"succeeded","created":1700000100}`, amount/4, strings.ToLower(cur))
	dispute := fmt.Sprintf(`{"id":"dp_1","object":"dispute","amount":%d,"charge":"ch_1","payment_intent":"pi_1","currency":%q,"status":"lost",
		"balance_transactions":[{"id":"txn_d1","object":"balance_transaction","amount":%d,"currency":%q,"created":1700000200}]}`, amount-amount/4, strings.ToLower(cur), -(amount - amount/4), strings.ToLower(cur))
	return [][]byte{
		ev("evt_s", "checkout.session.completed", 1700000010, false, fmt.Sprintf(`{"id":"cs_1","object":"checkout.session","mode":"payment","payment_status":"paid","amount_total":%d,"currency":%q,
			"customer":"cus_1","customer_details":{"email":"ann@example.com"},"payment_intent":"pi_1","client_reference_id":"trib-VVVVVVVVVVVVVVVVVVVV-SSSSSSSSSSSSSSSSSSSS","created":1700000000}`, amount, strings.ToLower(cur))),
		ev("evt_pi", "payment_intent.succeeded", 1700000011, false, fmt.Sprintf(`{"id":"pi_1","object":"payment_intent","amount":%d,"amount_received":%d,"currency":%q,"status":"succeeded",
			"customer":"cus_1","created":1700000001,"metadata":{"tributary_visitor_id":"VVVVVVVVVVVVVVVVVVVV"},"charges":{"object":"list","data":[%s]}}`, amount, amount, strings.ToLower(cur), charge(0, ""))),
		ev("evt_ch", "charge.succeeded", 1700000012, false, charge(0, "")),
		ev("evt_rf", "charge.refunded", 1700000101, false, charge(amount/4, refund)),
		ev("evt_re", "refund.created", 1700000102, false, refund),
		ev("evt_dp", "charge.dispute.funds_withdrawn", 1700000201, false, dispute),
		ev("evt_dc", "charge.dispute.closed", 1700000301, false, dispute),
	}
}

// basilSubscriptionFlow is a subscription checkout in the 2025+ shape: invoice with parent details and
// no payment intent, invoice_payment.paid, payment intent with latest_charge, charge.
func basilSubscriptionFlow() [][]byte {
	return [][]byte{
		ev("evt_bs", "checkout.session.completed", 1750000010, false, `{"id":"cs_2","object":"checkout.session","mode":"subscription","payment_status":"paid","amount_total":2900,"currency":"usd",
			"customer":"cus_2","customer_details":{"email":"bob@example.com"},"invoice":"in_2","subscription":"sub_2","metadata":{"tributary_visitor_id":"BBBBBBBBBBBBBBBBBBBB"},"created":1750000000}`),
		ev("evt_bi", "invoice.paid", 1750000011, false, `{"id":"in_2","object":"invoice","amount_paid":2900,"currency":"usd","customer":"cus_2","customer_email":"bob@example.com",
			"billing_reason":"subscription_create","status":"paid","created":1750000001,"parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_2","metadata":{}}},
			"lines":{"object":"list","data":[{"id":"il_1","amount":2900,"pricing":{"price_details":{"price":"price_pro","product":"prod_pro"}}}]}}`),
		ev("evt_bp", "invoice_payment.paid", 1750000012, false, `{"id":"inpay_2","object":"invoice_payment","invoice":"in_2","amount_paid":2900,"currency":"usd","payment":{"type":"payment_intent","payment_intent":"pi_2"}}`),
		ev("evt_bpi", "payment_intent.succeeded", 1750000013, false, `{"id":"pi_2","object":"payment_intent","amount":2900,"amount_received":2900,"currency":"usd","status":"succeeded","customer":"cus_2","latest_charge":"ch_2","created":1750000002}`),
		ev("evt_bch", "charge.succeeded", 1750000014, false, `{"id":"ch_2","object":"charge","amount":2900,"amount_captured":2900,"captured":true,"paid":true,"status":"succeeded","currency":"usd","customer":"cus_2","payment_intent":"pi_2","created":1750000003}`),
		ev("evt_sub", "customer.subscription.created", 1750000015, false, `{"id":"sub_2","object":"subscription","status":"active","customer":"cus_2","currency":"usd",
			"items":{"object":"list","data":[{"id":"si_1","quantity":1,"price":{"id":"price_pro","product":"prod_pro","unit_amount":2900,"currency":"usd","recurring":{"interval":"month","interval_count":1}},"current_period_start":1750000000,"current_period_end":1752592000}]}}`),
	}
}

// TestOrderAndDuplicatesDoNotChangeTheLedger is the property test of DESIGN §3.4: streams are shuffled and
// duplicated and must give the same totals.
func TestOrderAndDuplicatesDoNotChangeTheLedger(t *testing.T) {
	flows := map[string][][]byte{"one-time USD": oneTimeFlow("USD", 4999), "one-time JPY": oneTimeFlow("JPY", 5000), "one-time BHD": oneTimeFlow("BHD", 12500), "basil subscription": basilSubscriptionFlow()}
	for name, flow := range flows {
		t.Run(name, func(t *testing.T) {
			base := newRig(t)
			for _, e := range flow {
				base.apply(e)
			}
			want := base.totals()
			if len(base.summary()) == 0 {
				t.Fatal("flow produced no entries")
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 8; i++ {
				stream := append([][]byte(nil), flow...)
				for j := 0; j < len(flow)/2+1; j++ { // Stripe retries: duplicates
					stream = append(stream, flow[rng.IntN(len(flow))])
				}
				rng.Shuffle(len(stream), func(a, b int) { stream[a], stream[b] = stream[b], stream[a] })
				r := base.fork()
				for _, e := range stream {
					r.apply(e)
				}
				if got := r.totals(); got != want {
					t.Fatalf("permutation %d:\n%s\nwant:\n%s\nentries:\n%s", i, got, want, strings.Join(r.summary(), "\n"))
				}
			}
		})
	}
}

func TestOneTimeFlowEntriesAndPayment(t *testing.T) {
	for _, tc := range []struct {
		cur                       string
		amount, refund, withdrawn int64
	}{{"USD", 4999, -1249, -3750}, {"JPY", 5000, -1250, -3750}, {"BHD", 12500, -3125, -9375}} {
		t.Run(tc.cur, func(t *testing.T) {
			r := newRig(t)
			for _, e := range oneTimeFlow(tc.cur, tc.amount) {
				r.apply(e)
			}
			want := []string{
				fmt.Sprintf("dispute_withdrawn:dp_1 dispute_withdrawn pi_1 %d %s live=false", tc.withdrawn, tc.cur),
				fmt.Sprintf("pay:pi_1 payment pi_1 %d %s live=false", tc.amount, tc.cur),
				fmt.Sprintf("refund:re_1 refund pi_1 %d %s live=false", tc.refund, tc.cur),
			}
			if got := r.summary(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("ledger:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			p, err := r.st.Payment(context.Background(), "s1", "pi_1")
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != tributary.PaymentDisputed || p.DisputeStatus != "lost" || p.Email != "ann@example.com" || p.CustomerID != "cus_1" || p.CheckoutSessionID != "cs_1" {
				t.Fatalf("payment = %+v", p)
			}
			l, err := r.st.PaymentLink(context.Background(), "s1", "pi_1")
			if err != nil || l.LinkMethod != tributary.LinkMetadata || l.VisitorID != "VVVVVVVVVVVVVVVVVVVV" {
				t.Fatalf("link = %+v %v", l, err)
			}
		})
	}
}

func TestBasilSubscription(t *testing.T) {
	r := newRig(t)
	for _, e := range basilSubscriptionFlow() {
		r.apply(e)
	}
	// The session names the invoice, not the intent: the payment is keyed by the invoice from then on.
	want := []string{"pay:in_2 payment in_2 2900 USD live=false"}
	if got := r.summary(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("ledger: %v", got)
	}
	p, err := r.st.Payment(context.Background(), "s1", "in_2")
	if err != nil {
		t.Fatal(err)
	}
	if p.SubscriptionID != "sub_2" || p.InvoiceID != "in_2" || p.BillingReason != "subscription_create" || p.Product != "prod_pro" || p.CheckoutSessionID != "cs_2" {
		t.Fatalf("payment = %+v", p)
	}
	ms, _ := r.st.MRRMovements(context.Background(), "s1")
	if len(ms) != 1 || ms[0].Kind != "new" || ms[0].Delta != 2900 {
		t.Fatalf("movements = %+v", ms)
	}
}

func TestSubscriptionMovements(t *testing.T) {
	r := newRig(t)
	sub := func(evt string, created int64, status string, unit, qty int64, interval string) []byte {
		return ev(evt, "customer.subscription.updated", created, true, fmt.Sprintf(`{"id":"sub_9","object":"subscription","status":%q,"customer":"cus_9","currency":"eur",
			"items":{"data":[{"quantity":%d,"price":{"unit_amount":%d,"currency":"eur","recurring":{"interval":%q,"interval_count":1}}}]}}`, status, qty, unit, interval))
	}
	r.apply(sub("e1", 1700000100, "trialing", 1000, 1, "month"))
	r.apply(sub("e2", 1700000200, "active", 1000, 1, "month"))
	r.apply(sub("e3", 1700000300, "active", 1000, 3, "month"))
	r.apply(sub("e4", 1700000400, "active", 24000, 1, "year"))
	r.apply(sub("e5", 1700000500, "canceled", 24000, 1, "year"))
	r.apply(sub("e6", 1700000600, "active", 1000, 1, "month"))
	r.apply(sub("e3", 1700000300, "active", 1000, 3, "month")) // a late duplicate of an old state changes nothing
	ms, _ := r.st.MRRMovements(context.Background(), "s1")
	var got []string
	for _, m := range ms {
		got = append(got, fmt.Sprintf("%s %d %s", m.Kind, m.Delta, m.Currency))
	}
	want := "new 1000 EUR|expansion 2000 EUR|contraction -1000 EUR|churn -2000 EUR|reactivation 1000 EUR"
	if strings.Join(got, "|") != want {
		t.Fatalf("movements %s, want %s", strings.Join(got, "|"), want)
	}
}

// TestFixtures runs every recorded event of every API version through the processor: none fails, unknown
// types are ignored, and the money-bearing fixtures give the entries their payloads describe.
func TestFixtures(t *testing.T) {
	dir := testenv.FixturesDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "stripe", "*", "*.json"))
	r := newRig(t)
	counts := map[string]int{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var head struct {
			Object string `json:"object"`
		}
		if json.Unmarshal(b, &head) != nil || head.Object != "event" {
			continue
		}
		// Published samples carry the placeholder created 1234567890 (2009), before the accepted window.
		b = []byte(strings.ReplaceAll(string(b), `"created": 1234567890`, `"created": 1700000000`))
		status, err := r.p.Apply(context.Background(), testSite, b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		counts[status]++
	}
	t.Logf("fixture events: %v", counts)
	if counts[tributary.DeliveryProcessed] < 50 || counts[tributary.DeliveryIgnored] < 20 {
		t.Fatalf("statuses %v", counts)
	}
	es, _ := r.st.Ledger(context.Background(), "s1")
	kinds := map[string]int{}
	for _, e := range es {
		kinds[e.Kind]++
		if e.Currency == "" || e.Amount == 0 {
			t.Errorf("entry without money: %+v", e)
		}
	}
	t.Logf("ledger kinds from fixtures: %v", kinds)
	for _, k := range []string{tributary.EntryPayment, tributary.EntryRefund, tributary.EntryDisputeWithdrawn} {
		if kinds[k] == 0 {
			t.Errorf("no %s entry from the fixtures", k)
		}
	}
}

// TestPayRailsPartialRefund uses pay-rails' charge.refunded body: 500 of 1500 refunded.
func TestPayRailsPartialRefund(t *testing.T) {
	dir := testenv.FixturesDir(t)
	body, err := os.ReadFile(filepath.Join(dir, "stripe", "pay-rails", "charge.refunded.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(body, &data); err != nil {
		t.Fatal(err)
	}
	r := newRig(t)
	r.apply([]byte(fmt.Sprintf(`{"id":"evt_pr","object":"event","created":1700000000,"livemode":false,"type":"charge.refunded","data":{"object":%s}}`, data.Object)))
	es, _ := r.st.Ledger(context.Background(), "s1")
	var paid, refunded int64
	for _, e := range es {
		switch e.Kind {
		case tributary.EntryPayment:
			paid += e.Amount
		case tributary.EntryRefund:
			refunded += e.Amount
		}
	}
	if paid != 1500 || refunded != -500 {
		t.Fatalf("paid %d refunded %d, want 1500 and -500: %+v", paid, refunded, es)
	}
}

func TestIgnoredAndMalformed(t *testing.T) {
	r := newRig(t)
	if s := r.apply(ev("evt_x", "account.updated", 1700000000, false, `{"id":"acct_1","object":"account"}`)); s != tributary.DeliveryIgnored {
		t.Fatalf("unknown type: %s", s)
	}
	for name, raw := range map[string][]byte{
		"not an event":     []byte(`{"id":"x"}`),
		"created year 1":   ev("evt_y1", "charge.succeeded", -62135596800, false, `{"id":"ch_y1","object":"charge","amount":100,"captured":true,"status":"succeeded","currency":"usd"}`),
		"created int64max": []byte(`{"id":"evt_m","object":"event","created":9223372036854775807,"livemode":false,"type":"charge.succeeded","data":{"object":{"id":"ch_m","object":"charge","amount":100,"captured":true,"status":"succeeded","currency":"usd"}}}`),
		"float amount":     ev("evt_f", "charge.succeeded", 1700000000, false, `{"id":"ch_f","object":"charge","amount":49.99,"captured":true,"status":"succeeded","currency":"usd"}`),
		"negative amount":  ev("evt_n", "payment_intent.succeeded", 1700000000, false, `{"id":"pi_n","object":"payment_intent","amount_received":-5,"status":"succeeded","currency":"usd"}`),
		"int64 max amount": ev("evt_o", "charge.succeeded", 1700000000, false, `{"id":"ch_o","object":"charge","amount":9223372036854775807,"captured":true,"status":"succeeded","currency":"usd"}`),
		"subscription MRR beyond the bound": ev("evt_s", "customer.subscription.updated", 1700000000, false, `{"id":"sub_o","object":"subscription","status":"active","currency":"usd",
			"items":{"data":[{"quantity":9000000000,"price":{"unit_amount":999999999999,"currency":"usd","recurring":{"interval":"week","interval_count":1}}}]}}`),
	} {
		_, err := r.p.Apply(context.Background(), testSite, raw)
		if tributary.ErrorCode(err) != tributary.EINVALID {
			t.Errorf("%s: err = %v, want an invalid-input error", name, err)
		}
	}
	if es, _ := r.st.Ledger(context.Background(), testSite.ID); len(es) != 0 {
		t.Fatalf("malformed events stored money: %+v", es)
	}
	if ms, _ := r.st.MRRMovements(context.Background(), testSite.ID); len(ms) != 0 {
		t.Fatalf("malformed events stored MRR: %+v", ms)
	}
	// An object dated year 1 inside a well-dated event: the money is dated by the event, not year 1.
	r.apply(ev("evt_y", "charge.succeeded", 1700000000, false, `{"id":"ch_y","object":"charge","amount":500,"amount_captured":500,"captured":true,"status":"succeeded","currency":"usd","created":-62135596800}`))
	es, _ := r.st.Ledger(context.Background(), testSite.ID)
	if len(es) != 1 || !es[0].OccurredAt.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("year-1 object: %+v", es)
	}
}

func BenchmarkApplyCharge(b *testing.B) {
	st, _ := duckdb.Open(context.Background(), "")
	defer st.Close()
	p := &Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}
	for i := 0; i < b.N; i++ {
		raw := ev(fmt.Sprint("evt_", i), "charge.succeeded", time.Now().Unix(), false, fmt.Sprintf(`{"id":"ch_%d","object":"charge","amount":1000,"captured":true,"paid":true,"status":"succeeded","currency":"usd","created":1700000000}`, i))
		if _, err := p.Apply(context.Background(), testSite, raw); err != nil {
			b.Fatal(err)
		}
	}
}

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRevenueScenario is issue #5.8: a small shop's October and November, sent through the real
// paths — pageviews from several channels to POST /api/event, Stripe webhooks signed with the
// endpoint's secret, ECB rates through the API — and read back through POST /api/v1/query and the
// revenue page. Every expected number below is worked out by hand in the comments, from the rules in
// DESIGN §3–§4: touchpoints are the paying person's sessions that start in [paid − 30 days, paid];
// credits are split by largest remainder on minor units, ties to the later touch; a payment is counted
// in the channel of its largest credit, the earliest touch on ties; refunds and disputes are split like
// the payment they take back, with the payment's touchpoints.
//
// Site: shop.example, reporting currency EUR, time zone UTC. Query range 2026-10-01 … 2026-11-20.
//
// Exchange rates (ECB format, units per EUR; converted amounts are exact rationals rounded half to even
// in EUR cents, with the rate of the entry's own day or the nearest earlier published day ≤ 7 days):
//
//	date        USD     JPY     BHD
//	2026-10-12  1.0800  N/A     N/A
//	2026-11-06  1.0800  N/A     N/A
//	2026-11-10  1.0850  160.00  N/A
//	2026-11-12  1.0800  160.00  N/A
//	2026-11-13  1.0800  160.00  0.410   (Friday; Saturday 2026-11-14 falls back to it)
//	2026-11-18  1.0800  160.00  0.410
//	GBP never: a GBP payment stays unconverted and is left out of every sum.
//
//	USD 49.00  on 11-06: 4900 / 1.08   = 4537.037… → 4537   (45.37 EUR)
//	USD −19.00 on 11-10: 1900 / 1.085  = 1751.152… → −1751  (the refund's own day, not the payment's)
//	USD 20.00  on 10-12, 11-12: 2000 / 1.08 = 1851.851… → 1852
//	USD −10.00 on 11-13, 11-18 (MRR):  1000 / 1.08 = 925.925… → −926
//	JPY 12,500 on 11-12: 12500 / 160 × 100 = 7812.5 → half to even → 7812 (half up would say 7813)
//	BHD 12.345 on 11-14 (rate of 11-13): 12345 fils / 1000 / 0.41 × 100 = 123450/41 = 3010.975… → 3011
//
// Payments (EUR cents after conversion) and their touchpoints, oldest first; Δ is the touch's age
// relative to the newest touch, in 7-day half-lives, so time-decay weights are exact powers of two:
//
//	P1  alice  EUR 119.99 = 11999  checkout, metadata visitor+session         OSe(Δ2) Em(Δ1) Dir(Δ0)
//	P2  bob    USD 49.00  =  4537  Payment Link, client_reference_id           PS(Δ1) OSo(Δ0)
//	           refund USD 19.00 = −1751 on 11-10
//	P3  carol  EUR 80.00  =  8000  no metadata; matched by the e-mail she      Dir(Δ1) Ref(Δ0)
//	                               identified with before paying
//	P4  dave   EUR 60.00  =  6000  checkout, metadata aliases visitor_id/…     PS(Δ1) Dir(Δ0)
//	           dispute lost: −6000 withdrawn 11-15
//	P5  emi    JPY 12,500 =  7812  checkout, metadata visitor only            Em(Δ1) OSo(Δ0)
//	P6  farah  BHD 12.345 =  3011  checkout, metadata                         OSe(Δ2) Ref(Δ0)
//	S1a greta  EUR 30.00  =  3000  subscription checkout (metadata), 10-05    OSe(Δ1) Dir(Δ0)
//	S1b greta  EUR 30.00  =  3000  renewal 11-05, linked by Stripe customer   Em(Δ1)  Dir(Δ0)
//	S2a hugo   USD 20.00  =  1852  subscription checkout (metadata), 10-12    OSo
//	S2b hugo   USD 20.00  =  1852  renewal 11-12, linked by Stripe customer   Ref
//	P7  ivy    GBP 25.00  unconverted (no GBP rate): in meta.unconverted_entries only
//
// (OSe Organic Search, PS Paid Search, OSo Organic Social, Em Email, Ref Referral, Dir Direct.) S1b
// and S2b only see the sessions of the 30 days before them: greta's September/October visits and
// hugo's October visit are too old. Total revenue 51063.
//
// Weights per model (time order): first_touch 1,0,…; last_touch …,0,1; last_non_direct all to the
// newest touch that is not Direct; linear 1 each; time_decay 2^−Δ (Δ2,Δ1,Δ0 → 1:2:4; Δ1,Δ0 → 1:2;
// Δ2,Δ0 → 1:4); position_based 2,1,2 (40/20/40) for three touches, 1,1 for two.
//
// The splits that need rounding (amount × w / Σw, floors, then the units left over by remainder):
//
//	P1 linear   11999/3 = 3999 r2 each; 2 units left, equal remainders → the two later touches:
//	            OSe 3999  Em 4000  Dir 4000   (payment counted in Em: the first largest)
//	P1 time     ×1/7 = 1714 r1, ×2/7 = 3428 r2, ×4/7 = 6856 r4; 1 left → Dir:
//	            OSe 1714  Em 3428  Dir 6857
//	P1 position ×2/5 = 4799 r3, ×1/5 = 2399 r4, ×2/5 = 4799 r3; 2 left → Em (r4), then Dir (r3, later):
//	            OSe 4799  Em 2400  Dir 4800   (payment counted in Dir)
//	P2 linear/position  4537/2 = 2268 r1 each; 1 left → later: PS 2268  OSo 2269
//	   refund           1751/2 = 875 r1 each → PS −875  OSo −876
//	P2 time     ×1/3 = 1512 r1, ×2/3 = 3024 r2; 1 left → OSo: PS 1512  OSo 3025
//	   refund   ×1/3 = 583 r2, ×2/3 = 1167 r1; 1 left → PS (r2): PS −584  OSo −1167
//	P3 time     ×1/3 = 2666 r2, ×2/3 = 5333 r1; 1 left → Dir: Dir 2667  Ref 5333
//	P4 time     2000 / 4000 exactly (dispute −2000 / −4000); linear and position 3000 / 3000
//	P5 time     2604 / 5208 exactly; linear and position 3906 / 3906
//	P6 time     ×1/5 = 602 r1, ×4/5 = 2408 r4; 1 left → Ref: OSe 602  Ref 2409
//	   linear/position 3011/2 = 1505 r1 each → OSe 1505  Ref 1506
//	S1a, S1b    time 1000 / 2000; linear and position 1500 / 1500 (payment counted in the earlier touch)
func TestRevenueScenario(t *testing.T) {
	s := startServer(t)
	var site struct {
		ID string `json:"id"`
	}
	s.api("POST", "/api/v1/sites", map[string]any{"domain": "shop.example", "name": "Shop", "currency": "EUR", "timezone": "UTC"}, 201, &site)
	stripe := s.connectStripe(site.ID, "whsec_e2e_scenario_secret_0001")

	var imported struct {
		Imported   int    `json:"imported"`
		LatestDate string `json:"latest_date"`
	}
	s.api("POST", "/api/v1/exchange-rates", []byte(ratesCSV), 200, &imported)
	if imported.Imported != 12 || imported.LatestDate != "2026-11-18" { // USD 6 days, JPY 4, BHD 2; N/A is no rate
		t.Fatalf("rates import = %+v", imported)
	}

	browse(t, s, site.ID)
	sendPayments(t, stripe)

	t.Run("traffic", func(t *testing.T) {
		// Sessions in range by the channel of their first event (greta's 09-28 visit is before it).
		got := s.query(map[string]any{"site_id": site.ID, "metrics": []string{"visits"}, "dimensions": []string{"visit:channel"},
			"date_range": scenarioRange}).rows()
		want := map[string][]string{"Organic Search": {"2"}, "Email": {"3"}, "Direct": {"5"}, "Paid Search": {"2"}, "Organic Social": {"3"}, "Referral": {"3"}}
		if d := diffRows(got, want); d != "" {
			t.Fatalf("visits by channel:%s", d)
		}
	})

	for _, tc := range revenueByModel {
		t.Run(tc.model, func(t *testing.T) {
			res := s.query(map[string]any{"site_id": site.ID, "metrics": []string{"revenue", "refunds", "disputes", "net_revenue", "payments"},
				"dimensions": []string{"visit:channel"}, "date_range": scenarioRange, "attribution": map[string]any{"model": tc.model, "lookback_days": 30}})
			if res.Meta.Currency != "EUR" || res.Meta.Model != tc.model || res.Meta.Unconverted != 1 {
				t.Errorf("meta = %+v, want EUR, %s, 1 unconverted entry (the GBP payment)", res.Meta, tc.model)
			}
			want := map[string][]string{}
			var total int64
			for ch, m := range tc.channels {
				want[ch] = []string{eur(m.revenue), eur(m.refunds), eur(m.disputes), eur(m.revenue - m.refunds - m.disputes), fmt.Sprint(m.payments)}
				total += m.revenue
			}
			if total != 51063 {
				t.Fatalf("hand-worked table of %s sums to %d, not 51063", tc.model, total)
			}
			if d := diffRows(res.rows(), want); d != "" {
				t.Errorf("%s by channel:%s", tc.model, d)
			}
		})
	}

	t.Run("link methods", func(t *testing.T) {
		// metadata: P1 11999 + P4 6000 + P5 7812 + P6 3011 + S1a 3000 + S2a 1852 = 33674 (6 payments);
		// client_reference_id: P2 4537 − 1751; email: P3 8000; customer: S1b 3000 + S2b 1852 = 4852.
		got := s.query(map[string]any{"site_id": site.ID, "metrics": []string{"revenue", "refunds", "disputes", "payments"},
			"dimensions": []string{"payment:link_method"}, "date_range": scenarioRange}).rows()
		want := map[string][]string{
			"metadata":            {eur(33674), eur(0), eur(6000), "6"},
			"client_reference_id": {eur(4537), eur(1751), eur(0), "1"},
			"email":               {eur(8000), eur(0), eur(0), "1"},
			"customer":            {eur(4852), eur(0), eur(0), "2"},
		}
		if d := diffRows(got, want); d != "" {
			t.Errorf("revenue by link method:%s", d)
		}
	})

	t.Run("currencies", func(t *testing.T) {
		// EUR: 11999 + 8000 + 6000 + 3000 + 3000 = 31999; USD: 4537 + 1852 + 1852 = 8241; JPY 7812; BHD 3011.
		got := s.query(map[string]any{"site_id": site.ID, "metrics": []string{"revenue", "refunds", "disputes", "payments"},
			"dimensions": []string{"payment:currency"}, "date_range": scenarioRange}).rows()
		want := map[string][]string{
			"EUR": {eur(31999), eur(0), eur(6000), "5"},
			"USD": {eur(8241), eur(1751), eur(0), "3"},
			"JPY": {eur(7812), eur(0), eur(0), "1"},
			"BHD": {eur(3011), eur(0), eur(0), "1"},
		}
		if d := diffRows(got, want); d != "" {
			t.Errorf("revenue by currency:%s", d)
		}
	})

	t.Run("mrr", func(t *testing.T) {
		// greta (EUR): new +3000 on 10-05; upgrade 30 → 50 EUR on 11-10: expansion +2000.
		// hugo (USD): new +2000 USD = +1852 on 10-12; downgrade 20 → 10 USD on 11-13: contraction
		// −1000 USD = −926. Renewals change nothing. Movements are signed: contraction is negative.
		metrics := []string{"new_mrr", "expansion_mrr", "contraction_mrr"}
		got := s.query(map[string]any{"site_id": site.ID, "metrics": metrics, "date_range": scenarioRange}).rows()
		want := map[string][]string{"": {eur(4852), eur(2000), eur(-926)}}
		if d := diffRows(got, want); d != "" {
			t.Errorf("MRR movements:%s", d)
		}
		// By month: October ends with 3000 + 1852 = 4852 MRR from two new subscriptions.
		got = s.query(map[string]any{"site_id": site.ID, "metrics": append([]string{"mrr"}, metrics...), "dimensions": []string{"time:month"},
			"date_range": []string{"2026-10-01", "2026-10-31"}}).rows()
		want = map[string][]string{"2026-10-01 00:00:00": {eur(4852), eur(4852), eur(0), eur(0)}}
		if d := diffRows(got, want); d != "" {
			t.Errorf("MRR in October:%s", d)
		}
		page := revenuePage(t, s, site.ID)
		for _, mv := range []string{`<td>new</td><td class="num">€30.00</td>`, `<td>new</td><td class="num">$20.00</td>`,
			`<td>expansion</td><td class="num">€20.00</td>`, `<td>contraction</td><td class="num">-$10.00</td>`} {
			if !strings.Contains(page, mv) {
				t.Errorf("revenue page lacks the MRR movement %s", mv)
			}
		}
	})

	t.Run("mrr after churn", func(t *testing.T) {
		// hugo cancels on 11-18: churn −1000 USD = −926. MRR at the end: greta 5000 + hugo (1852 − 926 −
		// 926 = 0) = 5000, from one paying subscription (ARPU 5000).
		metrics := []string{"mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "arpu"}
		got := s.query(map[string]any{"site_id": site.ID, "metrics": metrics, "date_range": scenarioRange}).rows()
		want := map[string][]string{"": {eur(5000), eur(4852), eur(2000), eur(-926), eur(-926), eur(5000)}}
		if d := diffRows(got, want); d != "" {
			t.Errorf("MRR:%s", d)
		}
		got = s.query(map[string]any{"site_id": site.ID, "metrics": metrics[:5], "dimensions": []string{"time:month"}, "date_range": scenarioRange}).rows()
		want = map[string][]string{
			"2026-10-01 00:00:00": {eur(4852), eur(4852), eur(0), eur(0), eur(0)},
			"2026-11-01 00:00:00": {eur(5000), eur(0), eur(2000), eur(-926), eur(-926)},
		}
		if d := diffRows(got, want); d != "" {
			t.Errorf("MRR by month:%s", d)
		}
		if mv := `<td>churn</td><td class="num">-$10.00</td>`; !strings.Contains(revenuePage(t, s, site.ID), mv) {
			t.Errorf("revenue page lacks the MRR movement %s", mv)
		}
	})

	t.Run("ledger", func(t *testing.T) {
		// Each entry keeps the original amount and currency and the EUR amount with the rate and its date
		// (DESIGN §3.2). The rate is EUR per unit of the original currency, exact when the decimal ends
		// (1/160), else 12 significant digits (1/1.08 = 0.925925925925…).
		entries, err := s.store.Ledger(context.Background(), site.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range entries {
			got[e.ID] = fmt.Sprintf("%s %d %s → %d %s %s converted=%v", e.Kind, e.Amount, e.Currency, e.ReportingAmount, e.Rate, e.RateDate, e.Converted)
		}
		want := map[string]string{
			"pay:pi_E2EBob":                "payment 4900 USD → 4537 0.925925925926 2026-11-06 converted=true",
			"refund:re_E2EBob":             "refund -1900 USD → -1751 0.921658986175 2026-11-10 converted=true",
			"pay:pi_E2EEmi":                "payment 12500 JPY → 7812 0.00625 2026-11-12 converted=true",
			"pay:pi_E2EFarah":              "payment 12345 BHD → 3011 2.43902439024 2026-11-13 converted=true",
			"pay:pi_E2EHugoCreate":         "payment 2000 USD → 1852 0.925925925926 2026-10-12 converted=true",
			"pay:pi_E2EAlice":              "payment 11999 EUR → 11999 1 2026-11-03 converted=true",
			"dispute_withdrawn:dp_E2EDave": "dispute_withdrawn -6000 EUR → -6000 1 2026-11-15 converted=true",
			"pay:pi_E2EIvy":                "payment 2500 GBP → 0   converted=false",
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("ledger %s = %q, want %q", id, got[id], w)
			}
		}
		if len(entries) != 13 { // 11 payments (P1–P7, S1a, S1b, S2a, S2b), 1 refund, 1 dispute
			t.Errorf("%d ledger entries, want 13: %v", len(entries), got)
		}
	})

	t.Run("revenue page", func(t *testing.T) {
		// The owner's revenue page lists each entry with its original amount in the currency's own
		// decimals (JPY none, BHD three) and the EUR amount beside it, written in the site's locale
		// (en-US: symbol first; currencies without a common symbol keep their code).
		page := revenuePage(t, s, site.ID)
		for _, tc := range []struct{ payment, kind, original, converted, status, method string }{
			{"pi_E2EEmi", "payment", "¥12,500", "€78.12", "succeeded", "metadata"},
			{"pi_E2EFarah", "payment", "BHD\u00a012.345", "€30.11", "succeeded", "metadata"},
			{"pi_E2EBob", "payment", "$49.00", "€45.37", "partially_refunded", "client_reference_id"},
			{"pi_E2EBob", "refund", "-$19.00", "-€17.51", "partially_refunded", "client_reference_id"},
			{"pi_E2EDave", "dispute_withdrawn", "-€60.00", "-€60.00", "disputed", "metadata"},
			{"pi_E2ECarol", "payment", "€80.00", "€80.00", "succeeded", "email"},
			{"pi_E2EGretaRenew", "payment", "€30.00", "€30.00", "succeeded", "customer"},
			{"pi_E2EIvy", "payment", "£25.00", "no rate", "succeeded", "unattributed"},
		} {
			row := revenueRow(page, tc.payment, tc.kind)
			for _, want := range []string{tc.original, tc.converted, "<td>" + tc.status + "</td>", "<td>" + tc.method + "</td>"} {
				if !strings.Contains(row, want) {
					t.Errorf("revenue page row %s %s lacks %q: %s", tc.payment, tc.kind, want, row)
				}
			}
		}
	})
}

// scenarioRange is the query range: both days included, in the site's time zone.
var scenarioRange = []string{"2026-10-01", "2026-11-20"}

// revenuePage returns the owner's revenue page of the site, creating the owner on first use.
func revenuePage(t *testing.T, s *server, site string) string {
	t.Helper()
	if s.owner == nil {
		s.owner = s.setupOwner()
	}
	status, page := s.owner.get("/sites/" + site + "/revenue")
	if status != 200 {
		t.Fatalf("revenue page: status %d", status)
	}
	return page
}

// revenueRow returns the table row of the revenue page's ledger that shows kind for payment.
func revenueRow(page, payment, kind string) string {
	// Time, mode (the scenario's endpoint is live), kind, payment, then the rest of the row.
	re := regexp.MustCompile(`<tr><td>[^<]*</td><td>live</td><td>` + regexp.QuoteMeta(kind) + `</td><td><code>` + regexp.QuoteMeta(payment) + `</code></td>(?s:.*?)</tr>`)
	return re.FindString(page)
}

// ratesCSV is an ECB history file (eurofxref-hist.csv layout: newest first, trailing commas, N/A for
// a currency not quoted that day) with the rates of the scenario. BHD is not an ECB currency; the
// format carries any code, as a user's own rate file may.
const ratesCSV = "Date,USD,JPY,BHD,\n" +
	"2026-11-18,1.0800,160.00,0.410,\n" +
	"2026-11-13,1.0800,160.00,0.410,\n" +
	"2026-11-12,1.0800,160.00,N/A,\n" +
	"2026-11-10,1.0850,160.00,N/A,\n" +
	"2026-11-06,1.0800,N/A,N/A,\n" +
	"2026-10-12,1.0800,N/A,N/A,\n"

type channelMoney struct {
	revenue, refunds, disputes int64 // EUR cents; refunds and disputes as positive amounts taken back
	payments                   int64
}

// revenueByModel is the hand-worked revenue by channel for every model (see the table above).
var revenueByModel = []struct {
	model    string
	channels map[string]channelMoney
}{
	{"first_touch", map[string]channelMoney{
		// OSe: P1 11999 + P6 3011 + S1a 3000; PS: P2 4537 + P4 6000 (refund 1751, dispute 6000);
		// Em: P5 7812 + S1b 3000; Dir: P3; OSo: S2a; Ref: S2b.
		"Organic Search": {18010, 0, 0, 3},
		"Paid Search":    {10537, 1751, 6000, 2},
		"Email":          {10812, 0, 0, 2},
		"Direct":         {8000, 0, 0, 1},
		"Organic Social": {1852, 0, 0, 1},
		"Referral":       {1852, 0, 0, 1},
	}},
	{"last_touch", map[string]channelMoney{
		// Dir: P1 11999 + P4 6000 + S1a 3000 + S1b 3000 (dispute 6000); OSo: P2 4537 + P5 7812 + S2a 1852
		// (refund 1751); Ref: P3 8000 + P6 3011 + S2b 1852.
		"Direct":         {23999, 0, 6000, 4},
		"Organic Social": {14201, 1751, 0, 3},
		"Referral":       {12863, 0, 0, 3},
	}},
	{"last_non_direct", map[string]channelMoney{
		// Em: P1 11999 + S1b 3000; OSo: P2 + P5 + S2a; Ref: P3 + P6 + S2b; PS: P4 6000 (disputed:
		// net 0); OSe: S1a 3000. No payment ends in Direct: each has a non-direct touch.
		"Email":          {14999, 0, 0, 2},
		"Organic Social": {14201, 1751, 0, 3},
		"Referral":       {12863, 0, 0, 3},
		"Paid Search":    {6000, 0, 6000, 1},
		"Organic Search": {3000, 0, 0, 1},
	}},
	{"linear", map[string]channelMoney{
		// OSe: P1 3999 + P6 1505 + S1a 1500 (counts S1a); Em: P1 4000 + P5 3906 + S1b 1500 (counts P1,
		// P5, S1b); Dir: P1 4000 + P3 4000 + P4 3000 + S1a 1500 + S1b 1500, dispute 3000 (counts P3);
		// PS: P2 2268 + P4 3000, refund 875, dispute 3000 (counts P4); OSo: P2 2269 + P5 3906 + S2a 1852,
		// refund 876 (counts P2, S2a); Ref: P3 4000 + P6 1506 + S2b 1852 (counts P6, S2b).
		"Organic Search": {7004, 0, 0, 1},
		"Email":          {9406, 0, 0, 3},
		"Direct":         {14000, 0, 3000, 1},
		"Paid Search":    {5268, 875, 3000, 1},
		"Organic Social": {8027, 876, 0, 2},
		"Referral":       {7358, 0, 0, 2},
	}},
	{"time_decay", map[string]channelMoney{
		// OSe: P1 1714 + P6 602 + S1a 1000; Em: P1 3428 + P5 2604 + S1b 1000; Dir: P1 6857 + P3 2667 +
		// P4 4000 + S1a 2000 + S1b 2000, dispute 4000 (counts P1, P4, S1a, S1b); PS: P2 1512 + P4 2000,
		// refund 584, dispute 2000; OSo: P2 3025 + P5 5208 + S2a 1852, refund 1167 (counts P2, P5,
		// S2a); Ref: P3 5333 + P6 2409 + S2b 1852 (counts P3, P6, S2b).
		"Organic Search": {3316, 0, 0, 0},
		"Email":          {7032, 0, 0, 0},
		"Direct":         {17524, 0, 4000, 4},
		"Paid Search":    {3512, 584, 2000, 0},
		"Organic Social": {10085, 1167, 0, 3},
		"Referral":       {9594, 0, 0, 3},
	}},
	{"position_based", map[string]channelMoney{
		// As linear except P1 (4799 / 2400 / 4800, counted in Dir): OSe 4799 + 1505 + 1500; Em 2400 +
		// 3906 + 1500 (counts P5, S1b); Dir 4800 + 4000 + 3000 + 1500 + 1500 (counts P1, P3).
		"Organic Search": {7804, 0, 0, 1},
		"Email":          {7806, 0, 0, 2},
		"Direct":         {14800, 0, 3000, 2},
		"Paid Search":    {5268, 875, 3000, 1},
		"Organic Social": {8027, 876, 0, 2},
		"Referral":       {7358, 0, 0, 2},
	}},
}

func day(month time.Month, d, hour, min int) time.Time {
	return time.Date(2026, month, d, hour, min, 0, 0, time.UTC)
}

// visit is one session: its first pageview decides the channel, a second one follows a minute later.
type visit struct {
	visitor, session string
	at               time.Time
	url, referrer    string
}

// visits of the scenario, by person; the comment says the channel the referrer/UTM rules give.
var visits = []visit{
	{"VAlice", "SAlice1", day(10, 20, 10, 0), "https://shop.example/blog/analytics-review", "https://www.google.com/"},               // Organic Search
	{"VAlice", "SAlice2", day(10, 27, 10, 0), "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=oct", ""},   // Email
	{"VAlice", "SAlice3", day(11, 3, 10, 0), "https://shop.example/pricing", ""},                                                     // Direct
	{"VBob", "SBob1", day(10, 30, 9, 0), "https://shop.example/?gclid=Cj0KCQiAe2e2scenario", "https://www.google.com/"},              // Paid Search
	{"VBob", "SBob2", day(11, 6, 9, 0), "https://shop.example/launch", "https://www.facebook.com/"},                                  // Organic Social
	{"VCarol", "SCarol0", day(11, 1, 14, 0), "https://shop.example/", ""},                                                            // Direct
	{"VCarol", "SCarol1", day(11, 8, 14, 0), "https://shop.example/features", "https://blog.example.org/best-analytics-tools"},       // Referral
	{"VDave", "SDave1", day(11, 3, 15, 50), "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand", ""},         // Paid Search
	{"VDave", "SDave2", day(11, 10, 15, 50), "https://shop.example/pricing", ""},                                                     // Direct
	{"VEmi", "SEmi0", day(11, 5, 10, 40), "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=nov", ""},       // Email
	{"VEmi", "SEmi1", day(11, 12, 10, 40), "https://shop.example/jp", "https://www.reddit.com/r/analytics/"},                         // Organic Social
	{"VFarah", "SFarah0", day(10, 31, 8, 0), "https://shop.example/", "https://www.bing.com/"},                                       // Organic Search
	{"VFarah", "SFarah1", day(11, 14, 8, 0), "https://shop.example/pricing", "https://forum.example.net/thread/42"},                  // Referral
	{"VGreta", "SGreta1", day(9, 28, 9, 50), "https://shop.example/", "https://duckduckgo.com/"},                                     // Organic Search (before the range)
	{"VGreta", "SGreta2", day(10, 5, 9, 50), "https://shop.example/pricing", ""},                                                     // Direct
	{"VGreta", "SGreta3", day(10, 29, 9, 0), "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=digest", ""}, // Email
	{"VGreta", "SGreta4", day(11, 5, 9, 0), "https://shop.example/account", ""},                                                      // Direct
	{"VHugo", "SHugo1", day(10, 12, 8, 0), "https://shop.example/", "https://www.linkedin.com/"},                                     // Organic Social
	{"VHugo", "SHugo2", day(11, 5, 8, 30), "https://shop.example/integrations", "https://partner.example.com/tools"},                 // Referral
}

// browse sends every visit, and carol's identify, and waits until the batch writer has stored them.
func browse(t *testing.T, s *server, site string) {
	for _, v := range visits {
		s.track(site, hit{at: v.at, visitor: v.visitor, session: v.session, url: v.url, referrer: v.referrer})
		s.track(site, hit{at: v.at.Add(time.Minute), visitor: v.visitor, session: v.session, url: "https://shop.example/checkout"})
	}
	// Carol signs up during her referral visit: identify(email), two minutes in.
	s.track(site, hit{at: day(11, 8, 14, 2), visitor: "VCarol", session: "SCarol1", url: "https://shop.example/signup", name: "identify", identity: "Carol@Example.com"})
	waitFor(t, "the pageviews to be stored", func() bool {
		rows := s.query(map[string]any{"site_id": site, "metrics": []string{"visits", "pageviews"}, "date_range": []string{"2026-09-01", "2026-11-20"}}).rows()
		return strings.Join(rows[""], " ") == fmt.Sprintf("%d %d", len(visits), 2*len(visits))
	})
	waitFor(t, "carol's identify to be stored", func() bool {
		_, err := s.store.VisitorByEmail(context.Background(), site, "carol@example.com", clock)
		return err == nil
	})
}

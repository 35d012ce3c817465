package stats

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

var site = &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}

// scenario is small enough to work out by hand (see the expectations in each test):
//
//	v1: Organic Search (Nov 1, 2 pageviews) → Paid Search (Nov 5) → Direct (Nov 6 09:00), pays $100.00 on
//	    Nov 6 10:00 (linked by metadata), $30.00 refunded Nov 8.
//	v2: Email (Nov 10 09:00, pageview + signup), pays $50.00 Nov 10 12:00 (linked by customer).
//	v3: Organic Social bounce (Nov 12).
//	an unattributed $20.00 payment Nov 15 whose utm says Referral / news.example.
func scenario(t *testing.T) *Engine {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pv := func(v, s, ch, src, path string, at time.Time) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: v, SessionID: s, Hostname: "shop.example",
			Path: path, Channel: ch, ReferrerSource: src, Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
	}
	evs := []tributary.Event{
		pv("v1", "s1a", "Organic Search", "Google", "/", day(1, 10)),
		pv("v1", "s1a", "Organic Search", "Google", "/pricing", day(1, 10).Add(2*time.Minute)),
		pv("v1", "s1b", "Paid Search", "Google", "/pricing", day(5, 10)),
		pv("v1", "s1c", "Direct", "", "/", day(6, 9)),
		pv("v2", "s2a", "Email", "newsletter", "/", day(10, 9)),
		pv("v3", "s3a", "Organic Social", "Reddit", "/blog", day(12, 9)),
	}
	signup := pv("v2", "s2a", "Email", "newsletter", "/", day(10, 9).Add(time.Minute))
	signup.Name, signup.Props = "signup", map[string]string{"plan": "pro"}
	evs = append(evs, signup)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.InsertEvents(ctx, evs))
	entry := func(id, kind, pay string, at time.Time, amount int64) tributary.LedgerEntry {
		return tributary.LedgerEntry{ID: id, SiteID: "s1", Livemode: true, Kind: kind, PaymentID: pay, OccurredAt: at, Amount: amount, Currency: "USD",
			ReportingAmount: amount, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"}
	}
	_, err = st.InsertLedger(ctx, []tributary.LedgerEntry{
		entry("pay:p1", "payment", "p1", day(6, 10), 10000),
		entry("refund:r1", "refund", "p1", day(8, 10), -3000),
		entry("pay:p2", "payment", "p2", day(10, 12), 5000),
		entry("pay:p3", "payment", "p3", day(15, 10), 2000),
		// A payment the reconciliation found to be p2's money (merged): its entries net to zero, so it
		// counts as no payment, no customer and no revenue.
		entry("pay:pm", "payment", "pm", day(10, 12), 5000),
		entry("pay:pm#1", "payment", "pm", day(10, 12), -5000),
		{ID: "pay:pj", SiteID: "s1", Livemode: true, Kind: "payment", PaymentID: "pj", OccurredAt: day(16, 10), Amount: 5000, Currency: "JPY", ReportingCurrency: "USD", Source: "stripe"},
	})
	must(err)
	_, err = st.InsertLedger(ctx, []tributary.LedgerEntry{func() tributary.LedgerEntry {
		e := entry("pay:t", "payment", "pt", day(16, 10), 777)
		e.Livemode = false
		return e
	}()})
	must(err)
	must(st.InsertIdentities(ctx, []tributary.Identity{
		{SiteID: "s1", At: day(6, 10), VisitorID: "v1", SessionID: "s1c", PaymentID: "p1", LinkMethod: "metadata", Source: "stripe"},
		{SiteID: "s1", At: day(10, 12), VisitorID: "v2", SessionID: "s2a", PaymentID: "p2", CustomerID: "cus_2", LinkMethod: "customer", Source: "stripe"},
		{SiteID: "s1", At: day(15, 10), PaymentID: "p3", LinkMethod: "unattributed", Channel: "Referral", ReferrerSource: "news.example", Source: "api"},
		{SiteID: "s1", At: day(10, 12), VisitorID: "v2", SessionID: "s2a", PaymentID: "pm", CustomerID: "cus_m", LinkMethod: "metadata", Source: "stripe"},
		// v3 paid in test mode only: a test payer never converts in live figures.
		{SiteID: "s1", At: day(16, 10), VisitorID: "v3", SessionID: "s3a", PaymentID: "pt", LinkMethod: "metadata", Source: "stripe"},
	}))
	_, err = st.InsertMRRMovements(ctx, []tributary.MRRMovement{
		{ID: "m1", SiteID: "s1", Livemode: true, SubscriptionID: "sub1", At: day(2, 0), Kind: "new", Delta: 2900, Currency: "USD", ReportingDelta: 2900, ReportingCurrency: "USD", Converted: true},
		{ID: "m2", SiteID: "s1", Livemode: true, SubscriptionID: "sub1", At: day(12, 0), Kind: "expansion", Delta: 2000, Currency: "USD", ReportingDelta: 2000, ReportingCurrency: "USD", Converted: true},
		{ID: "m3", SiteID: "s1", Livemode: true, SubscriptionID: "sub2", At: day(13, 0), Kind: "new", Delta: 1000, Currency: "USD", ReportingDelta: 1000, ReportingCurrency: "USD", Converted: true},
		{ID: "m4", SiteID: "s1", Livemode: true, SubscriptionID: "sub2", At: day(18, 0), Kind: "churn", Delta: -1000, Currency: "USD", ReportingDelta: -1000, ReportingCurrency: "USD", Converted: true},
	})
	must(err)
	return NewEngine(st.DB(), DuckDB{})
}

func run(t *testing.T, e *Engine, body string) *Result {
	t.Helper()
	q, err := ParseQuery([]byte(body), site, now)
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	q.ConversionNames = []string{"signup"}
	res, err := e.Run(context.Background(), q)
	if err != nil {
		t.Fatalf("run %s: %v", body, err)
	}
	return res
}

// flat renders results as "dim1,dim2=m1,m2" lines.
func flat(r *Result) string {
	var lines []string
	for _, row := range r.Results {
		var ms []string
		for _, m := range row.Metrics {
			ms = append(ms, m.String())
		}
		lines = append(lines, strings.Join(row.Dimensions, ",")+"="+strings.Join(ms, ","))
	}
	return strings.Join(lines, " | ")
}

func TestTotals(t *testing.T) {
	e := scenario(t)
	res := run(t, e, `{"site_id":"s1","metrics":["visitors","visits","pageviews","views_per_visit","bounce_rate","visit_duration","events","conversions","conversion_rate",
		"payments","customers","revenue","refunds","disputes","net_revenue","average_order_value","revenue_per_visitor","ltv","mrr","new_mrr","expansion_mrr","churned_mrr","arpu"],"date_range":"30d"}`)
	// visit_duration: s1a lasted 120 s, s2a 60 s (pageview, then signup), the others one event → 180 s / 5 visits = 36 s.
	// conversions: v1 and v2 paid (v2 also signed up) → 2 of 3 visitors.
	// money: 100 + 50 + 20 paid, 30 refunded; the JPY payment has no rate and is reported apart.
	// MRR at the end: sub1 49.00 (29 + 20 expansion), sub2 churned → 49.00; new 39.00, expansion 20.00, churn -10.00; arpu 49.00 / 1.
	want := "=3,5,6,1.2,80,36,1,2,66.67,3,3,170.00,30.00,0.00,140.00,56.67,56.67,46.67,49.00,39.00,20.00,-10.00,49.00"
	if got := flat(res); got != want {
		t.Fatalf("totals\n got %s\nwant %s", got, want)
	}
	if res.Meta.UnconvertedPayments != 1 || res.Meta.Currency != "USD" || res.Meta.Model != "last_non_direct" || res.Meta.LookbackDays != 30 {
		t.Fatalf("meta = %+v", res.Meta)
	}
	if test := run(t, e, `{"site_id":"s1","metrics":["revenue","payments","conversions"],"date_range":"30d","mode":"test"}`); flat(test) != "=7.77,1,2" { // v3 paid (test), v2 signed up (events have no mode)
		t.Fatalf("test mode = %s (test money must never mix with live)", flat(test))
	}
}

// TestRevenueByChannelEveryModel pins the hand-worked credits of p1 ($100 over Organic Search Nov 1,
// Paid Search Nov 5, Direct Nov 6) and its $30 refund, plus p2 (Email) and the unattributed p3 (Referral).
func TestRevenueByChannelEveryModel(t *testing.T) {
	e := scenario(t)
	tests := []struct{ model, want string }{
		{"first_touch", "Organic Search=100.00,30.00,70.00 | Email=50.00,0.00,50.00 | Referral=20.00,0.00,20.00"},
		{"last_touch", "Direct=100.00,30.00,70.00 | Email=50.00,0.00,50.00 | Referral=20.00,0.00,20.00"},
		{"last_non_direct", "Paid Search=100.00,30.00,70.00 | Email=50.00,0.00,50.00 | Referral=20.00,0.00,20.00"},
		// 10000 / 3 = 3333 r 1: the tied remainder goes to the touch nearest the payment (Direct).
		{"linear", "Email=50.00,0.00,50.00 | Direct=33.34,10.00,23.34 | Organic Search=33.33,10.00,23.33 | Paid Search=33.33,10.00,23.33 | Referral=20.00,0.00,20.00"},
		{"position_based", "Email=50.00,0.00,50.00 | Direct=40.00,12.00,28.00 | Organic Search=40.00,12.00,28.00 | Paid Search=20.00,6.00,14.00 | Referral=20.00,0.00,20.00"},
		// weights 2^(-Δ/7d): Δ = 5 d, 1 d, 1 h → 24.27 %, 36.07 %, 39.66 % (largest remainder on cents).
		{"time_decay", "Email=50.00,0.00,50.00 | Direct=39.66,11.90,27.76 | Paid Search=36.07,10.82,25.25 | Organic Search=24.27,7.28,16.99 | Referral=20.00,0.00,20.00"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			res := run(t, e, `{"site_id":"s1","metrics":["revenue","refunds","net_revenue"],"dimensions":["visit:channel"],"date_range":"30d","attribution":{"model":"`+tc.model+`"}}`)
			if got := flat(res); got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// runPage answers bodies as one page (RunAll, sharing the request's money and paying visitors).
func runPage(t *testing.T, e *Engine, bodies ...string) []string {
	t.Helper()
	var qs []*Query
	for _, body := range bodies {
		q, err := ParseQuery([]byte(body), site, now)
		if err != nil {
			t.Fatalf("parse %s: %v", body, err)
		}
		q.ConversionNames = []string{"signup"}
		qs = append(qs, q)
	}
	res, err := e.RunAll(context.Background(), qs, 2)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = flat(r)
	}
	return out
}

// TestRevenuePage has a page's panels and KPIs share the store's money statement: the unconverted
// payment (Direct under single-touch models) is no panel's row, the KPIs are the range's totals, and a
// range with no payment still has its totals' row.
func TestRevenuePage(t *testing.T) {
	e := scenario(t)
	for _, tc := range []struct{ dates, panel, kpis string }{
		{`"30d"`, "Paid Search=100.00,30.00,70.00 | Email=50.00,0.00,50.00 | Referral=20.00,0.00,20.00", "=170.00,30.00,140.00"},
		{`"day"`, "", "=0.00,0.00,0.00"},
	} {
		got := runPage(t, e,
			`{"site_id":"s1","metrics":["revenue","refunds","net_revenue"],"dimensions":["visit:channel"],"date_range":`+tc.dates+`}`,
			`{"site_id":"s1","metrics":["revenue","refunds","net_revenue"],"date_range":`+tc.dates+`}`)
		if got[0] != tc.panel || got[1] != tc.kpis {
			t.Errorf("%s:\n got %q, %q\nwant %q, %q", tc.dates, got[0], got[1], tc.panel, tc.kpis)
		}
	}
	// The KPIs read the page's statement only when a panel of theirs runs it: a panel of traffic alone,
	// or of another model, runs none.
	kpis := `{"site_id":"s1","metrics":["revenue"],"date_range":"30d"}`
	for _, tc := range []struct {
		panel string
		share bool
	}{
		{`{"site_id":"s1","metrics":["revenue"],"dimensions":["visit:channel"],"date_range":"30d"}`, true},
		{`{"site_id":"s1","metrics":["visitors"],"dimensions":["visit:channel"],"date_range":"30d"}`, false},
		{`{"site_id":"s1","metrics":["revenue"],"dimensions":["visit:channel"],"date_range":"30d","attribution":{"model":"first_touch"}}`, false},
	} {
		var qs []*Query
		for _, body := range []string{tc.panel, kpis} {
			q, err := ParseQuery([]byte(body), site, now)
			if err != nil {
				t.Fatal(err)
			}
			qs = append(qs, q)
		}
		ctx := WithCache(context.Background())
		if _, err := e.RunAll(ctx, qs, 2); err != nil {
			t.Fatal(err)
		}
		c, key := cacheFrom(ctx), pageMoneyKey(qs[1], qs[1].From, qs[1].To)
		if got := c.panelMoney(key); got != tc.share {
			t.Errorf("%s: the KPIs share its money statement: %v, want %v", tc.panel, got, tc.share)
		}
		// Only a panel, or the KPIs sharing its statement, run the statement of the KPIs' key.
		if ran := c.entries[key] != nil; ran != tc.share {
			t.Errorf("%s: the statement of the KPIs' money ran: %v, want %v", tc.panel, ran, tc.share)
		}
	}
}

func TestDimensionsAndFilters(t *testing.T) {
	e := scenario(t)
	tests := []struct{ body, want string }{
		{`{"site_id":"s1","metrics":["visitors","pageviews"],"dimensions":["visit:channel"],"date_range":"30d","order_by":[["visit:channel","asc"]]}`,
			"Direct=1,1 | Email=1,1 | Organic Search=1,2 | Organic Social=1,1 | Paid Search=1,1"},
		{`{"site_id":"s1","metrics":["pageviews"],"dimensions":["event:page"],"date_range":"30d"}`, "/=3 | /pricing=2 | /blog=1"},
		{`{"site_id":"s1","metrics":["events"],"dimensions":["event:props:plan"],"date_range":"30d","filters":[["is","event:name",["signup"]]]}`, "pro=1"},
		{`{"site_id":"s1","metrics":["visits"],"dimensions":["visit:entry_page"],"date_range":"30d"}`, "/=3 | /blog=1 | /pricing=1"},
		{`{"site_id":"s1","metrics":["visitors","revenue"],"date_range":"30d","filters":[["is","visit:channel",["Paid Search","Email"]]]}`, "=2,150.00"},
		{`{"site_id":"s1","metrics":["visits"],"date_range":"30d","filters":[["is_not","visit:channel",["Direct"]],["contains","visit:source",["oo"]]]}`, "=2"},
		{`{"site_id":"s1","metrics":["visits"],"date_range":"30d","filters":[["or",[["matches","visit:channel",["^Organic"]],["is","visit:channel",["Email"]]]]]}`, "=3"},
		{`{"site_id":"s1","metrics":["visitors"],"date_range":"30d","filters":[["is","event:page",["/pricing"]]]}`, "=1"},
		{`{"site_id":"s1","metrics":["revenue","payments"],"dimensions":["payment:link_method"],"date_range":"30d"}`, "metadata=100.00,1 | customer=50.00,1 | unattributed=20.00,1"},
		{`{"site_id":"s1","metrics":["revenue"],"dimensions":["time:day"],"date_range":["2026-11-06","2026-11-10"]}`, "2026-11-06 00:00:00=100.00 | 2026-11-08 00:00:00=0.00 | 2026-11-10 00:00:00=50.00"}, // Nov 8: the refund's day
		{`{"site_id":"s1","metrics":["visits"],"dimensions":["time:week"],"date_range":["2026-11-01","2026-11-15"]}`, "2026-10-26 00:00:00=1 | 2026-11-02 00:00:00=2 | 2026-11-09 00:00:00=2"},
		{`{"site_id":"s1","metrics":["mrr"],"dimensions":["time:month"],"date_range":"month"}`, "2026-11-01 00:00:00=49.00"},
		{`{"site_id":"s1","metrics":["visitors"],"dimensions":["visit:channel"],"date_range":"30d","limit":2,"offset":1,"order_by":[["visit:channel","desc"]]}`, "Organic Social=1 | Organic Search=1"},
		{`{"site_id":"s1","metrics":["revenue"],"date_range":"day"}`, "=0.00"},
		// No sessions match: sums over no rows are 0, not NULL.
		{`{"site_id":"s1","metrics":["visits","pageviews","events","visit_duration"],"date_range":"30d","filters":[["is","visit:channel",["Nowhere"]]]}`, "=0,0,0,0"},
	}
	for _, tc := range tests {
		if got := flat(run(t, e, tc.body)); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.body, got, tc.want)
		}
	}
}

func TestCompareAndCSV(t *testing.T) {
	e := scenario(t)
	res := run(t, e, `{"site_id":"s1","metrics":["visits","revenue"],"date_range":["2026-11-10","2026-11-19"],"compare":"previous_period"}`)
	// This period: s2a, s3a; 50 + 20. Previous 10 days (Oct 31 – Nov 9): s1a, s1b, s1c; 100.
	b, _ := json.Marshal(res.Results)
	if want := `[{"dimensions":[],"metrics":[2,70.00],"comparison":{"metrics":[3,100.00],"change":[-33.3,-30]}}]`; string(b) != want {
		t.Fatalf("\n got %s\nwant %s", b, want)
	}
	var csv strings.Builder
	res = run(t, e, `{"site_id":"s1","metrics":["visitors"],"dimensions":["visit:channel"],"date_range":"30d","order_by":[["visit:channel","asc"]]}`)
	if err := res.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csv.String(), "visit:channel,visitors\nDirect,1\nEmail,1\n") {
		t.Fatalf("csv = %q", csv.String())
	}
}

func TestQueryErrors(t *testing.T) {
	tests := []struct{ body, field string }{
		{`{"site_id":"s1"}`, "metrics"},
		{`{"site_id":"s1","metrics":["visitors","profit"]}`, "metrics[1]"},
		{`{"site_id":"s1","metrics":["visitors"],"dimensions":["visit:planet"]}`, "dimensions[0]"},
		{`{"site_id":"s1","metrics":["visitors"],"filters":[["like","visit:channel",["x"]]]}`, "filters[0]"},
		{`{"site_id":"s1","metrics":["visitors"],"filters":[["matches","visit:channel",["("]]]}`, "filters[0]"},
		{`{"site_id":"s1","metrics":["visitors"],"date_range":"fortnight"}`, "date_range"},
		{`{"site_id":"s1","metrics":["visitors"],"date_range":["2026-11-10","2026-11-01"]}`, "date_range"},
		{`{"site_id":"s1","metrics":["revenue"],"attribution":{"model":"magic"}}`, "attribution.model"},
		{`{"site_id":"s1","metrics":["revenue"],"attribution":{"lookback_days":999}}`, "attribution.lookback_days"},
		{`{"site_id":"s1","metrics":["mrr"],"dimensions":["visit:entry_page"]}`, "metrics[0]"},
		{`{"site_id":"s1","metrics":["bounce_rate"],"dimensions":["payment:product"]}`, "metrics[0]"},
		{`{"site_id":"s1","metrics":["revenue"],"dimensions":["event:page"]}`, "metrics[0]"},
		{`{"site_id":"s1","metrics":["visitors"],"order_by":[["revenue","desc"]]}`, "order_by[0]"},
		{`{"site_id":"s1","metrics":["visitors"],"limit":0}`, "limit"},
		{`{"site_id":"s1","metrics":["visitors"],"colour":1}`, "colour"},
	}
	for _, tc := range tests {
		_, err := ParseQuery([]byte(tc.body), site, now)
		if tributary.ErrorCode(err) != tributary.EINVALID || tributary.ErrorField(err) != tc.field {
			t.Errorf("%s: err %v (field %q), want field %q", tc.body, err, tributary.ErrorField(err), tc.field)
		}
	}
}

// TestSecondDevice: a payment made on a phone is credited to the laptop visit of the same person (both
// visitors identified with one e-mail), which is read after people are grouped.
func TestSecondDevice(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pv := func(v, s, ch string, at time.Time) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: v, SessionID: s, Hostname: "shop.example",
			Path: "/", Channel: ch, Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
	}
	if err := st.InsertEvents(ctx, []tributary.Event{pv("laptop", "l1", "Organic Search", day(1, 10)), pv("phone", "p1", "Email", day(5, 10))}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{{ID: "pay:x", SiteID: "s1", Livemode: true, Kind: "payment", PaymentID: "x",
		OccurredAt: day(5, 12), Amount: 10000, Currency: "USD", ReportingAmount: 10000, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIdentities(ctx, []tributary.Identity{
		{SiteID: "s1", At: day(1, 11), VisitorID: "laptop", PersonID: "ann@example.com", Email: "ann@example.com", Source: "browser"},
		{SiteID: "s1", At: day(5, 11), VisitorID: "phone", PersonID: "ann@example.com", Email: "ann@example.com", Source: "browser"},
		{SiteID: "s1", At: day(5, 12), VisitorID: "phone", SessionID: "p1", PaymentID: "x", LinkMethod: "metadata", Source: "stripe"},
	}); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(st.DB(), DuckDB{})
	for _, c := range []struct{ model, want string }{
		{"first_touch", "Organic Search=100.00,1"},
		{"last_touch", "Email=100.00,1"},
		{"linear", "Email=50.00,0 | Organic Search=50.00,1"}, // a tie counts the customer at the earlier touch
	} {
		for _, page := range []bool{false, true} {
			q, err := ParseQuery([]byte(`{"site_id":"s1","metrics":["revenue","customers"],"dimensions":["visit:channel"],"date_range":"30d","attribution":{"model":"`+c.model+`"}}`), site, now)
			if err != nil {
				t.Fatal(err)
			}
			qctx := ctx
			if page {
				qctx = WithCache(ctx)
			}
			res, err := e.Run(qctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(res); got != c.want {
				t.Errorf("%s (page %v): got %s, want %s", c.model, page, got, c.want)
			}
		}
	}
}

// TestConversionsWithoutPaidLinks pins that the store's paid links (DuckDB's paid_links) give the same
// conversions as matching the range's links against the ledger in the query, in both modes: the
// scenario has live payers, a test-mode payer, an unattributed payment and a payment netted to nothing.
func TestConversionsWithoutPaidLinks(t *testing.T) {
	e := scenario(t)
	matched := e.With(WithoutPaidLinks())
	for _, mode := range []string{"live", "test"} {
		for _, shape := range []string{`"dimensions":["visit:channel"]`, `"dimensions":["time:day"]`, `"dimensions":["visit:entry_page","visit:country"]`,
			`"filters":[["is","visit:channel",["Email","Organic Social"]]]`, `"date_range":"7d"`} {
			body := `{"site_id":"s1","metrics":["visitors","conversions","conversion_rate"],"date_range":"30d","mode":"` + mode + `",` + shape + `}`
			if strings.Contains(shape, "date_range") {
				body = strings.Replace(body, `"date_range":"30d",`, "", 1)
			}
			got, want := flat(run(t, e, body)), flat(run(t, matched, body))
			if got != want {
				t.Errorf("%s:\nwith paid links %s\nmatched         %s", body, got, want)
			}
		}
	}
	// The comparison must see payers of both modes.
	if live, test := flat(run(t, e, `{"site_id":"s1","metrics":["conversions"],"date_range":"30d"}`)),
		flat(run(t, e, `{"site_id":"s1","metrics":["conversions"],"date_range":"30d","mode":"test"}`)); live != "=2" || test != "=2" {
		t.Fatalf("conversions live %s, test %s; want 2 and 2 (v1 and v2 paid live, v3 in test, v2 signed up)", live, test)
	}
}

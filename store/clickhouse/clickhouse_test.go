package clickhouse_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/storetest"
)

// open returns a store on a fresh database of its own.
func open(t *testing.T) *clickhouse.Store {
	t.Helper()
	dsn := testenv.ClickHouseDSN(t)
	s, err := clickhouse.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pair is one deployment of the scale-out shape: an in-memory DuckDB stands in for the MetaStore
// (PostgreSQL in production), ClickHouse holds the facts.
func pair(t *testing.T) (tributary.MetaStore, tributary.EventStore) {
	t.Helper()
	m, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, open(t)
}

func TestEventStore(t *testing.T) {
	storetest.EventStore(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

func TestLinks(t *testing.T) { storetest.Links(t, pair) }

func TestConversions(t *testing.T) {
	storetest.Conversions(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

func TestServerEvents(t *testing.T) { storetest.ServerEvents(t, pair) }

func TestOpenRejectsOtherDSNs(t *testing.T) {
	for _, dsn := range []string{"", "postgres://localhost/x", "http://127.0.0.1:8123/default"} {
		_, err := clickhouse.Open(context.Background(), dsn)
		if tributary.ErrorCode(err) != tributary.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", dsn, err)
		}
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there, so the dial is refused at once.
	_, err := clickhouse.Open(ctx, "clickhouse://127.0.0.1:1/default?dial_timeout=1s")
	if tributary.ErrorCode(err) != tributary.EUNAVAILABLE {
		t.Fatalf("Open on a closed port = %v, want EUNAVAILABLE", err)
	}
}

// TestMigrationsRunOnce opens the same database twice: the second start finds every migration recorded
// and changes nothing, and the tables keep their rows.
func TestMigrationsRunOnce(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.ClickHouseDSN(t)
	s1, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if err := s1.InsertEvents(ctx, []tributary.Event{{SiteID: "s1", Timestamp: storetest.Clock, Name: "pageview"}}); err != nil {
		t.Fatal(err)
	}
	s2, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer s2.Close()
	var runs, versions uint64
	if err := s2.DB().QueryRowContext(ctx, `SELECT count(), uniqExact(version) FROM schema_migrations`).Scan(&runs, &versions); err != nil {
		t.Fatal(err)
	}
	if runs != versions || runs == 0 {
		t.Fatalf("schema_migrations has %d rows for %d versions", runs, versions)
	}
	n, err := s2.CountEvents(ctx, "s1", storetest.Clock, storetest.Clock.Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("events after reopening = %d, %v", n, err)
	}
	// The tables are laid out for site-and-time scans and partitioned by month.
	for _, tc := range []struct{ table, want string }{
		{"events", "PARTITION BY toYYYYMM(ts) ORDER BY (site_id, ts, session_id)"},
		{"ledger_facts", "ReplacingMergeTree(ver) PARTITION BY toYYYYMM(occurred_at) ORDER BY (site_id, occurred_at, id)"},
		{"mrr_movement_facts", "ReplacingMergeTree(ver) PARTITION BY toYYYYMM(ts) ORDER BY (site_id, ts, id)"},
		{"identities", "PARTITION BY toYYYYMM(ts) ORDER BY (site_id, ts, rowid)"},
		{"visits", "AggregatingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (site_id, day, session_id, backfilled)"},
	} {
		var ddl string
		if err := s2.DB().QueryRowContext(ctx, `SHOW CREATE TABLE `+tc.table).Scan(&ddl); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ddl, tc.want) {
			t.Errorf("%s: %s\nwant it to contain %s", tc.table, ddl, tc.want)
		}
	}
}

// TestFactWrittenTwiceCountsOnce writes an entry and a movement a second time behind the existence check's
// back, as two nodes racing on one id would, with other values and in another month (so the two rows
// sort apart and a merge would not collapse them): reads, and the stats engine, see the first write once.
func TestFactWrittenTwiceCountsOnce(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	first := tributary.LedgerEntry{ID: "pay:pi_1", SiteID: "s1", Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_1",
		OccurredAt: storetest.Clock, Amount: 4999, Currency: "USD", ReportingAmount: 4999, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"}
	if n, err := s.InsertLedger(ctx, []tributary.LedgerEntry{first, first}); err != nil || n != 1 {
		t.Fatalf("insert = %d, %v; want 1 new", n, err)
	}
	mv := tributary.MRRMovement{ID: "mrr:sub_1:new", SiteID: "s1", Livemode: true, SubscriptionID: "sub_1", At: storetest.Clock, Kind: tributary.MRRNew,
		Delta: 2900, Currency: "USD", ReportingDelta: 2900, ReportingCurrency: "USD", Converted: true, Source: "stripe"}
	if n, err := s.InsertMRRMovements(ctx, []tributary.MRRMovement{mv}); err != nil || n != 1 {
		t.Fatalf("insert movement = %d, %v", n, err)
	}
	// The racing writer: a later write (smaller ver), a month later, another amount.
	later := storetest.Clock.AddDate(0, 1, 0)
	insertRow(t, s, `INSERT INTO ledger_facts (id, site_id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_amount,
		reporting_currency, rate, rate_date, converted, customer_id, email, subscription_id, product, source, detail, recorded_at, ver)`,
		"pay:pi_1", "s1", true, "payment", "pi_1", later, int64(1), "USD", int64(1), "USD", "1", "", true, "", "", "", "", "stripe", "", later, uint64(1))
	insertRow(t, s, `INSERT INTO mrr_movement_facts (id, site_id, livemode, subscription_id, customer_id, ts, kind, delta, currency,
		reporting_delta, reporting_currency, converted, source, ver)`,
		"mrr:sub_1:new", "s1", true, "sub_1", "", later, "new", int64(1), "USD", int64(1), "USD", true, "stripe", uint64(1))
	got, err := s.Ledger(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Amount != 4999 || !got[0].OccurredAt.Equal(storetest.Clock) {
		t.Fatalf("ledger = %+v, want the first write once", got)
	}
	mvs, err := s.MRRMovements(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(mvs) != 1 || mvs[0].Delta != 2900 {
		t.Fatalf("movements = %+v, want the first write once", mvs)
	}
	if n, err := s.InsertLedger(ctx, []tributary.LedgerEntry{first}); err != nil || n != 0 {
		t.Fatalf("insert again = %d, %v; want 0 new", n, err)
	}
	site := &tributary.Site{ID: "s1", Currency: "USD", Timezone: "UTC"}
	q, err := stats.ParseQuery([]byte(`{"site_id":"s1","metrics":["revenue","payments","mrr"],"date_range":["2026-11-01","2026-12-31"]}`), site, later.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := stats.NewEngine(s.DB(), stats.ClickHouse{}).Run(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if got := flat(res); got != "=49.99,1,29.00" {
		t.Fatalf("stats = %s, want the fact counted once (=49.99,1,29.00)", got)
	}
	// December holds the racing write alone: the entry is dated by its first write, in November, so
	// December has no money (a range applied before the first write won would count the second).
	for _, body := range []string{`{"site_id":"s1","metrics":["revenue","payments"],"date_range":["2026-12-01","2026-12-31"]}`,
		`{"site_id":"s1","metrics":["revenue","payments"],"dimensions":["visit:channel"],"date_range":["2026-12-01","2026-12-31"]}`} {
		q, err := stats.ParseQuery([]byte(body), site, later.AddDate(0, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		res, err := stats.NewEngine(s.DB(), stats.ClickHouse{}).Run(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := flat(res); got != "=0.00,0" && got != "" {
			t.Fatalf("%s: stats = %s, want no money in the racing write's month", body, got)
		}
	}
}

// insertRow writes one row through the driver's batch (a plain INSERT … VALUES query waits for a data
// block on 18.16).
func insertRow(t *testing.T, s *clickhouse.Store, insert string, vals ...any) {
	t.Helper()
	tx, err := s.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(insert)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	if _, err := stmt.Exec(vals...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// load writes the stats package's hand-worked scenario (stats/stats_test.go) into an EventStore, plus
// props that JSON escapes (quotes, <, >, a backslash) and a half-hour-zone site's worth of late events.
func load(t *testing.T, st tributary.EventStore) {
	t.Helper()
	ctx := context.Background()
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
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
		// 18:45 UTC is past midnight in Kolkata (UTC+5:30): the bucket moves a day there, not in UTC.
		pv("v4", "s4a", "Referral", "news.example", "/a?b=c", day(14, 18).Add(45*time.Minute)),
		pv("v4", "s4a", "Referral", "news.example", "/docs", day(30, 20)),
	}
	signup := pv("v2", "s2a", "Email", "newsletter", "/", day(10, 9).Add(time.Minute))
	signup.Name, signup.Props = "signup", map[string]string{"plan": "pro"}
	odd := pv("v3", "s3a", "Organic Social", "Reddit", "/blog", day(12, 9).Add(time.Minute))
	odd.Name, odd.Props = "signup", map[string]string{"plan": `a"b<c>'d\e`, "note": `"plan":"spoof"`}
	// The server event that became payment p3 (a goal with money: event:goal's revenue).
	bought := tributary.Event{SiteID: "s1", Timestamp: day(15, 10), Name: "purchase", Source: "server", VisitorID: "v3", SessionID: "s3b",
		Props: map[string]string{tributary.PaymentIDProp: "p3"}}
	evs = append(evs, signup, odd, bought)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.InsertEvents(ctx, evs))
	entry := func(id, kind, pay string, at time.Time, amount int64) tributary.LedgerEntry {
		return tributary.LedgerEntry{ID: id, SiteID: "s1", Livemode: true, Kind: kind, PaymentID: pay, OccurredAt: at, Amount: amount, Currency: "USD",
			ReportingAmount: amount, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"}
	}
	test := entry("pay:t", "payment", "pt", day(16, 10), 777)
	test.Livemode = false
	prod := entry("pay:p4", "payment", "p4", day(14, 19), 1250)
	prod.Product = "Pro plan"
	_, err := st.InsertLedger(ctx, []tributary.LedgerEntry{
		entry("pay:p1", "payment", "p1", day(6, 10), 10000),
		entry("refund:r1", "refund", "p1", day(8, 10), -3000),
		entry("pay:p2", "payment", "p2", day(10, 12), 5000),
		entry("pay:p3", "payment", "p3", day(15, 10), 2000),
		prod,
		{ID: "pay:pj", SiteID: "s1", Livemode: true, Kind: "payment", PaymentID: "pj", OccurredAt: day(16, 10), Amount: 5000, Currency: "JPY", ReportingCurrency: "USD", Source: "stripe"},
		test,
	})
	must(err)
	must(st.InsertIdentities(ctx, []tributary.Identity{
		{SiteID: "s1", At: day(6, 10), VisitorID: "v1", SessionID: "s1c", PaymentID: "p1", LinkMethod: "metadata", Source: "stripe"},
		{SiteID: "s1", At: day(10, 12), VisitorID: "v2", SessionID: "s2a", PaymentID: "p2", CustomerID: "cus_2", LinkMethod: "customer", Source: "stripe"},
		{SiteID: "s1", At: day(15, 10), PaymentID: "p3", LinkMethod: "unattributed", Channel: "Referral", ReferrerSource: "news.example", Source: "api"},
		{SiteID: "s1", At: day(14, 19), VisitorID: "v4", SessionID: "s4a", PaymentID: "p4", LinkMethod: "metadata", Source: "stripe"},
		{SiteID: "s1", At: day(14, 19), VisitorID: "v4", PersonID: "dana@example.com", Email: "dana@example.com", Source: "browser"},
	}))
	_, err = st.InsertMRRMovements(ctx, []tributary.MRRMovement{
		{ID: "m1", SiteID: "s1", Livemode: true, SubscriptionID: "sub1", At: day(2, 0), Kind: "new", Delta: 2900, Currency: "USD", ReportingDelta: 2900, ReportingCurrency: "USD", Converted: true},
		{ID: "m2", SiteID: "s1", Livemode: true, SubscriptionID: "sub1", At: day(12, 0), Kind: "expansion", Delta: 2000, Currency: "USD", ReportingDelta: 2000, ReportingCurrency: "USD", Converted: true},
		{ID: "m3", SiteID: "s1", Livemode: true, SubscriptionID: "sub2", At: day(13, 0), Kind: "new", Delta: 1000, Currency: "USD", ReportingDelta: 1000, ReportingCurrency: "USD", Converted: true},
		{ID: "m4", SiteID: "s1", Livemode: true, SubscriptionID: "sub2", At: day(18, 0), Kind: "churn", Delta: -1000, Currency: "USD", ReportingDelta: -1000, ReportingCurrency: "USD", Converted: true},
	})
	must(err)
}

// flat renders results as "dim1,dim2=m1,m2 | …".
func flat(r *stats.Result) string {
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

// TestStatsSameOnDuckDBAndClickHouse runs stats queries over identical data in the embedded store and in
// ClickHouse and wants identical answers, results and meta alike, in UTC and in a half-hour zone.
func TestStatsSameOnDuckDBAndClickHouse(t *testing.T) {
	ctx := context.Background()
	ch := open(t)
	duck, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	load(t, duck)
	load(t, ch)
	engines := map[string]*stats.Engine{
		"duckdb":     stats.NewEngine(duck.DB(), stats.DuckDB{}),
		"clickhouse": stats.NewEngine(ch.DB(), stats.ClickHouse{}),
	}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	models := []string{"first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"}
	tests := []struct {
		body string
		// want, when set, pins the answer besides the agreement of the two backends (values worked by
		// hand in stats/stats_test.go, extended by this scenario's p4 and v4).
		want string
	}{
		{body: `{"metrics":["payments","customers","revenue","refunds","disputes","net_revenue","average_order_value","ltv","time_to_convert","mrr","new_mrr","expansion_mrr","churned_mrr","arpu"],"date_range":["2026-11-01","2026-11-30"]}`},
		{body: `{"metrics":["revenue"],"date_range":["2026-11-01","2026-11-30"],"mode":"test"}`, want: "=7.77"},
		{body: `{"metrics":["revenue","payments"],"dimensions":["payment:link_method"],"date_range":["2026-11-01","2026-11-30"]}`,
			want: "metadata=112.50,2 | customer=50.00,1 | unattributed=20.00,1"},
		{body: `{"metrics":["revenue"],"dimensions":["payment:product"],"date_range":["2026-11-01","2026-11-30"]}`},
		{body: `{"metrics":["revenue","net_revenue"],"dimensions":["time:day"],"date_range":["2026-11-06","2026-11-15"]}`},
		{body: `{"metrics":["revenue"],"dimensions":["time:hour"],"date_range":["2026-11-14","2026-11-15"]}`},
		{body: `{"metrics":["revenue"],"dimensions":["visit:channel","visit:entry_page"],"date_range":["2026-11-01","2026-11-30"],"filters":[["matches","visit:channel",["^(Paid|Email|Ref)"]]]}`},
		{body: `{"metrics":["revenue"],"dimensions":["visit:source"],"date_range":["2026-11-01","2026-11-30"],"filters":[["contains","visit:source",["oo"]]]}`},
		{body: `{"metrics":["mrr","new_mrr","churned_mrr"],"dimensions":["time:week"],"date_range":["2026-11-01","2026-11-30"]}`},
		{body: `{"metrics":["mrr"],"dimensions":["time:month"],"date_range":["2026-10-01","2026-12-01"]}`},
		{body: `{"metrics":["pageviews","events","visitors"],"dimensions":["event:page"],"date_range":["2026-11-01","2026-11-30"]}`},
		{body: `{"metrics":["events"],"dimensions":["event:props:plan"],"date_range":["2026-11-01","2026-11-30"],"filters":[["is","event:name",["signup"]]]}`,
			want: `a"b<c>'d\e=1 | pro=1`},
		{body: `{"metrics":["events"],"dimensions":["event:props:missing"],"date_range":["2026-11-01","2026-11-30"],"filters":[["is_not","event:name",["pageview"]]]}`, want: "=3"},
		{body: `{"metrics":["pageviews"],"dimensions":["event:name","time:day"],"date_range":["2026-11-10","2026-11-15"],"filters":[["is","visit:channel",["Email","Referral"]]]}`},
		{body: `{"metrics":["visitors"],"dimensions":["event:page"],"date_range":["2026-11-01","2026-11-30"],"filters":[["contains","event:page",["?b="]]]}`, want: "/a?b=c=1"},
		{body: `{"metrics":["visitors","events"],"dimensions":["event:goal"],"date_range":["2026-11-01","2026-11-30"]}`},
		{body: `{"metrics":["events"],"dimensions":["event:goal"],"date_range":["2026-11-01","2026-11-30"],"filters":[["is","visit:channel",["Email","Referral"]]]}`},
		{body: `{"metrics":["visitors","conversion_rate","revenue"],"dimensions":["event:goal"],"date_range":["2026-11-01","2026-11-30"],"order_by":[["event:goal","asc"]]}`,
			want: "purchase=1,25,20.00 | signup=2,50,0.00"},
		{body: `{"metrics":["revenue"],"dimensions":["event:goal"],"date_range":["2026-11-01","2026-11-30"],"filters":[["is","visit:channel",["Email"]]]}`, want: ""},
		// Funnels: the visitors' trails are aggregated through the dialect (ClickHouse: arraySort over groupArray).
		{body: `{"funnel":{"steps":[{"page":"/"},{"event":"signup"}]},"date_range":["2026-11-01","2026-11-30"]}`, want: "/=2,100,0,0 | signup=1,50,1,50"},
		{body: `{"funnel":{"steps":[{"page":"/*"},{"page":"/pricing"}]},"date_range":["2026-11-01","2026-11-30"]}`, want: "/*=4,100,0,0 | /pricing=1,25,3,75"},
		{body: `{"metrics":["visitors"],"funnel":{"steps":[{"page":"/"},{"event":"signup"}]},"date_range":["2026-11-01","2026-11-30"],"filters":[["is","visit:channel",["Email","Referral"]]]}`, want: "/=1 | signup=1"},
		// Traffic over sessions (needs the engine to spell epoch seconds through the dialect; see below).
		{body: `{"metrics":["visitors","visits","pageviews","views_per_visit","bounce_rate","visit_duration","events","conversions","conversion_rate","revenue_per_visitor"],"date_range":["2026-11-01","2026-11-30"]}`},
		{body: `{"metrics":["visits","bounce_rate"],"dimensions":["visit:channel"],"date_range":["2026-11-01","2026-11-30"],"filters":[["is","event:page",["/pricing","/docs"]]]}`},
		{body: `{"metrics":["visits"],"dimensions":["time:day"],"date_range":["2026-11-10","2026-11-16"],"compare":"previous_period"}`},
	}
	for _, m := range models {
		tests = append(tests, struct{ body, want string }{body: `{"metrics":["revenue","refunds","net_revenue","payments","customers"],"dimensions":["visit:channel"],"date_range":["2026-11-01","2026-11-30"],"attribution":{"model":"` + m + `"}}`})
	}
	for _, tz := range []string{"UTC", "Asia/Kolkata", "America/New_York"} {
		site := &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: tz}
		for _, tc := range tests {
			t.Run(tz+" "+tc.body, func(t *testing.T) {
				got := map[string]string{}
				for name, res := range runEach(t, engines, scenarioQuery(t, tc.body, site, now)) {
					meta, _ := json.Marshal(res.Meta)
					rows, _ := json.Marshal(res.Results)
					got[name] = string(rows) + " " + string(meta)
					if tc.want != "" && tz == "UTC" && flat(res) != tc.want {
						t.Errorf("%s: %s, want %s", name, flat(res), tc.want)
					}
				}
				if got["duckdb"] != got["clickhouse"] {
					t.Fatalf("backends disagree\n    duckdb %s\nclickhouse %s", got["duckdb"], got["clickhouse"])
				}
			})
		}
	}
}

func TestSignals(t *testing.T) {
	storetest.Signals(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

func TestIdentityKeys(t *testing.T) {
	storetest.IdentityKeys(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

func TestTouches(t *testing.T) {
	storetest.Touches(t, func(t *testing.T) (tributary.EventStore, func() tributary.EventStore) {
		dsn := testenv.ClickHouseDSN(t)
		s, err := clickhouse.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, func() tributary.EventStore {
			s.Close()
			if s, err = clickhouse.Open(context.Background(), dsn); err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

// TestMigrationRerun: a migration that added its column but stopped before being recorded runs again
// without failing (18.16 has no ADD COLUMN IF NOT EXISTS).
func TestMigrationRerun(t *testing.T) {
	s := open(t)
	if _, err := s.DB().ExecContext(context.Background(), `ALTER TABLE schema_migrations DELETE WHERE version = 2`); err != nil {
		t.Fatal(err)
	}
	// The mutation is asynchronous; wait until the record is gone.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n uint64
		if err := s.DB().QueryRowContext(context.Background(), `SELECT count() FROM schema_migrations WHERE version = 2`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the migration record was not deleted")
		}
	}
	open(t) // applies 002 again over the existing column
}

// scenarioQuery parses body for site s1 with the scenario's event catalog (signup converts,
// newsletter_open is ignored).
func scenarioQuery(t *testing.T, body string, site *tributary.Site, now time.Time) *stats.Query {
	t.Helper()
	q, err := stats.ParseQuery([]byte(`{"site_id":"s1",`+body[1:]), site, now)
	if err != nil {
		t.Fatal(err)
	}
	q.ConversionNames = []string{"signup"}
	q.IgnoredNames = []string{"newsletter_open"}
	return q
}

// runEach answers q on every engine.
func runEach(t *testing.T, engines map[string]*stats.Engine, q *stats.Query) map[string]*stats.Result {
	t.Helper()
	out := map[string]*stats.Result{}
	for name, e := range engines {
		res, err := e.Run(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = res
	}
	return out
}

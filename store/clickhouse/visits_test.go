package clickhouse_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
)

// visitBatches are events written in three batches so that visits are built from several partial rows:
// a visit continued by a later batch, one that crosses a month (and a day) at midnight, late events dated
// before their visit's start (one of them the day before), a visit of custom events only, and a payment
// whose credit depends on the late event's channel.
func visitBatches() [][]tributary.Event {
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	ev := func(name, v, s, ch, src, path string, ts time.Time) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: ts, Name: name, Source: "browser", VisitorID: v, SessionID: s, Hostname: "shop.example",
			Path: path, Channel: ch, ReferrerSource: src, Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
	}
	pv := func(v, s, ch, src, path string, ts time.Time) tributary.Event {
		return ev("pageview", v, s, ch, src, path, ts)
	}
	return [][]tributary.Event{
		{
			pv("va", "sa", "Direct", "", "/", at(11, 10, 10, 0)),
			pv("vb", "sb", "Email", "newsletter", "/", at(10, 31, 23, 50)),
			pv("vd", "sd", "Direct", "", "/pricing", at(11, 15, 0, 20)),
			pv("ve", "se", "Referral", "news.example", "/", at(11, 30, 23, 40)),
		},
		{
			pv("va", "sa", "Direct", "", "/pricing", at(11, 10, 10, 5)),
			pv("vb", "sb", "Email", "newsletter", "/docs", at(11, 1, 0, 10)),
			pv("vb", "sb2", "Paid Search", "Google", "/pricing", at(11, 1, 9, 0)),
			ev("signup", "vc", "sc", "Organic Social", "Reddit", "/blog", at(11, 20, 12, 0)),
			pv("ve", "se", "Referral", "news.example", "/checkout", at(12, 1, 0, 5)),
		},
		{
			// Late: each is older than the first event stored for its visit.
			pv("va", "sa", "Organic Search", "Google", "/blog", at(11, 10, 9, 58)),
			pv("vd", "sd", "Paid Social", "Facebook", "/", at(11, 14, 23, 55)),
			ev("signup", "vb", "sb", "Email", "newsletter", "/docs", at(11, 1, 0, 12)),
			ev("newsletter_open", "vc", "sc", "Organic Social", "Reddit", "/blog", at(11, 20, 12, 3)),
		},
	}
}

// visitQueries exercise every visit column and the range edges the batches straddle.
var visitQueries = []string{
	`{"metrics":["visitors","visits","pageviews","views_per_visit","bounce_rate","visit_duration","events","conversions","conversion_rate"],"date_range":["2026-11-01","2026-11-30"]}`,
	`{"metrics":["visitors","visits","pageviews","visit_duration","events"],"date_range":["2026-10-01","2026-10-31"]}`,
	`{"metrics":["visits","pageviews","visit_duration"],"date_range":["2026-12-01","2026-12-01"]}`,
	`{"metrics":["visitors","visits","pageviews","bounce_rate","revenue"],"dimensions":["visit:channel"],"date_range":["2026-11-01","2026-11-30"]}`,
	`{"metrics":["visits","pageviews"],"dimensions":["visit:entry_page","visit:exit_page"],"date_range":["2026-10-01","2026-12-01"]}`,
	`{"metrics":["visitors","visits","pageviews","bounce_rate","events"],"dimensions":["visit:entry_page"],"date_range":["2026-11-01","2026-11-30"]}`,
	`{"metrics":["visitors","visits","visit_duration","events"],"dimensions":["visit:exit_page"],"date_range":["2026-11-01","2026-11-30"]}`,
	`{"metrics":["visits","visitors"],"dimensions":["visit:source"],"date_range":["2026-10-01","2026-12-01"]}`,
	`{"metrics":["visits","pageviews"],"dimensions":["time:day"],"date_range":["2026-10-30","2026-11-16"]}`,
	`{"metrics":["visits","pageviews"],"dimensions":["time:hour"],"date_range":["2026-11-14","2026-11-15"]}`,
	`{"metrics":["visits","pageviews"],"date_range":["2026-11-15","2026-11-15"]}`,
	`{"metrics":["visits","pageviews"],"date_range":["2026-11-01T00:00:00Z","2026-11-01T09:00:00Z"]}`,
	`{"metrics":["visits","events"],"date_range":["2026-11-01","2026-11-30"],"filters":[["is","visit:channel",["Email","Organic Search"]]]}`,
	`{"metrics":["visits","visitors"],"dimensions":["visit:channel"],"date_range":["2026-10-01","2026-11-30"],"filters":[["is","event:page",["/docs"]]]}`,
	`{"metrics":["revenue","payments"],"dimensions":["visit:entry_page"],"date_range":["2026-11-01","2026-11-30"],"attribution":{"model":"first_touch"}}`,
	`{"funnel":{"steps":[{"page":"/"},{"event":"signup"}]},"date_range":["2026-10-01","2026-11-30"],"filters":[["is","visit:channel",["Email"]]]}`,
}

// writeBatches stores each batch with its own insert.
func writeBatches(t *testing.T, st tributary.EventStore, batches [][]tributary.Event) {
	t.Helper()
	ctx := context.Background()
	for _, b := range batches {
		if err := st.InsertEvents(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

// writePayment stores a payment made during visit sa, so its credit follows sa's channel and entry page,
// which the late event changes.
func writePayment(t *testing.T, st tributary.EventStore) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 10, 11, 0, 0, 0, time.UTC)
	if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{{ID: "pay:pa", SiteID: "s1", Livemode: true, Kind: "payment", PaymentID: "pa", OccurredAt: at,
		Amount: 4900, Currency: "USD", ReportingAmount: 4900, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: at, VisitorID: "va", SessionID: "sa", PaymentID: "pa",
		LinkMethod: "metadata", Source: "stripe"}}); err != nil {
		t.Fatal(err)
	}
}

// sameVisits wants the ClickHouse store to answer visitQueries (its engine made with opts), and
// VisitorVisits, exactly as the embedded store does over the same events.
func sameVisits(t *testing.T, duck *duckdb.Store, ch *clickhouse.Store, opts ...stats.Option) {
	t.Helper()
	ctx := context.Background()
	engines := map[string]*stats.Engine{
		"duckdb":     stats.NewEngine(duck.DB(), stats.DuckDB{}),
		"clickhouse": stats.NewEngine(ch.DB(), stats.ClickHouse{}, opts...),
	}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tz := range []string{"UTC", "America/New_York"} {
		site := &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: tz}
		for _, body := range visitQueries {
			got := map[string]string{}
			for name, res := range runEach(t, engines, scenarioQuery(t, body, site, now)) {
				rows, _ := json.Marshal(res.Results)
				got[name] = string(rows)
			}
			if got["duckdb"] != got["clickhouse"] {
				t.Errorf("%s %s: backends disagree\n    duckdb %s\nclickhouse %s", tz, body, got["duckdb"], got["clickhouse"])
			}
		}
	}
	visitors := []string{"va", "vb", "vc", "vd", "ve"}
	for _, r := range [][2]time.Time{
		{time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	} {
		want, err := duck.VisitorVisits(ctx, "s1", visitors, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := ch.VisitorVisits(ctx, "s1", visitors, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("VisitorVisits %v: clickhouse\n%+v\nduckdb\n%+v", r, got, want)
		}
	}
}

// TestVisitsAcrossBatches writes visits in several inserts, so each is several partial rows of the
// visits table (the month-crossing one in two partitions, which merges never join), and wants the
// embedded store's answers.
func TestVisitsAcrossBatches(t *testing.T) {
	ctx := context.Background()
	ch := open(t)
	duck, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	for _, st := range []tributary.EventStore{duck, ch} {
		writeBatches(t, st, visitBatches())
		writePayment(t, st)
	}
	var rows uint64
	if err := ch.DB().QueryRowContext(ctx, `SELECT count() FROM visits WHERE session_id = 'sb'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows < 2 {
		t.Fatalf("visit sb is %d row(s) of visits, want one per month at least", rows)
	}
	sameVisits(t, duck, ch)
}

// TestVisitsBackfill takes a database back to before migration 003 (events written without the visits
// table) but past 004, as main's releases left it (004 shipped first), migrates it, migrates it again as a run that stopped before being recorded would, and then
// writes more events to the backfilled visits: the answers are the embedded store's throughout, with
// nothing counted twice.
func TestVisitsBackfill(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.ClickHouseDSN(t)
	ch, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	duck, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	unmigrate := func() {
		t.Helper()
		for _, q := range []string{`DROP TABLE IF EXISTS visits_mv`, `DROP TABLE IF EXISTS visits`, `ALTER TABLE schema_migrations DELETE WHERE version = 3`} {
			if _, err := ch.DB().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	forget := func() {
		t.Helper()
		if _, err := ch.DB().ExecContext(ctx, `ALTER TABLE schema_migrations DELETE WHERE version = 3`); err != nil {
			t.Fatal(err)
		}
	}
	reopen := func() {
		t.Helper()
		// The deletions above are mutations: Open must not read schema_migrations before they apply.
		for {
			var pending uint64
			if err := ch.DB().QueryRowContext(ctx, `SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0`).Scan(&pending); err != nil {
				t.Fatal(err)
			}
			if pending == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		ch.Close()
		if ch, err = clickhouse.Open(ctx, dsn); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { ch.Close() })

	unmigrate()
	batches := visitBatches()
	for _, st := range []tributary.EventStore{duck, ch} {
		writeBatches(t, st, batches[:2])
		writePayment(t, st)
	}
	reopen()
	var backfilled uint64
	if err := ch.DB().QueryRowContext(ctx, `SELECT countIf(backfilled = 1) FROM visits`).Scan(&backfilled); err != nil {
		t.Fatal(err)
	}
	if backfilled == 0 {
		t.Fatal("migration 003 backfilled no visit")
	}
	t.Run("migrated", func(t *testing.T) { sameVisits(t, duck, ch) })

	forget()
	reopen()
	t.Run("migrated twice", func(t *testing.T) { sameVisits(t, duck, ch) })

	// The late events extend visits the backfill wrote: the view adds rows beside them.
	for _, st := range []tributary.EventStore{duck, ch} {
		writeBatches(t, st, batches[2:])
	}
	t.Run("written after", func(t *testing.T) { sameVisits(t, duck, ch) })

	var tables uint64
	if err := ch.DB().QueryRowContext(ctx, `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name IN ('visits', 'visits_mv')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 2 {
		t.Fatalf("%d of visits and visits_mv exist", tables)
	}
}

package clickhouse_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
)

// zoneOf is a Zones option whose zone the test changes.
type zoneOf struct {
	mu   sync.Mutex
	name string
}

func (z *zoneOf) set(name string) { z.mu.Lock(); z.name = name; z.mu.Unlock() }

func (z *zoneOf) zones(context.Context) (map[string]string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return map[string]string{"s1": z.name}, nil
}

// probeBreakdown is a query the visits by day answer: unfiltered, whole days, one visit column.
const probeBreakdown = `{"metrics":["visitors","visits","pageviews"],"dimensions":["visit:channel"],"date_range":["2026-10-01","2026-12-02"]}`

// sumsRead reports whether the ClickHouse engine answers probeBreakdown in zone tz from the visits by
// day: a row added to every unit it may read shows in the answer. The row is removed again.
func sumsRead(t *testing.T, ch *clickhouse.Store, tz string, now time.Time, opts ...stats.Option) bool {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO visits_by_day SELECT site_id, unit, gen, 'channel', 'probe', day, toDate(0), 1, 0, 0, 0, 0 FROM visits_by_day WHERE dim = '' LIMIT 1 BY unit, gen`,
		`INSERT INTO visits_by_day_open SELECT site_id, unit, gen, 'channel', 'probe', day, toDate(0), 1, 0, 0, 0, 0 FROM visits_by_day_open WHERE dim = '' LIMIT 1 BY unit, gen`,
	} {
		if _, err := ch.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	site := &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: tz}
	res, err := stats.NewEngine(ch.DB(), stats.ClickHouse{}, opts...).Run(ctx, scenarioQuery(t, probeBreakdown, site, now))
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"visits_by_day", "visits_by_day_open"} {
		if _, err := ch.DB().ExecContext(ctx, `ALTER TABLE `+table+` DELETE WHERE value = 'probe'`); err != nil {
			t.Fatal(err)
		}
	}
	waitMutations(t, ch)
	out, _ := json.Marshal(res.Results)
	return strings.Contains(string(out), "probe")
}

// openBoth opens a ClickHouse store whose site s1 is in zone's zone, and an embedded store beside it.
func openBoth(t *testing.T, zone *zoneOf) (*duckdb.Store, *clickhouse.Store) {
	t.Helper()
	ctx := context.Background()
	ch, err := clickhouse.Open(ctx, testenv.ClickHouseDSN(t), clickhouse.Zones(zone.zones))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	duck, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	return duck, ch
}

// runJob runs the finishing job as the store's clock at now would: the finished days, the open ones and
// the payers' copies.
func runJob(t *testing.T, ch *clickhouse.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := ch.FinishVisitsBefore(ctx, now.AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	if err := ch.OpenVisits(ctx, now); err != nil {
		t.Fatal(err)
	}
	if err := ch.CopyPayers(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitMutations(t *testing.T, ch *clickhouse.Store) {
	t.Helper()
	for {
		var pending uint64
		if err := ch.DB().QueryRow(`SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVisitsByDay has the finishing job keep the visits by day (finished days and a run of the open
// ones, whose bound leaves events after it as the tail) and wants the embedded store's answers from
// them: as first written, while a late event makes them stale and after the next run writes them again,
// with a tail, with a tail over the engine's limit (the visits answer), after the site's zone changes,
// and with a run's rows written but not recorded.
func TestVisitsByDay(t *testing.T) {
	ctx := context.Background()
	zone := &zoneOf{name: "UTC"}
	duck, ch := openBoth(t, zone)
	batches := visitBatches()
	for _, st := range []tributary.EventStore{duck, ch} {
		writeBatches(t, st, batches[:2])
		writePayment(t, st)
	}
	// The store's clock at 2026-11-16 12:00: days up to 11-14 finished, 11-15 and 11-16 open, and the
	// events after 11:58 on 11-16 (11-20, 11-30, 12-01) the tail.
	now := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	run := func() { t.Helper(); runJob(t, ch, now) }
	run()
	if !sumsRead(t, ch, "UTC", now) {
		t.Fatal("the visits by day were not read after the job's run")
	}
	if sumsRead(t, ch, "America/New_York", now) {
		t.Fatal("the visits by day, summed in UTC, were read for a site in New York")
	}
	t.Run("summed", func(t *testing.T) { sameVisits(t, duck, ch) })

	// A second run with nothing new writes nothing.
	var runs uint64
	count := func() uint64 {
		var n uint64
		if err := ch.DB().QueryRow(`SELECT count() FROM visit_open_runs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	runs = count()
	run()
	if n := count(); n != runs {
		t.Fatalf("a run with nothing new recorded %d runs, had %d", n, runs)
	}

	// Late events: sa (11-10, finished) gains an earlier pageview; sd's start moves to 11-14 23:55; vg
	// starts a visit on an open day, before the run's bound.
	ev := func(v, s, channel, path string, at time.Time) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: v, SessionID: s, Hostname: "shop.example",
			Path: path, Channel: channel, Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
	}
	// vh, vz and vd (whose earlier visit is on a finished day) start visits on an open day too: vh's
	// without a pageview.
	signup := func(v, s string, at time.Time) tributary.Event {
		e := ev(v, s, "Referral", "/", at)
		e.Name = "signup"
		return e
	}
	late := append(append([]tributary.Event{}, batches[2]...), ev("vg", "sg", "Email", "/", time.Date(2026, 11, 16, 11, 50, 0, 0, time.UTC)),
		signup("vh", "sh", time.Date(2026, 11, 16, 11, 30, 0, 0, time.UTC)), ev("vd", "si", "Direct", "/", time.Date(2026, 11, 16, 11, 40, 0, 0, time.UTC)),
		ev("vz", "sz", "Direct", "/", time.Date(2026, 11, 16, 11, 20, 0, 0, time.UTC)))
	for _, st := range []tributary.EventStore{duck, ch} {
		if err := st.InsertEvents(ctx, late); err != nil {
			t.Fatal(err)
		}
	}
	if sumsRead(t, ch, "UTC", now) {
		t.Fatal("the visits by day were read with a late event on a finished day")
	}
	t.Run("late events before the next run", func(t *testing.T) { sameVisits(t, duck, ch) })
	run()
	if !sumsRead(t, ch, "UTC", now) {
		t.Fatal("the visits by day were not read after the run that followed the late events")
	}
	t.Run("late events after the next run", func(t *testing.T) { sameVisits(t, duck, ch) })

	// Events after the run's bound on an open day: a new visitor, visits of the run continued (sg by a
	// pageview and an event, sh by its first pageview, si by a server's event naming another visitor),
	// and a second visit of a visitor with finished ones.
	at := time.Date(2026, 11, 16, 11, 59, 0, 0, time.UTC)
	server := signup("vz", "si", at.Add(40*time.Second))
	server.Source = "server"
	tail := []tributary.Event{ev("vf", "sf", "Direct", "/", at), ev("vg", "sg", "Email", "/docs", at), signup("vg", "sg", at.Add(30*time.Second)),
		ev("vh", "sh", "Referral", "/welcome", at), server, ev("va", "sa2", "Organic Search", "/", at)}
	// vd (whose visit the server's event continues) and vz (whom that event names) pay: vd's conversions
	// are counted from the tail's visits, vz's (its visit unchanged) from the sums' rows.
	var pays []tributary.LedgerEntry
	var links []tributary.Identity
	for _, v := range []string{"vd", "vz"} {
		pays = append(pays, tributary.LedgerEntry{ID: "pay:p" + v, SiteID: "s1", Livemode: true, Kind: "payment", PaymentID: "p" + v, OccurredAt: at,
			Amount: 1000, Currency: "USD", ReportingAmount: 1000, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"})
		links = append(links, tributary.Identity{SiteID: "s1", At: at, VisitorID: v, PaymentID: "p" + v, LinkMethod: "metadata", Source: "stripe"})
	}
	for _, st := range []tributary.EventStore{duck, ch} {
		if err := st.InsertEvents(ctx, tail); err != nil {
			t.Fatal(err)
		}
		if _, err := st.InsertLedger(ctx, pays); err != nil {
			t.Fatal(err)
		}
		if err := st.InsertIdentities(ctx, links); err != nil {
			t.Fatal(err)
		}
	}
	if !sumsRead(t, ch, "UTC", now) {
		t.Fatal("the visits by day were not read with events after the run's bound")
	}
	t.Run("tail", func(t *testing.T) { sameVisits(t, duck, ch) })
	// More visitors after the bound than the engine corrects the sums by: the visits answer.
	if sumsRead(t, ch, "UTC", now, stats.TailLimit(2)) {
		t.Fatal("the visits by day were read with a tail naming five visitors over a limit of two")
	}
	t.Run("tail over the limit", func(t *testing.T) { sameVisits(t, duck, ch, stats.TailLimit(2)) })

	// A run that wrote its rows and stopped before recording them.
	if _, err := ch.DB().ExecContext(ctx, `INSERT INTO visits_by_day_open SELECT site_id, unit, gen + 1, dim, value, day, prev_day, visits * 2, pageviews,
		bounces, duration, events FROM visits_by_day_open`); err != nil {
		t.Fatal(err)
	}
	t.Run("stopped halfway", func(t *testing.T) { sameVisits(t, duck, ch) })

	// The site moves to New York: every day is summed again in its zone.
	zone.set("America/New_York")
	if sumsRead(t, ch, "America/New_York", now) {
		t.Fatal("the visits by day were read in New York before the job summed them there")
	}
	run()
	if !sumsRead(t, ch, "America/New_York", now) {
		t.Fatal("the visits by day were not read in New York after the job summed them there")
	}
	t.Run("new zone", func(t *testing.T) { sameVisits(t, duck, ch) })

	if err := ch.DeleteSiteData(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"visits_by_day", "visit_day_sums", "visits_open", "visits_by_day_open", "visit_open_runs", "visits_paid", "visit_paid_marks"} {
		var n uint64
		if err := ch.DB().QueryRow(`SELECT count() FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("after deleting the site %s holds %d rows", table, n)
		}
	}
}

// TestVisitsByDayTailBeforeTheBound runs the job ten minutes after midnight, with a visit that starts
// the evening before and has an event after the run's bound: a range ending at midnight, before the
// bound, still counts that event (the run lacks it), as the embedded store does.
func TestVisitsByDayTailBeforeTheBound(t *testing.T) {
	ctx := context.Background()
	zone := &zoneOf{name: "UTC"}
	duck, ch := openBoth(t, zone)
	ev := func(v, s, path string, at time.Time) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: v, SessionID: s, Hostname: "shop.example",
			Path: path, Channel: "Direct", Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
	}
	now := time.Date(2026, 11, 16, 0, 10, 0, 0, time.UTC)
	before := []tributary.Event{ev("va", "sa", "/", time.Date(2026, 11, 14, 10, 0, 0, 0, time.UTC)), ev("va", "sb", "/", time.Date(2026, 11, 15, 23, 55, 0, 0, time.UTC))}
	after := []tributary.Event{ev("va", "sb", "/docs", time.Date(2026, 11, 16, 0, 9, 0, 0, time.UTC))}
	for _, st := range []tributary.EventStore{duck, ch} {
		if err := st.InsertEvents(ctx, before); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.FinishVisitsBefore(ctx, now.AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	if err := ch.OpenVisits(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, st := range []tributary.EventStore{duck, ch} {
		if err := st.InsertEvents(ctx, after); err != nil {
			t.Fatal(err)
		}
	}
	site := &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
	engines := map[string]*stats.Engine{"duckdb": stats.NewEngine(duck.DB(), stats.DuckDB{}), "clickhouse": stats.NewEngine(ch.DB(), stats.ClickHouse{})}
	for _, body := range []string{
		`{"metrics":["visitors","visits","pageviews","bounce_rate","visit_duration"],"date_range":["2026-11-15","2026-11-15"]}`,
		`{"metrics":["visitors","visits","pageviews"],"dimensions":["visit:exit_page"],"date_range":["2026-11-14","2026-11-15"]}`,
	} {
		got := map[string]string{}
		for name, res := range runEach(t, engines, scenarioQuery(t, body, site, now)) {
			rows, _ := json.Marshal(res.Results)
			got[name] = string(rows)
		}
		if got["duckdb"] != got["clickhouse"] {
			t.Errorf("%s: backends disagree\n    duckdb %s\nclickhouse %s", body, got["duckdb"], got["clickhouse"])
		}
	}
	if !sumsRead(t, ch, "UTC", now) {
		t.Fatal("the visits by day were not read")
	}
}

package clickhouse_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
)

// paidQueries count paying visitors over finished days, by a visit column and in total.
var paidQueries = []string{
	`{"metrics":["visitors","conversions"],"dimensions":["visit:channel"],"date_range":["2026-11-01","2026-11-14"]}`,
	`{"metrics":["visitors","conversions","conversion_rate"],"date_range":["2026-11-01","2026-11-14"]}`,
}

// answers is each of paidQueries' results on the engine, as JSON.
func answers(t *testing.T, e *stats.Engine) []string {
	t.Helper()
	site := &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
	now := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	var out []string
	for _, body := range paidQueries {
		res, err := e.Run(context.Background(), scenarioQuery(t, body, site, now))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res.Results)
		out = append(out, string(b))
	}
	return out
}

// samePaid wants the ClickHouse engine (made with opts) to answer paidQueries as the embedded store does.
func samePaid(t *testing.T, duck *duckdb.Store, ch *clickhouse.Store, opts ...stats.Option) {
	t.Helper()
	want := answers(t, stats.NewEngine(duck.DB(), stats.DuckDB{}))
	got := answers(t, stats.NewEngine(ch.DB(), stats.ClickHouse{}, opts...))
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: backends disagree\n    duckdb %s\nclickhouse %s", paidQueries[i], want[i], got[i])
		}
	}
}

// paidRead reports whether the ClickHouse engine (made with opts) counts the paying visitors from
// visits_paid: a copy of p1's Direct visit under the Referral channel shows in the answer when it does.
// The copy is removed again.
func paidRead(t *testing.T, ch *clickhouse.Store, opts ...stats.Option) bool {
	t.Helper()
	ctx := context.Background()
	e := stats.NewEngine(ch.DB(), stats.ClickHouse{}, opts...)
	before := answers(t, e)
	if _, err := ch.DB().ExecContext(ctx, `INSERT INTO visits_paid (site_id, day, gen, visitor_id, start_ts, channel)
		SELECT site_id, day, gen, visitor_id, start_ts, 'Referral' FROM visits_paid WHERE visitor_id = 'p1' AND channel = 'Direct' LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	after := answers(t, e)
	if _, err := ch.DB().ExecContext(ctx, `ALTER TABLE visits_paid DELETE WHERE channel = 'Referral' AND visitor_id = 'p1'`); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, ch)
	return after[0] != before[0]
}

// TestVisitsPaid has the finishing job copy the payers' finished visits and wants the embedded store's
// count of paying visitors from them: as first copied, with visitors linked since (read from the finished
// visits), after the next run copies those, with a link written under the mark (as by another node: the
// day is read from the finished visits until the job copies it again), and with more visitors linked
// since than the engine names, another node's mark ahead, and a link after marks that differ by day.
func TestVisitsPaid(t *testing.T) {
	ctx := context.Background()
	zone := &zoneOf{name: "UTC"}
	duck, ch := openBoth(t, zone)
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	pv := func(v, s, channel string, at time.Time) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: v, SessionID: s, Hostname: "shop.example",
			Path: "/", Channel: channel, Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
	}
	events := []tributary.Event{pv("p1", "s1a", "Direct", day(2, 10)), pv("p1", "s1b", "Email", day(5, 10)), pv("p2", "s2", "Email", day(3, 9)),
		pv("p3", "s3", "Referral", day(4, 9)), pv("p4", "s4", "Paid Search", day(6, 9)), pv("n1", "sn", "Direct", day(2, 11)), pv("n2", "sn2", "Email", day(9, 11)),
		pv("n3", "sn3", "Referral", day(5, 12)), pv("n3", "sn3b", "Direct", day(3, 12))}
	pay := func(v string, at time.Time) (tributary.LedgerEntry, tributary.Identity) {
		return tributary.LedgerEntry{ID: "pay:x" + v, SiteID: "s1", Livemode: true, Kind: "payment", PaymentID: "x" + v, OccurredAt: at, Amount: 1000,
				Currency: "USD", ReportingAmount: 1000, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"},
			tributary.Identity{SiteID: "s1", At: at, VisitorID: v, PaymentID: "x" + v, LinkMethod: "metadata", Source: "stripe"}
	}
	link := func(stores []tributary.EventStore, visitors ...string) {
		t.Helper()
		for _, v := range visitors {
			entry, id := pay(v, day(7, 12))
			for _, st := range stores {
				if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{entry}); err != nil {
					t.Fatal(err)
				}
				if err := st.InsertIdentities(ctx, []tributary.Identity{id}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	both := []tributary.EventStore{duck, ch}
	for _, st := range both {
		if err := st.InsertEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	link(both, "p1")
	// Merges would fold the marks' rows that marks() counts (the test's own database; no deletion follows).
	if _, err := ch.DB().ExecContext(ctx, `SYSTEM STOP MERGES visit_paid_marks`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	run := func() { t.Helper(); runJob(t, ch, now) }
	texts := func(q string) []string {
		t.Helper()
		var vs []string
		rows, err := ch.DB().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return vs
	}
	copied := func() []string {
		t.Helper()
		return texts(`SELECT DISTINCT visitor_id FROM visits_paid ORDER BY visitor_id`)
	}
	count := func(table string) uint64 {
		t.Helper()
		var n uint64
		if err := ch.DB().QueryRow(`SELECT count() FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	marks := func() uint64 { t.Helper(); return count("visit_paid_marks") }

	run()
	if got := copied(); !slices.Equal(got, []string{"p1"}) {
		t.Fatalf("visits_paid holds %v after the first run, want [p1]", got)
	}
	if !paidRead(t, ch) {
		t.Fatal("the paying visitors were not counted from visits_paid after the job's run")
	}
	t.Run("copied", func(t *testing.T) { samePaid(t, duck, ch) })
	n := marks()
	run()
	if m := marks(); m != n {
		t.Fatalf("a run with no new link recorded %d marks, had %d", m, n)
	}

	// p2 and p4 pay after the run: their visits come from visits_done, beside the copy.
	link(both, "p2", "p4")
	if !paidRead(t, ch) {
		t.Fatal("the paying visitors were not counted from visits_paid with two links after the mark")
	}
	t.Run("linked since", func(t *testing.T) { samePaid(t, duck, ch) })
	if paidRead(t, ch, stats.TailLimit(1)) {
		t.Fatal("the paying visitors were counted from visits_paid with two links after the mark over a limit of one")
	}
	t.Run("linked since, over the limit", func(t *testing.T) { samePaid(t, duck, ch, stats.TailLimit(1)) })

	run()
	if got := copied(); !slices.Equal(got, []string{"p1", "p2", "p4"}) {
		t.Fatalf("visits_paid holds %v after the run that followed the links, want [p1 p2 p4]", got)
	}
	t.Run("copied again", func(t *testing.T) { samePaid(t, duck, ch) })

	// p1 pays again: the next run copies no visit of p1's again.
	rows := func() uint64 { t.Helper(); return count("visits_paid") }
	n = rows()
	renewal, relink := pay("p1", day(9, 12))
	renewal.ID, renewal.PaymentID, relink.PaymentID = "pay:xp1b", "xp1b", "xp1b"
	for _, st := range both {
		if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{renewal}); err != nil {
			t.Fatal(err)
		}
		if err := st.InsertIdentities(ctx, []tributary.Identity{relink}); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if m := rows(); m != n {
		t.Fatalf("the run after p1's renewal left visits_paid with %d rows, had %d", m, n)
	}
	t.Run("renewal", func(t *testing.T) { samePaid(t, duck, ch) })

	// p3's link lands with a rowid under the mark, as one written by another node can.
	under := func(t *testing.T, v string, rowid int) {
		t.Helper()
		entry, id := pay(v, day(8, 12))
		for _, st := range both {
			if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{entry}); err != nil {
				t.Fatal(err)
			}
		}
		if err := duck.InsertIdentities(ctx, []tributary.Identity{id}); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.DB().ExecContext(ctx, `INSERT INTO identities (site_id, ts, visitor_id, payment_id, link_method, source, rowid)
			SELECT 's1', toDateTime('2026-11-08 12:00:00', 'UTC'), $1, $2, 'metadata', 'stripe', toUInt64($3)`, v, "x"+v, rowid); err != nil {
			t.Fatal(err)
		}
	}
	under(t, "p3", 1)
	if paidRead(t, ch) {
		t.Fatal("the paying visitors were counted from visits_paid with a link under the mark it lacks")
	}
	t.Run("link under the mark", func(t *testing.T) { samePaid(t, duck, ch) })
	// n1's link after the mark does not hide the one under it from the next run.
	link(both, "n1")
	run()
	if got := copied(); !slices.Equal(got, []string{"n1", "p1", "p2", "p3", "p4"}) {
		t.Fatalf("visits_paid holds %v after the run that followed the link under the mark, want [n1 p1 p2 p3 p4]", got)
	}
	if !paidRead(t, ch) {
		t.Fatal("the paying visitors were not counted from visits_paid after the job copied the link under the mark")
	}
	t.Run("copied from the start", func(t *testing.T) { samePaid(t, duck, ch) })

	// n2's link lands under the mark with none after it: the mark stays, its count of links changes.
	under(t, "n2", 2)
	run()
	if got := copied(); !slices.Equal(got, []string{"n1", "n2", "p1", "p2", "p3", "p4"}) {
		t.Fatalf("visits_paid holds %v after the run that followed a second link under the mark, want [n1 n2 p1 p2 p3 p4]", got)
	}
	if !paidRead(t, ch) {
		t.Fatal("the paying visitors were not counted from visits_paid after the job copied the second link under the mark")
	}
	t.Run("copied from the start again", func(t *testing.T) { samePaid(t, duck, ch) })
	n = marks()
	run()
	if m := marks(); m != n {
		t.Fatalf("a run after the copy from the start recorded %d marks, had %d", m, n)
	}

	// Another node's mark ahead of every link this run reads (its clock ahead), on 11-05: the run leaves
	// the day.
	n = marks()
	if _, err := ch.DB().ExecContext(ctx, `INSERT INTO visit_paid_marks (site_id, day, gen, mark, links)
		SELECT site_id, day, gen, max(mark) + 1, argMax(links, (mark, links)) FROM visit_paid_marks
		WHERE (site_id, day, gen) IN (SELECT site_id, day, max(gen) FROM visit_days WHERE day = toDate('2026-11-05') GROUP BY site_id, day)
		GROUP BY site_id, day, gen`); err != nil {
		t.Fatal(err)
	}
	if m := marks(); m != n+1 {
		t.Fatalf("another node's mark for 11-05 left %d marks, had %d", m, n)
	}
	n, copiedRows := marks(), rows()
	run()
	if m, r := marks(), rows(); m != n || r != copiedRows {
		t.Fatalf("a run under another node's mark recorded %d marks and left %d rows, had %d and %d", m, r, n, copiedRows)
	}
	t.Run("mark ahead", func(t *testing.T) { samePaid(t, duck, ch) })

	// n3, who visited on 11-03 and on 11-05 (the day whose mark is ahead), pays with the days' marks
	// apart: every day's copy still stands, n3's visits are read from visits_done beside them, and the
	// next run copies both, into the day ahead as into the others.
	link(both, "n3")
	if !paidRead(t, ch) {
		t.Fatal("the paying visitors were not counted from visits_paid with the days' marks apart and a link after both")
	}
	t.Run("marks apart, linked since", func(t *testing.T) { samePaid(t, duck, ch) })
	run()
	days := texts(`SELECT DISTINCT toString(day) AS d FROM visits_paid WHERE visitor_id = 'n3' ORDER BY d`)
	if want := []string{"2026-11-03", "2026-11-05"}; !slices.Equal(days, want) {
		t.Fatalf("visits_paid holds n3's visits of %v after the run that followed n3's link, want %v", days, want)
	}
	t.Run("marks apart, copied", func(t *testing.T) { samePaid(t, duck, ch) })
}

package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
)

// doneRows counts visits_done's rows and the generations recorded in visit_days.
func doneRows(t *testing.T, ch *clickhouse.Store) (rows, gens uint64) {
	t.Helper()
	ctx := context.Background()
	if err := ch.DB().QueryRowContext(ctx, `SELECT count() FROM visits_done`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := ch.DB().QueryRowContext(ctx, `SELECT uniqExact(gen) FROM visit_days`).Scan(&gens); err != nil {
		t.Fatal(err)
	}
	return rows, gens
}

// TestVisitsFinished finishes the visits of the days before 2026-11-15 and wants the embedded store's
// answers as the job runs twice, as a late event reaches a finished day and another moves a visit's start
// from the first merged day (11-15) to the last finished one (11-14), before and after the job's next run,
// as a second node over the same database runs the job, as a job stops between writing its rows and
// recording them, and as every day is finished.
func TestVisitsFinished(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.ClickHouseDSN(t)
	ch := openDSN(t, dsn)
	duck, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	batches := visitBatches()
	for _, st := range []tributary.EventStore{duck, ch} {
		writeBatches(t, st, batches[:2])
		writePayment(t, st)
	}
	cut := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	finish := func(st *clickhouse.Store, before time.Time) {
		t.Helper()
		if err := st.FinishVisitsBefore(ctx, before); err != nil {
			t.Fatal(err)
		}
	}
	finish(ch, cut)
	rows, gens := doneRows(t, ch)
	if rows == 0 || gens != 1 {
		t.Fatalf("after the first run: %d finished visit rows in %d generations, want some in one", rows, gens)
	}
	t.Run("finished", func(t *testing.T) { sameVisits(t, duck, ch) })

	finish(ch, cut)
	if r, g := doneRows(t, ch); r != rows || g != gens {
		t.Fatalf("a second run with nothing new wrote: %d rows in %d generations, was %d in %d", r, g, rows, gens)
	}
	t.Run("run twice", func(t *testing.T) { sameVisits(t, duck, ch) })

	// Late events: sa (11-10, finished) gains an earlier pageview and another channel; sd's start moves
	// from 11-15 (merged) to 11-14 23:55 (finished).
	for _, st := range []tributary.EventStore{duck, ch} {
		writeBatches(t, st, batches[2:])
	}
	t.Run("late events before the next run", func(t *testing.T) { sameVisits(t, duck, ch) })
	finish(ch, cut)
	if _, g := doneRows(t, ch); g != 2 {
		t.Fatalf("late events: %d generations, want the days they reach written again", g)
	}
	t.Run("late events after the next run", func(t *testing.T) { sameVisits(t, duck, ch) })

	// Two nodes, each writing its own generation of every day at once; the newer one is read.
	other := openDSN(t, dsn)
	if _, err := ch.DB().ExecContext(ctx, `TRUNCATE TABLE visit_days`); err != nil {
		t.Fatal(err)
	}
	t.Run("nothing recorded", func(t *testing.T) { sameVisits(t, duck, ch) })
	errs := make(chan error, 2)
	for _, st := range []*clickhouse.Store{ch, other} {
		go func() { errs <- st.FinishVisitsBefore(ctx, cut) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Run("two nodes", func(t *testing.T) { sameVisits(t, duck, other) })

	// A job that wrote its rows and stopped before recording them: a copy of every row under a newer
	// generation nothing names.
	if _, err := ch.DB().ExecContext(ctx, `INSERT INTO visits_done SELECT site_id, day, gen + 1, session_id, visitor_id, start_ts, end_ts,
		pv + 1, ev, entry_page, exit_page, channel, referrer_source, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
		click_id_platform, country, region, device, browser, os FROM visits_done`); err != nil {
		t.Fatal(err)
	}
	t.Run("stopped halfway", func(t *testing.T) { sameVisits(t, duck, ch) })

	// A day recorded with a count its days no longer hold is merged.
	if _, err := ch.DB().ExecContext(ctx, `INSERT INTO visit_days SELECT site_id, day, gen + 2, events + 1 FROM visit_days`); err != nil {
		t.Fatal(err)
	}
	t.Run("stale record", func(t *testing.T) { sameVisits(t, duck, ch) })

	finish(ch, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
	t.Run("every day finished", func(t *testing.T) { sameVisits(t, duck, ch) })

	// Deleting the site empties the finished visits too.
	if err := ch.DeleteSiteData(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if r, g := doneRows(t, ch); r != 0 || g != 0 {
		t.Fatalf("after deleting the site: %d finished visit rows, %d generations", r, g)
	}
}

func openDSN(t *testing.T, dsn string) *clickhouse.Store {
	t.Helper()
	st, err := clickhouse.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

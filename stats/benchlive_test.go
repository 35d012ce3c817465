package stats

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/tributary/tributary/store/clickhouse"
)

// BenchmarkClickHouseLive measures ClickHouse as a live site's node leaves it at now. BenchmarkClickHouse's
// generated visits run six days past now (a live site has no events after its clock), so its tail (the
// visitors with an event after the open run's bound) is 50,000 visitors, past the engine's TailLimit, and
// its pages read the visits. Here the 10M set of database TRIBUTARY_BENCH_CLICKHOUSE_SEED (as
// BenchmarkClickHouse loads it) is copied into the empty database that TRIBUTARY_BENCH_CLICKHOUSE_LIVE_DSN
// names: its events dated before now, and its ledger's facts, through the store's materialized views as
// at ingest, with the identities, MRR facts, payment touches and picks as readers see them. The finishing job then
// runs at now (FinishVisitsBefore, OpenVisits, CopyPayers), leaving the last minutes as the tail. The copy
// stays for reruns; it is made again when its count of events differs from the seed's before now.
//
//	TRIBUTARY_BENCH_CLICKHOUSE_SEED=bench10m TRIBUTARY_BENCH_CLICKHOUSE_LIVE_DSN=clickhouse://default@127.0.0.1:9000/benchlive \
//	  TRIBUTARY_BENCH_SIZES=10000000 go test -run '^$' -bench 'ClickHouseLive|Dashboard/events=10000000/state=warm|Breakdown/events=10000000/state=warm' \
//	  -benchtime 5x -timeout 60m ./stats/
//
// With TRIBUTARY_BENCH_TRACE set it then prints the statements of one page and one breakdown in time
// (benchtrace_test.go).
func BenchmarkClickHouseLive(b *testing.B) {
	dsn, seed := os.Getenv("TRIBUTARY_BENCH_CLICKHOUSE_LIVE_DSN"), os.Getenv("TRIBUTARY_BENCH_CLICKHOUSE_SEED")
	if dsn == "" || seed == "" {
		b.Skip("set TRIBUTARY_BENCH_CLICKHOUSE_SEED=<database loaded by BenchmarkClickHouse> and TRIBUTARY_BENCH_CLICKHOUSE_LIVE_DSN=clickhouse://default@127.0.0.1:9000/<empty database>")
	}
	ctx := context.Background()
	copyLive(b, dsn, seed)
	// Opened after the copy: the store's own job first runs ten minutes after Open, by the real clock,
	// which the measurement ends well before.
	st, err := clickhouse.Open(ctx, dsn, benchZones)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	if err := st.FinishVisitsBefore(ctx, now.AddDate(0, 0, -1)); err != nil {
		b.Fatal(err)
	}
	b.Logf("finished the visits before %s in %v", now.AddDate(0, 0, -1).Format(time.DateOnly), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := st.OpenVisits(ctx, now); err != nil {
		b.Fatal(err)
	}
	b.Logf("summed the open days in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := st.CopyPayers(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("copied the payers' visits in %v", time.Since(start).Round(time.Millisecond))
	e := NewEngine(st.DB(), ClickHouse{})
	qs := dashboardQueries()
	parsed := make([]*Query, len(qs))
	for i, q := range qs {
		body, _ := json.Marshal(q)
		if parsed[i], err = ParseQuery(body, benchSite, now); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("dashboard", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := e.RunAll(ctx, parsed, benchWorkers()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("breakdown", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			runJSON(b, e, qs[3])
		}
	})
	if os.Getenv("TRIBUTARY_BENCH_TRACE") != "" {
		db, tr := traced(b, dsn)
		e := NewEngine(db, ClickHouse{})
		for _, name := range []string{"dashboard", "breakdown"} {
			tr.reset()
			if name == "dashboard" {
				_, err = e.RunAll(ctx, parsed, benchWorkers())
			} else {
				_, err = e.Run(ctx, parsed[3])
			}
			if err != nil {
				b.Fatal(err)
			}
			tr.print(os.Stdout, name)
		}
	}
}

// copyLive fills the database of dsn with the site of database seed as it stood at now, unless it holds
// that already (its events, ledger facts and picks number the seed's: a copy stopped halfway is made
// again).
func copyLive(b *testing.B, dsn, seed string) {
	c := newCopier(b, dsn, seed)
	defer c.db.Close()
	bound := "toDateTime('" + now.UTC().Format(time.DateTime) + "', 'UTC')"
	counts := func(database, events string) (n [3]int64) {
		q := `SELECT (SELECT count() FROM ` + database + `.events` + events + `), (SELECT count() FROM ` + database + `.ledger_facts),
			(SELECT count() FROM ` + database + `.payment_picks FINAL WHERE deleted = 0)`
		if err := c.db.QueryRow(q).Scan(&n[0], &n[1], &n[2]); err != nil {
			b.Fatal(err)
		}
		return n
	}
	want := counts(seed, " WHERE ts < "+bound)
	if counts(c.target, "") == want {
		return
	}
	start := time.Now()
	c.empty()
	c.copy("events", seed+`.events WHERE ts < `+bound, nil)
	c.copy("ledger_facts", seed+`.ledger_facts`, nil)
	c.copy("identities", seed+`.identities`, nil)
	c.copy("mrr_movement_facts", seed+`.mrr_movement_facts`, nil)
	c.copy("payment_touches", seed+`.payment_touches FINAL WHERE deleted = 0`, nil)
	c.copy("payment_picks", seed+`.payment_picks FINAL WHERE deleted = 0`, nil)
	if have := counts(c.target, ""); have != want {
		b.Fatalf("copied %v events, ledger facts and picks, want %v", have, want)
	}
	b.Logf("copied %d events before %s from %s in %v", want[0], now.Format(time.DateTime), seed, time.Since(start).Round(time.Second))
}

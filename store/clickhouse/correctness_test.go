package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/stats/statstest"
	"github.com/tributary/tributary/store/clickhouse"
)

// TestCorrectnessClickHouse runs the query-correctness suite every backend runs (stats/statstest).
func TestCorrectnessClickHouse(t *testing.T) {
	statstest.Run(t, func(t *testing.T) (tributary.EventStore, *stats.Engine) {
		st, err := clickhouse.Open(context.Background(), testenv.ClickHouseDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, stats.NewEngine(st.DB(), stats.ClickHouse{})
	})
}

// finishing is a store that finishes every day's visits after each write of events, so the suite's
// queries read visits_done (and merge the visits table only where a later write reached a finished day),
// and copies the payers' visits then (links written later are read as linked since the copy).
type finishing struct{ *clickhouse.Store }

func (f finishing) InsertEvents(ctx context.Context, events []tributary.Event) error {
	if err := f.Store.InsertEvents(ctx, events); err != nil {
		return err
	}
	if err := f.FinishVisitsBefore(ctx, time.Now().AddDate(1, 0, 0)); err != nil {
		return err
	}
	return f.CopyPayers(ctx)
}

// TestCorrectnessClickHouseFinished runs the suite with the visits of every day finished.
func TestCorrectnessClickHouseFinished(t *testing.T) {
	statstest.Run(t, func(t *testing.T) (tributary.EventStore, *stats.Engine) {
		st, err := clickhouse.Open(context.Background(), testenv.ClickHouseDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return finishing{st}, stats.NewEngine(st.DB(), stats.ClickHouse{})
	})
}

// summing is a store whose job runs after each write of events as a node's would at statstest.Now:
// every day before yesterday finished and summed by local day, yesterday and today summed as an open
// run, so the suite's unfiltered queries over whole days read the sums and correct them by the tail;
// and after each write of links, so its counts of paying visitors read the payers' copies.
type summing struct{ *clickhouse.Store }

func (f summing) InsertEvents(ctx context.Context, events []tributary.Event) error {
	if err := f.Store.InsertEvents(ctx, events); err != nil {
		return err
	}
	if err := f.FinishVisitsBefore(ctx, statstest.Now.AddDate(0, 0, -1)); err != nil {
		return err
	}
	if err := f.OpenVisits(ctx, statstest.Now); err != nil {
		return err
	}
	return f.CopyPayers(ctx)
}

func (f summing) InsertIdentities(ctx context.Context, ids []tributary.Identity) error {
	if err := f.Store.InsertIdentities(ctx, ids); err != nil {
		return err
	}
	return f.CopyPayers(ctx)
}

// TestCorrectnessClickHouseSummed runs the suite with the visits summed by local day.
func TestCorrectnessClickHouseSummed(t *testing.T) {
	zones := func(context.Context) (map[string]string, error) {
		out := map[string]string{}
		for _, s := range []*tributary.Site{statstest.Site, statstest.JourneySite, statstest.PathsSite} {
			out[s.ID] = s.Timezone
		}
		return out, nil
	}
	statstest.Run(t, func(t *testing.T) (tributary.EventStore, *stats.Engine) {
		st, err := clickhouse.Open(context.Background(), testenv.ClickHouseDSN(t), clickhouse.Zones(zones))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return summing{st}, stats.NewEngine(st.DB(), stats.ClickHouse{})
	})
}

package clickhouse_test

import (
	"context"
	"testing"

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

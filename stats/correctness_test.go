package stats_test

import (
	"context"
	"testing"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/stats/statstest"
	"github.com/tributary/tributary/store/duckdb"
)

// TestCorrectnessDuckDB runs the cross-backend query-correctness suite on the embedded store.
func TestCorrectnessDuckDB(t *testing.T) {
	statstest.Run(t, func(t *testing.T) (tributary.EventStore, *stats.Engine) {
		st, err := duckdb.Open(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, stats.NewEngine(st.DB(), stats.DuckDB{})
	})
}

// TestCorrectnessDuckDBMemo runs the suite with the attribution memo the server uses: every query after
// the first reads the payments' attribution work the earlier ones kept.
func TestCorrectnessDuckDBMemo(t *testing.T) {
	statstest.Run(t, func(t *testing.T) (tributary.EventStore, *stats.Engine) {
		st, err := duckdb.Open(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, stats.NewEngine(st.DB(), stats.DuckDB{})
	})
}

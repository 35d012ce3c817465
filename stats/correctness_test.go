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

// TestCorrectnessDuckDBServer runs the suite on the store as serve opens it: a file in a data dir, the
// default DuckDB memory limit, and the payment records for products.
func TestCorrectnessDuckDBServer(t *testing.T) {
	statstest.Run(t, func(t *testing.T) (tributary.EventStore, *stats.Engine) {
		st, err := duckdb.Open(context.Background(), t.TempDir(), duckdb.MemoryLimit(256<<20))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, stats.NewEngine(st.DB(), stats.DuckDB{}, stats.WithPaymentRecords(st))
	})
}

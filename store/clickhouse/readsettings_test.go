package clickhouse

import (
	"context"
	"strings"
	"testing"

	"github.com/tributary/tributary/internal/testenv"
)

// TestReadSettings wants the stats engine's handle to ask the server for its cache of decompressed
// blocks, the store's own handle (the finishing job's scans) not to, and a DSN's own value to win.
func TestReadSettings(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.ClickHouseDSN(t)
	setting := func(s *Store, name string, reads bool) string {
		t.Helper()
		db := s.db
		if reads {
			db = s.DB()
		}
		var v string
		if err := db.QueryRowContext(ctx, `SELECT value FROM system.settings WHERE name = $1`, name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, tc := range []struct {
		name        string
		reads, self string
	}{
		{"use_uncompressed_cache", "1", "0"},
		{"merge_tree_max_rows_to_use_cache", "16777216", "1048576"},
	} {
		if got := setting(s, tc.name, true); got != tc.reads {
			t.Errorf("the stats engine's handle has %s = %s, want %s", tc.name, got, tc.reads)
		}
		if got := setting(s, tc.name, false); got != tc.self {
			t.Errorf("the store's own handle has %s = %s, want the server's %s", tc.name, got, tc.self)
		}
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	o, err := Open(ctx, dsn+sep+"use_uncompressed_cache=0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if got := setting(o, "use_uncompressed_cache", true); got != "0" {
		t.Errorf("with use_uncompressed_cache=0 in the DSN, the stats engine's handle has %s", got)
	}
}

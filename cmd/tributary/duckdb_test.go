package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tributary/tributary/config"
)

// TestDuckDBMemoryLimitReachesTheStore follows --duckdb-memory-limit (and its environment variable and
// default) from the command line to the embedded store's DuckDB.
func TestDuckDBMemoryLimitReachesTheStore(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, mib(config.Default().DuckDBMemoryLimit)},
		{"env", nil, map[string]string{"TRIBUTARY_DUCKDB_MEMORY_LIMIT": "1GiB"}, "1.0 GiB"},
		{"flag over env", []string{"--duckdb-memory-limit", "200MiB"}, map[string]string{"TRIBUTARY_DUCKDB_MEMORY_LIMIT": "1GiB"}, "200.0 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data-dir", t.TempDir()}, tc.args...)
			cfg, err := config.Load("serve", args, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			meta, _, _, closeStores, err := openStores(context.Background(), cfg, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			defer closeStores()
			var got string
			if err := meta.(interface{ DB() *sql.DB }).DB().QueryRow(`SELECT current_setting('memory_limit')`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("memory_limit = %q, want %q", got, tc.want)
			}
		})
	}
}

// mib is a size as DuckDB shows a memory limit below 1 GiB.
func mib(size string) string {
	n, err := config.ParseSize(size)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func TestBadDuckDBMemoryLimitExplains(t *testing.T) {
	for _, v := range []string{"lots", "512", "10MB", "-1GB"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--duckdb-memory-limit", v}, func(string) string { return "" }, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "--duckdb-memory-limit") {
			t.Errorf("%q: exit %d, stderr %q, want a refusal naming --duckdb-memory-limit", v, code, errOut.String())
		}
	}
}

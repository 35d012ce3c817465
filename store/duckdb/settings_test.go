package duckdb

import (
	"context"
	"strings"
	"testing"
)

// memoryLimit reads DuckDB's memory_limit as DuckDB reports it (e.g. "100.0 MiB").
func memoryLimit(t *testing.T, s *Store) string {
	t.Helper()
	var got string
	if err := s.DB().QueryRow(`SELECT current_setting('memory_limit')`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMemoryLimitReachesDuckDB(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{"", t.TempDir()} {
		s, err := Open(ctx, dir, MemoryLimit(100<<20))
		if err != nil {
			t.Fatal(err)
		}
		got := memoryLimit(t, s)
		var flush string
		if err := s.DB().QueryRow(`SELECT current_setting('allocator_flush_threshold')`).Scan(&flush); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got != "100.0 MiB" || flush != "12.5 MiB" {
			t.Errorf("dir %q: memory_limit = %q, allocator_flush_threshold = %q; want 100.0 MiB and an eighth of it", dir, got, flush)
		}
	}
	// Zero keeps DuckDB's default (a share of the machine's RAM), as Open without options does.
	s, err := Open(ctx, "", MemoryLimit(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plain, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if got, want := memoryLimit(t, s), memoryLimit(t, plain); got != want || got == "100.0 MiB" {
		t.Errorf("MemoryLimit(0) gives %q, Open without it %q", got, want)
	}
}

func TestNegativeMemoryLimitRefused(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir(), MemoryLimit(-1))
	if err == nil {
		s.Close()
		t.Fatal("a negative memory limit was accepted")
	}
	if !strings.Contains(err.Error(), "memory limit") {
		t.Errorf("error %q does not name the memory limit", err)
	}
}

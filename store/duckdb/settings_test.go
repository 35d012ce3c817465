package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
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

// leanDecays records the allocator's decay at the start of each lean write until the test ends, and then
// puts back the decay the process had (the allocator is the process's, shared with later tests).
func leanDecays(t *testing.T) *[]time.Duration {
	t.Helper()
	before, _ := allocatorDecay()
	var seen []time.Duration
	duringLeanWrite = func() {
		d, _ := allocatorDecay()
		seen = append(seen, d)
	}
	t.Cleanup(func() { duringLeanWrite = nil; setAllocatorDecay(before) })
	return &seen
}

// TestAllocatorDecay: a store with a memory limit sets the queries' decay (queryDecay) at Open, writes
// events with DuckDB's jemalloc returning freed pages at once (decay 0) and puts the queries' decay back
// when its last write in flight ends; a store without a limit, or in an environment that configures
// jemalloc itself, leaves the decay alone.
// On Linux the bundled DuckDB has jemalloc, so the control must be found there (a DuckDB that renamed
// it fails here, not in production, where writes would silently keep the decay).
func TestAllocatorDecay(t *testing.T) {
	if _, ok := allocatorDecay(); !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("DuckDB's jemalloc controls were not found on Linux")
		}
		t.Skip("this DuckDB build has no jemalloc")
	}
	ctx := context.Background()
	const idle = 1234 * time.Millisecond
	for _, tc := range []struct {
		name     string
		limit    int64
		conf     string        // DUCKDB_JE_MALLOC_CONF
		writing  time.Duration // the decay while a write runs
		querying time.Duration // the decay after Open and after the writes
	}{
		{"a limit writes lean and queries at queryDecay", 100 << 20, "", 0, queryDecay},
		{"no limit keeps the decay", 0, "", idle, idle},
		{"jemalloc configured by the environment", 100 << 20, "dirty_decay_ms:5000", idle, idle},
	} {
		t.Setenv("DUCKDB_JE_MALLOC_CONF", tc.conf)
		if ok, err := setAllocatorDecay(idle); !ok || err != nil {
			t.Fatalf("%s: set decay: %v %v", tc.name, ok, err)
		}
		s, err := Open(ctx, "", MemoryLimit(tc.limit))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := allocatorDecay(); got != tc.querying {
			t.Errorf("%s: decay %v after Open, want %v", tc.name, got, tc.querying)
		}
		during := leanDecays(t)
		// A write inside a write (two stores writing at once share the allocator): the decay comes back
		// only when the outer one ends.
		var inner time.Duration
		err = s.leanWrite(func() error {
			if err := s.InsertEvents(ctx, []tributary.Event{{SiteID: "s1", Timestamp: time.Now(), Name: "pageview"}}); err != nil {
				return err
			}
			inner, _ = allocatorDecay()
			return nil
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if tc.limit > 0 && tc.conf == "" && len(*during) != 2 {
			t.Errorf("%s: %d lean writes seen, want 2", tc.name, len(*during))
		}
		*during = append(*during, inner)
		for _, d := range *during {
			if d != tc.writing {
				t.Errorf("%s: decay %v while writing, want %v", tc.name, d, tc.writing)
			}
		}
		if got, _ := allocatorDecay(); got != tc.querying {
			t.Errorf("%s: decay %v after the writes, want %v back", tc.name, got, tc.querying)
		}
	}
}

// TestVisitsByDayRebuildIsLean: the rebuild of a site's visits by day that Open starts is a write like
// the events', with the allocator's decay at 0 while it runs and back afterwards.
func TestVisitsByDayRebuildIsLean(t *testing.T) {
	if _, ok := allocatorDecay(); !ok {
		t.Skip("this DuckDB build has no jemalloc")
	}
	ctx := context.Background()
	during := leanDecays(t)
	s, err := Open(ctx, "", MemoryLimit(100<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.VisitsByDayBuilt()
	// A site without visits by day in its zone, as after the upgrade or a change of zone.
	if err := s.CreateSite(ctx, &tributary.Site{ID: "s1", Domain: "s1.example", Name: "s1", Currency: "USD", Timezone: "Europe/Berlin", Locale: "en-US"}); err != nil {
		t.Fatal(err)
	}
	*during = nil // only the rebuild below counts, not Open's own pass
	if err := s.buildVisitsByDay(ctx); err != nil {
		t.Fatal(err)
	}
	var zone string
	if err := s.db.QueryRow(`SELECT timezone FROM visits_by_day_zone WHERE site_id = 's1'`).Scan(&zone); err != nil || zone != "Europe/Berlin" {
		t.Fatalf("the rebuild did not run: zone %q (%v)", zone, err)
	}
	if len(*during) != 1 || (*during)[0] != 0 {
		t.Errorf("decay while rebuilding: %v, want one write at 0", *during)
	}
	if got, _ := allocatorDecay(); got != queryDecay {
		t.Errorf("decay %v after the rebuild, want the queries' %v back", got, queryDecay)
	}
}

// threadsOf reads DuckDB's threads setting on c.
func threadsOf(t *testing.T, c *sql.Conn) int {
	t.Helper()
	var n int
	if err := c.QueryRowContext(context.Background(), `SELECT current_setting('threads')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDerivationRunsOnOneThread: the visits derivation runs with DuckDB's threads at 1 (each thread
// would fill its own copy of the temporary tables' blocks), and the store's setting comes back
// afterwards: after a failure too, after a write, and after a restore that did not happen.
func TestDerivationRunsOnOneThread(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s.threads < 1 {
		t.Fatalf("the store read threads %d", s.threads)
	}
	inside := 0
	if err := oneThread(ctx, c, 3, func() error { inside = threadsOf(t, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != 1 || threadsOf(t, c) != 3 {
		t.Errorf("threads %d inside, %d after; want 1 and 3", inside, threadsOf(t, c))
	}
	boom := errors.New("boom")
	if err := oneThread(ctx, c, 3, func() error { return boom }); err != boom || threadsOf(t, c) != 3 {
		t.Errorf("after a failure: %v, threads %d; want boom and 3", err, threadsOf(t, c))
	}
	// A write restores the store's setting, even when something left DuckDB at one thread.
	s.threads = 2
	if _, err := c.ExecContext(ctx, `SET threads = 1`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.InsertEvents(ctx, []tributary.Event{{SiteID: "s1", Timestamp: now, Name: tributary.PageviewName, VisitorID: "v", SessionID: "v"}}); err != nil {
		t.Fatal(err)
	}
	if got := threadsOf(t, c); got != 2 {
		t.Errorf("threads %d after a write, want the store's 2", got)
	}
}

// TestTrimCHeap: on Linux the C library's malloc_trim must be found (glibc), or the pages DuckDB's
// statements free stay with the process.
func TestTrimCHeap(t *testing.T) {
	if !trimCHeap() {
		if runtime.GOOS == "linux" && runtime.Compiler == "gc" {
			t.Fatal("malloc_trim was not found on Linux (a C library other than glibc?)")
		}
		t.Skip("no malloc_trim here")
	}
}

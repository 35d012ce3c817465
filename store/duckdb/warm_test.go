package duckdb

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// cached is the memory DuckDB holds for the blocks of the store file's tables.
func cached(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.db.QueryRow(`SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// usedMemory is all DuckDB holds, as warmCache reads it.
func usedMemory(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.db.QueryRow(`SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// logged is a logger for a store (Logger) and what it has written so far, as text.
func logged() (*slog.Logger, func() string) {
	var mu sync.Mutex
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	return l, func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestWarmCache: a store opened with WarmCache has read the dashboard's tables into DuckDB's cache when
// Open returns, and says which; one opened without it has not; and the warming stops at its budget.
func TestWarmCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Enough rows that the tables span many blocks: 40,000 visits of 4,000 visitors, 6,000 payments.
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var events []tributary.Event
	for i := 0; i < 40_000; i++ {
		events = append(events, tributary.Event{SiteID: "site", Timestamp: day.Add(time.Duration(i) * time.Minute), Name: "pageview",
			VisitorID: fmt.Sprintf("v%d", i%4000), SessionID: fmt.Sprintf("s%d", i), Path: fmt.Sprintf("/page/%d", i%97), Channel: "Direct"})
	}
	if err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	var entries []tributary.LedgerEntry
	for i := 0; i < 6000; i++ {
		p := fmt.Sprintf("pay%d", i)
		entries = append(entries, tributary.LedgerEntry{ID: "pay:" + p, SiteID: "site", Livemode: true, Kind: tributary.EntryPayment, PaymentID: p,
			OccurredAt: day.Add(time.Duration(i) * 7 * time.Minute), Amount: 900, Currency: "USD", ReportingAmount: 900, ReportingCurrency: "USD",
			Rate: "1", Converted: true, Source: "stripe"})
	}
	if _, err := s.InsertLedger(ctx, entries); err != nil {
		t.Fatal(err)
	}
	// Every visitor paid, so the payers' visits are all the visits.
	var links []tributary.Identity
	for i := 0; i < 4000; i++ {
		links = append(links, tributary.Identity{SiteID: "site", At: day.Add(time.Duration(i) * 7 * time.Minute), VisitorID: fmt.Sprintf("v%d", i),
			PaymentID: fmt.Sprintf("pay%d", i), LinkMethod: tributary.LinkMetadata, Source: "stripe"})
	}
	if err := s.InsertIdentities(ctx, links); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	l, log := logged()
	cold, err := Open(ctx, dir, MemoryLimit(256<<20), Logger(l))
	if err != nil {
		t.Fatal(err)
	}
	// The rebuild of the visits by day Open starts reads tables too: measured once it has ended.
	<-cold.VisitsByDayBuilt()
	before := cached(t, cold)
	// A budget already spent reads nothing.
	cold.warmCache(ctx, 0)
	if got := cached(t, cold); got != before {
		t.Errorf("a spent budget read %d bytes into the cache", got-before)
	}
	if !strings.Contains(log(), `msg="duckdb: cache warmed" tables=""`) {
		t.Errorf("a spent budget: log %q, want a warming of no table", log())
	}
	// Memory other work holds (as a rebuild of the payment touches at open leaves it) is not the
	// warming's: with more held than its budget it still reads, and stops at its budget (a block of
	// one table is past it).
	if _, err := cold.db.ExecContext(ctx, `CREATE TABLE held AS SELECT range AS i, repeat('x', 200) || range AS s FROM range(300000)`); err != nil {
		t.Fatal(err)
	}
	const budget = 64 << 10
	if held := usedMemory(t, cold); held < 4*budget {
		t.Fatalf("DuckDB holds %d bytes with the table held, want more than the budget %d", held, budget)
	}
	cold.warmCache(ctx, budget)
	all := `tables="` + strings.Join(warmTables, " ") + `"`
	if !strings.Contains(log(), `msg="duckdb: cache warmed" tables="`+warmTables[0]) || strings.Contains(log(), all) {
		t.Errorf("memory held by other work: log %q, want a warming that read %s and stopped before the last table", log(), warmTables[0])
	}
	cold.Close()

	l, log = logged()
	warm, err := Open(ctx, dir, MemoryLimit(256<<20), WarmCache(), Logger(l))
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	<-warm.VisitsByDayBuilt()
	after := cached(t, warm)
	want := `msg="duckdb: cache warmed" tables="` + strings.Join(warmTables, " ") + `"`
	if !strings.Contains(log(), want) {
		t.Errorf("log %q, want %q", log(), want)
	}
	// The payers' visits alone are 40,000 rows of 40 columns (1.6 MB more were measured).
	if after < before+1<<20 {
		t.Errorf("DuckDB holds %d bytes after a warmed Open, %d after a cold one: the tables were not read", after, before)
	}
}

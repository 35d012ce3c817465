package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
)

// TestOpenRunsPaced wants the background job to write the open days again only once openShare times
// its last run's duration has passed: at once on the first run, not on the next minute's when the last
// run took over six seconds, and again once that time is over.
func TestOpenRunsPaced(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	s, err := Open(ctx, testenv.ClickHouseDSN(t), Zones(func(context.Context) (map[string]string, error) {
		return map[string]string{"s1": "UTC"}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.now = func() time.Time { return clock }
	write := func(at time.Time) {
		t.Helper()
		err := s.InsertEvents(ctx, []tributary.Event{{SiteID: "s1", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: "v", SessionID: at.Format(time.RFC3339),
			Hostname: "shop.example", Path: "/", Channel: "Direct"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	runs := func() uint64 {
		t.Helper()
		var n uint64
		if err := s.db.QueryRowContext(ctx, `SELECT count() FROM visit_open_runs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	write(clock.Add(-time.Hour))
	if err := s.FinishVisits(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runs(); n != 1 {
		t.Fatalf("the first run recorded %d runs, want 1", n)
	}
	// As if that run had taken 6 s: the next may come a minute later.
	s.nextOpen.Store(clock.Add(openShare * 6 * time.Second).UnixNano())
	clock = clock.Add(30 * time.Second)
	write(clock.Add(-10 * time.Minute))
	if err := s.FinishVisits(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runs(); n != 1 {
		t.Fatalf("a run within its wait recorded %d runs, want 1", n)
	}
	clock = clock.Add(time.Minute)
	if err := s.FinishVisits(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runs(); n != 2 {
		t.Fatalf("the run after the wait recorded %d runs, want 2", n)
	}
}

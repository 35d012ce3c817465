package duckdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// TestSessionsFollowEvents pins the visits table: after a sync, batches of one visit in any order give
// the visit of all its events (first event's source, first and last pageviews), and the first start of
// an upgraded store repairs visits whose background sync was lost.
func TestSessionsFollowEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ev := func(min int, name, path, channel string) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: t0.Add(time.Duration(min) * time.Minute), Name: name, Source: "browser", VisitorID: "v1",
			SessionID: "o'brien", Hostname: "a.com", Path: path, Channel: channel, Country: "DE", Device: "mobile"}
	}
	// The later half arrives first.
	if err := s.InsertEvents(ctx, []tributary.Event{ev(10, "pageview", "/c", "Direct"), ev(12, "signup", "/c", "Direct")}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertEvents(ctx, []tributary.Event{ev(0, "pageview", "/a", "Email"), ev(5, "pageview", "/b", "Direct")}); err != nil {
		t.Fatal(err)
	}
	check := func(s *duckdb.Store) {
		t.Helper()
		var start, end time.Time
		var pv, evs int64
		var entry, exit, channel string
		err := s.DB().QueryRow(`SELECT start_ts, end_ts, pv, ev, entry_page, exit_page, channel FROM sessions WHERE site_id = 's1' AND session_id = 'o''brien'`).
			Scan(&start, &end, &pv, &evs, &entry, &exit, &channel)
		if err != nil || !start.Equal(t0) || !end.Equal(t0.Add(12*time.Minute)) || pv != 3 || evs != 1 || entry != "/a" || exit != "/c" || channel != "Email" {
			t.Fatalf("visit = %v %v pv=%d ev=%d %s→%s %s (%v)", start, end, pv, evs, entry, exit, channel, err)
		}
	}
	check(s)
	// A store last written by a build that derived visits in the background may hold events without
	// their visits; migration 018 marks it, and the next start repairs them once.
	if _, err := s.DB().Exec(`DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO settings VALUES ('visits_repair', 'pending')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
	var left int
	if err := s.DB().QueryRow(`SELECT count(*) FROM settings WHERE key = 'visits_repair'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the repair mark is still there (%d, %v): every start would repair again", left, err)
	}
}

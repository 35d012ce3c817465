package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// TestPrevColumnsFollowHistory feeds visits out of order (returning visitors, events arriving before
// earlier ones of the same visit, a late first event that changes a visit's channel) through several
// syncs, and checks every prev_* column against the windows computed over the whole table, both as
// the sync keeps them and as migration 011 rebuilds them.
func TestPrevColumnsFollowHistory(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	channels := []string{"Direct", "Email", "Organic Search"}
	var evs []tributary.Event
	for i := 0; i < 300; i++ {
		v := fmt.Sprintf("v%d", r.IntN(40))
		at := t0.Add(time.Duration(r.IntN(20*24*60)) * time.Minute)
		for k := 0; k < 1+r.IntN(3); k++ {
			evs = append(evs, tributary.Event{SiteID: "s", Timestamp: at.Add(time.Duration(k) * time.Minute), Name: "pageview", Source: "browser",
				VisitorID: v, SessionID: fmt.Sprintf("s%d", i), Hostname: "a.com", Path: []string{"/", "/a", "/b"}[r.IntN(3)],
				Channel: channels[r.IntN(3)], Country: []string{"DE", "US"}[r.IntN(2)], Device: "desktop"})
		}
	}
	r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	compare := func(stage string) {
		t.Helper()
		cols := strings.Join(prevColumns(), ", ")
		var diff int
		err := s.db.QueryRow(`SELECT count(*) FROM (SELECT site_id, session_id, ` + cols + ` FROM sessions EXCEPT
			SELECT site_id, session_id, ` + cols + ` FROM (SELECT *, ` + prevWindows() + ` FROM (SELECT ` + strings.Join(sessionBase, ", ") + ` FROM sessions)))`).Scan(&diff)
		if err != nil || diff != 0 {
			t.Fatalf("%s: %d visits with wrong prev columns (%v)", stage, diff, err)
		}
	}
	for i := 0; i < len(evs); i += 70 {
		if err := s.InsertEvents(ctx, evs[i:min(i+70, len(evs))]); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncVisits(ctx); err != nil {
			t.Fatal(err)
		}
		compare(fmt.Sprintf("after batch %d", i/70))
	}
	// A first event arriving last moves a visit's start earlier and changes its channel.
	late := evs[0]
	late.Timestamp, late.Channel = late.Timestamp.Add(-time.Hour), "Paid Social"
	if err := s.InsertEvents(ctx, []tributary.Event{late}); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncVisits(ctx); err != nil {
		t.Fatal(err)
	}
	compare("after a late first event")
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM sessions WHERE prev_visit IS NOT NULL`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("no returning visits in the data (%v)", err)
	}
	// Migration 011's rebuild gives the same columns.
	b, err := migrations.ReadFile("migrations/011_visit_firsts.sql")
	if err != nil {
		t.Fatal(err)
	}
	rebuild := string(b)[strings.Index(string(b), "CREATE TABLE sessions_rebuild"):]
	if _, err := s.db.Exec(`UPDATE sessions SET prev_visit = NULL, prev_channel = NULL`); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(rebuild, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := s.db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	compare("after the migration's rebuild")
}

package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// TestVisitKeys covers the hashed keys the visits sync finds rows by: a collision (two visits, two
// visitors with equal keys) must not let one visit's sync touch the other, and keys computed by another
// hash function, or missing, are computed again as the store opens.
func TestVisitKeys(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	ev := func(visitor, session string, at time.Time, channel string) tributary.Event {
		return tributary.Event{SiteID: "s", Timestamp: at, Name: "pageview", Source: "browser", VisitorID: visitor, SessionID: session,
			Hostname: "a.com", Path: "/", Channel: channel, Country: "DE", Device: "desktop"}
	}
	setup := func(t *testing.T) *Store {
		s, err := Open(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		var evs []tributary.Event
		for i, v := range []string{"kXq3", "Zp09", "mm7A"} {
			for d := 0; d < 3; d++ {
				evs = append(evs, ev(v, fmt.Sprintf("%s-%d", v, d), t0.Add(time.Duration(24*d+i)*time.Hour), []string{"Direct", "Email"}[d%2]))
			}
		}
		if err := s.InsertEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		checkVisits(t, s, "first sync")
		return s
	}
	exec := func(t *testing.T, s *Store, q string, args ...any) {
		t.Helper()
		if _, err := s.db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("collision", func(t *testing.T) {
		s := setup(t)
		// Another visitor's visits share the keys of kXq3's first visit and of kXq3.
		exec(t, s, `UPDATE sessions SET session_key = (SELECT session_key FROM sessions WHERE session_id = 'kXq3-0'),
			visitor_key = (SELECT visitor_key FROM sessions WHERE session_id = 'kXq3-0') WHERE visitor_id = 'Zp09'`)
		var before string
		if err := s.db.QueryRow(`SELECT string_agg(session_id || start_ts || coalesce(prev_visit::VARCHAR, '-'), ',' ORDER BY session_id) FROM sessions WHERE visitor_id = 'Zp09'`).Scan(&before); err != nil {
			t.Fatal(err)
		}
		// kXq3's first visit gets an earlier event (its start and prev columns move) and a new visit.
		if err := s.InsertEvents(ctx, []tributary.Event{ev("kXq3", "kXq3-0", t0.Add(-time.Hour), "Email"), ev("kXq3", "kXq3-9", t0.Add(5*24*time.Hour), "Direct")}); err != nil {
			t.Fatal(err)
		}
		var after string
		if err := s.db.QueryRow(`SELECT string_agg(session_id || start_ts || coalesce(prev_visit::VARCHAR, '-'), ',' ORDER BY session_id) FROM sessions WHERE visitor_id = 'Zp09'`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Fatalf("the colliding visitor's visits changed:\n%s\n%s", before, after)
		}
		// Put the keys right; everything else must equal the visits worked out afresh.
		exec(t, s, `UPDATE sessions SET session_key = `+sessionKeyExpr+`, visitor_key = `+visitorKeyExpr)
		checkVisits(t, s, "after a sync through colliding keys")
	})

	t.Run("hash changed", func(t *testing.T) {
		s := setup(t)
		exec(t, s, `UPDATE sessions SET session_key = 1, visitor_key = 2`)
		exec(t, s, `UPDATE settings SET value = 'another hash' WHERE key = 'visit_key_hash'`)
		if err := s.fillVisitKeys(ctx); err != nil {
			t.Fatal(err)
		}
		checkVisits(t, s, "after the keys are computed again")
	})

	t.Run("missing keys", func(t *testing.T) {
		s := setup(t)
		exec(t, s, `UPDATE sessions SET session_key = NULL, visitor_key = NULL WHERE visitor_id = 'mm7A'`)
		if err := s.fillVisitKeys(ctx); err != nil {
			t.Fatal(err)
		}
		checkVisits(t, s, "after the missing keys are filled")
	})
}

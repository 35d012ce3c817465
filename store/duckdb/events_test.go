package duckdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ingest"
)

// TestInsertEventsCodesRefusedRows pins that a row DuckDB refuses (invalid UTF-8 becomes NULL in the
// Appender and fails NOT NULL) is EINVALID, not "store unavailable", and that the ingest writer then
// drops that event alone and writes the rest of its batch.
func TestInsertEventsCodesRefusedRows(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := func(name, utm string) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: now, Name: name, VisitorID: "v", SessionID: "v", UTMSource: utm}
	}
	tests := []struct {
		name string
		ev   tributary.Event
		code string
	}{
		{"plain", ev("pageview", "google"), ""},
		{"nul byte", ev("pageview", "a\x00b"), ""},
		{"invalid utf-8", ev("pageview", "\xff"), tributary.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tributary.ErrorCode(s.InsertEvents(ctx, []tributary.Event{tc.ev})); got != tc.code {
				t.Fatalf("code %q, want %q", got, tc.code)
			}
		})
	}

	w := ingest.NewWriter(s, ingest.WriterOptions{Interval: 10 * time.Millisecond})
	for i := 0; i < 50; i++ {
		e := ev("batch", "")
		if i == 20 {
			e.UTMSource = "\xff" // as ?utm_source=%ff decodes; the pipeline cleans it, the writer must cope anyway
		}
		if err := w.Enqueue(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM events WHERE name = 'batch'`).Scan(&n); err != nil || n != 49 {
		t.Fatalf("stored %d of the batch (%v), want the 49 good events", n, err)
	}
	if h := w.Health(); h.Dropped[ingest.WriteDropInvalid] != 1 {
		t.Fatalf("health = %+v", h)
	}
}

package stats

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// TestNeverOverCountsWhileWriting: queries running while batches are written never answer more
// pageviews (or visits) than the events stored when they finish, and the last answer is exact. The
// visits a query reads are derived in the batch's own transaction, so no query sees them ahead of, or
// behind, their events.
func TestNeverOverCountsWhileWriting(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &tributary.Site{ID: "oc", Domain: "oc.example", Currency: "USD", Timezone: "UTC"}
	e := NewEngine(st.DB(), DuckDB{})
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	const batches, perBatch = 20, 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := 0; b < batches; b++ {
			evs := make([]tributary.Event, perBatch)
			for i := range evs {
				// Visits continue across batches: a later batch extends visits an earlier one started.
				n := b*perBatch + i
				evs[i] = tributary.Event{SiteID: s.ID, Timestamp: t0.Add(time.Duration(n) * time.Second), Name: tributary.PageviewName,
					Source: tributary.SourceBrowser, VisitorID: fmt.Sprint("v", n%700), SessionID: fmt.Sprint("s", n%900), Hostname: s.Domain,
					Path: "/", Channel: "Direct"}
			}
			if err := st.InsertEvents(ctx, evs); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	body := []byte(`{"site_id":"oc","metrics":["pageviews"],"date_range":["2026-11-19","2026-11-21"]}`)
	q, err := ParseQuery(body, s, t0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	queries := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		res, err := e.Run(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.CountEvents(ctx, s.ID, t0.Add(-time.Hour), t0.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		if len(res.Results) > 0 {
			got = res.Results[0].Metrics[0].Int64()
		}
		if got > stored {
			t.Fatalf("query %d answered %d pageviews with %d events stored", queries, got, stored)
		}
		if finished && got != batches*perBatch {
			t.Fatalf("after the writes: %d pageviews, want %d", got, batches*perBatch)
		}
		queries++
		time.Sleep(2 * time.Millisecond) // leave the writer room on a busy machine
	}
	t.Logf("%d queries during %d batches", queries, batches)
}

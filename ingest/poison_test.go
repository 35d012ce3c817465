package ingest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// poisonStore refuses any batch that holds an event named "poison", as a store refuses a row it
// cannot take (the code of the error is configurable), and counts every attempt.
type poisonStore struct {
	tributary.EventStore
	mu       sync.Mutex
	code     string // "" = an uncoded error
	down     bool
	stored   []string
	attempts int
}

func (s *poisonStore) InsertEvents(ctx context.Context, evs []tributary.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.down {
		return errors.New("connection refused")
	}
	for _, e := range evs {
		if e.Name == "poison" {
			if s.code == "" {
				return errors.New("Failed to append: NOT NULL constraint failed: events.utm_source")
			}
			return &tributary.Error{Code: s.code, Message: "bad row"}
		}
	}
	for _, e := range evs {
		s.stored = append(s.stored, e.Name)
	}
	return nil
}

func (s *poisonStore) snapshot() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stored...), s.attempts
}

// TestWriterIsolatesPoison pins the second line of defence: an event the store refuses is isolated by
// splitting its batch, dropped with a reason and counted, and every other event is written — in
// buffered and durable modes, whether the store calls the row invalid or fails with an unclassified
// error. Before, the whole batch was retried forever and every later event was lost.
func TestWriterIsolatesPoison(t *testing.T) {
	tests := []struct {
		name       string
		code       string
		durable    bool
		poisons    int
		wantReason string
	}{
		{"invalid row, buffered", tributary.EINVALID, false, 1, WriteDropInvalid},
		{"unclassified error, buffered", "", false, 1, WriteDropRejected},
		{"store says unavailable, buffered", tributary.EUNAVAILABLE, false, 3, WriteDropRejected},
		{"invalid row, durable", tributary.EINVALID, true, 2, WriteDropInvalid},
		{"unclassified error, durable", "", true, 1, WriteDropRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &poisonStore{code: tc.code}
			drops := map[string]int{}
			var mu sync.Mutex
			w := NewWriter(st, WriterOptions{Durable: tc.durable, BatchSize: 64, Interval: 10 * time.Millisecond,
				OnDrop: func(r string) { mu.Lock(); drops[r]++; mu.Unlock() }})
			defer w.Close(context.Background())
			var wg sync.WaitGroup
			const good = 100
			for i := 0; i < good+tc.poisons; i++ {
				name := "pageview"
				if i%(good/tc.poisons) == 7 && i/(good/tc.poisons) < tc.poisons {
					name = "poison"
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					if err := w.Enqueue(ctx, tributary.Event{Name: name}); err != nil {
						t.Errorf("enqueue %s: %v", name, err)
					}
				}()
			}
			wg.Wait()
			deadline := time.Now().Add(5 * time.Second)
			for {
				stored, _ := st.snapshot()
				if (len(stored) >= good && w.Pending() == 0) || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			stored, _ := st.snapshot()
			if len(stored) != good {
				t.Fatalf("stored %d events, want the %d good ones", len(stored), good)
			}
			mu.Lock()
			defer mu.Unlock()
			if drops[tc.wantReason] != tc.poisons || len(drops) != 1 {
				t.Fatalf("drops = %v, want %d × %s", drops, tc.poisons, tc.wantReason)
			}
			if h := w.Health(); h.Dropped[tc.wantReason] != int64(tc.poisons) || h.Stuck {
				t.Fatalf("health = %+v", h)
			}
			if w.Pending() != 0 {
				t.Fatalf("%d events still pending", w.Pending())
			}
		})
	}
}

// TestWriterIsolatesPoisonFirstInABigBatch: a refused event at the head of a full batch of 10,000
// takes a failure per halving before anything is written; the split must still reach it.
func TestWriterIsolatesPoisonFirstInABigBatch(t *testing.T) {
	st := &poisonStore{}
	batch := make([]tributary.Event, 10000)
	for i := range batch {
		batch[i].Name = "pageview"
	}
	batch[0].Name, batch[1].Name = "poison", "poison"
	r := writeSplit(context.Background(), batch, func(b []tributary.Event) error { return st.InsertEvents(context.Background(), b) })
	if r.err != nil || r.resolved != len(batch) || r.written != len(batch)-2 || len(r.drops) != 2 {
		t.Fatalf("split = resolved %d written %d drops %d err %v", r.resolved, r.written, len(r.drops), r.err)
	}
	if r.attempts > 60 {
		t.Fatalf("%d attempts to isolate two events in 10,000", r.attempts)
	}
}

// TestWriterStoreDownDropsNothing pins the other side: when the store refuses everything it is down,
// not one event at fault; nothing is dropped, attempts are bounded and backed off, the writer reports
// itself stuck, and everything is written once the store is back.
func TestWriterStoreDownDropsNothing(t *testing.T) {
	st := &poisonStore{down: true}
	w := NewWriter(st, WriterOptions{BatchSize: 1000, Interval: 10 * time.Millisecond, StuckAfter: 100 * time.Millisecond})
	for i := 0; i < 500; i++ {
		if err := w.Enqueue(context.Background(), tributary.Event{Name: "pageview"}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	_, attempts := st.snapshot()
	// 400 ms at a 10 ms tick would be 40 rounds; the backoff (100, 200 ms, …) allows only a few, each
	// of at most blindFailures+1 attempts.
	if attempts > 4*(blindFailures(500)+1) {
		t.Fatalf("%d write attempts in 400 ms against a down store: a tight retry loop", attempts)
	}
	h := w.Health()
	if !h.Stuck || len(h.Dropped) != 0 || h.LastError == "" || w.Pending() != 500 {
		t.Fatalf("health while down = %+v, pending %d", h, w.Pending())
	}
	st.mu.Lock()
	st.down = false
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if stored, _ := st.snapshot(); len(stored) != 500 {
		t.Fatalf("stored %d after recovery, want 500", len(stored))
	}
	if h := w.Health(); h.Stuck || h.FailingFor != 0 {
		t.Fatalf("health after recovery = %+v", h)
	}
}

// TestWriterHoldsWhenEverythingIsInvalid: a store that calls every row invalid (a failing store that
// misreports) must not make the writer drop a whole batch; with nothing written, several "invalid"
// events are held, and a single invalid event alone is dropped.
func TestWriterHoldsWhenEverythingIsInvalid(t *testing.T) {
	tests := []struct {
		name       string
		events     int
		wantDrops  int
		wantResolv int
	}{
		{"one invalid event alone", 1, 1, 1},
		{"a batch the store calls all invalid", 100, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			batch := make([]tributary.Event, tc.events)
			r := writeSplit(context.Background(), batch, func([]tributary.Event) error { return tributary.Errorf(tributary.EINVALID, "bad row") })
			if len(r.drops) != tc.wantDrops || r.resolved != tc.wantResolv || (r.resolved < tc.events) != (r.err != nil) {
				t.Fatalf("drops %d resolved %d err %v", len(r.drops), r.resolved, r.err)
			}
		})
	}
}

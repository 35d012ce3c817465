package ingest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// fakeStore records batches and can be made to block or fail.
type fakeStore struct {
	tributary.EventStore
	mu      sync.Mutex
	stored  int
	batches []int
	fail    bool
	block   chan struct{}
	delay   time.Duration
}

func (f *fakeStore) InsertEvents(ctx context.Context, evs []tributary.Event) error {
	if f.block != nil {
		<-f.block
	}
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("store down")
	}
	f.stored += len(evs)
	f.batches = append(f.batches, len(evs))
	return nil
}

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stored
}

func TestWriterFlushesBySizeAndTime(t *testing.T) {
	st := &fakeStore{}
	w := NewWriter(st, WriterOptions{Capacity: 1000, BatchSize: 100, Interval: 50 * time.Millisecond})
	for i := 0; i < 250; i++ {
		if err := w.Enqueue(context.Background(), tributary.Event{Name: "pageview"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for st.count() < 250 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st.count() != 250 {
		t.Fatalf("stored %d of 250 within the interval", st.count())
	}
	for _, b := range st.batches {
		if b > 100*backlogBatches {
			t.Fatalf("batch of %d exceeds %d batches of BatchSize", b, backlogBatches)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Enqueue(context.Background(), tributary.Event{}); tributary.ErrorCode(err) != tributary.EUNAVAILABLE {
		t.Fatalf("enqueue after close = %v", err)
	}
}

// TestWriterCatchesUpInLargerWrites pins the backlog rule: while the store is busy, the events that
// arrive are written in one larger write (each write derives its visits at a cost that grows slower
// than the write), never more than backlogBatches batches, and nothing is lost.
func TestWriterCatchesUpInLargerWrites(t *testing.T) {
	st := &fakeStore{block: make(chan struct{})}
	w := NewWriter(st, WriterOptions{Capacity: 2000, BatchSize: 100, Interval: 20 * time.Millisecond})
	enqueue := func(n int) {
		for i := 0; i < n; i++ {
			if err := w.Enqueue(context.Background(), tributary.Event{Name: "pageview"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	enqueue(10)
	time.Sleep(100 * time.Millisecond) // the writer takes the 10 and waits on the store
	enqueue(1000)                      // ten batches arrive while it writes
	close(st.block)
	deadline := time.Now().Add(5 * time.Second)
	for st.count() < 1010 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stored != 1010 {
		t.Fatalf("stored %d of 1010", st.stored)
	}
	if len(st.batches) < 2 || st.batches[1] != 100*backlogBatches {
		t.Fatalf("batches %v: the backlog after the first write should go %d at a time", st.batches, 100*backlogBatches)
	}
	for _, b := range st.batches {
		if b > 100*backlogBatches {
			t.Fatalf("batch of %d exceeds %d batches", b, backlogBatches)
		}
	}
}

// TestWriterBackpressure pins bounded memory: a stalled store fills the buffer and Enqueue refuses
// with EUNAVAILABLE (503 + Retry-After at the endpoint) instead of growing or dropping silently; the
// batch the writer holds for its next try counts against Capacity; once the store recovers, Close
// writes everything that was accepted.
func TestWriterBackpressure(t *testing.T) {
	st := &fakeStore{fail: true}
	w := NewWriter(st, WriterOptions{Capacity: 50, BatchSize: 10, Interval: 10 * time.Millisecond})
	accepted, refused := 0, 0
	offer := func(n int) {
		for i := 0; i < n; i++ {
			if err := w.Enqueue(context.Background(), tributary.Event{}); err != nil {
				if !errors.Is(err, ErrBacklog) {
					t.Fatal(err)
				}
				refused++
			} else {
				accepted++
			}
		}
	}
	offer(200)
	// Once the writer has taken a batch out of the buffer and failed to write it, the room it left in
	// the buffer is not room in memory.
	for deadline := time.Now().Add(5 * time.Second); w.Health().Failures == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the writer never tried to write")
		}
	}
	offer(100)
	if accepted != 50 || w.Pending() != 50 {
		t.Fatalf("accepted %d (refused %d), %d pending, with capacity 50: want exactly 50 held", accepted, refused, w.Pending())
	}
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st.count() != accepted {
		t.Fatalf("stored %d, accepted %d: accepted events were lost", st.count(), accepted)
	}
}

// TestWriterSmallCapacityKeepsAccepting: a buffer smaller than a batch (the flag allows 1,000 against a
// BatchSize of 10,000) still starts writes as it fills, and no write takes more than half of it, so
// events are accepted while the store writes; with writes sized by BatchSize it would wait for the
// interval (an hour here) with every event refused.
func TestWriterSmallCapacityKeepsAccepting(t *testing.T) {
	st := &fakeStore{delay: 5 * time.Millisecond}
	w := NewWriter(st, WriterOptions{Capacity: 100, BatchSize: 10_000, Interval: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 1000; {
		err := w.Enqueue(context.Background(), tributary.Event{})
		switch {
		case err == nil:
			i++
		case !errors.Is(err, ErrBacklog):
			t.Fatal(err)
		case time.Now().After(deadline):
			t.Fatalf("accepted %d of 1000 in 10 s, %d stored: the writer does not write a small buffer", i, st.count())
		default:
			time.Sleep(time.Millisecond)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stored != 1000 {
		t.Fatalf("stored %d of 1000", st.stored)
	}
	for _, n := range st.batches {
		if n > 50 {
			t.Fatalf("batches %v: a write took more than half of Capacity 100", st.batches)
		}
	}
}

// TestDurableRefusesAtCapacity: in durable mode the senders waiting on a stalled store hold their
// places, the next one is refused at once, and once the store answers every waiting sender returns.
func TestDurableRefusesAtCapacity(t *testing.T) {
	st := &fakeStore{block: make(chan struct{})}
	w := NewWriter(st, WriterOptions{Capacity: 10, BatchSize: 5, Interval: 10 * time.Millisecond, Durable: true})
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		go func() { errs <- w.Enqueue(context.Background(), tributary.Event{}) }()
	}
	for deadline := time.Now().Add(5 * time.Second); w.Pending() < 10; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 10 senders held a place", w.Pending())
		}
	}
	if err := w.Enqueue(context.Background(), tributary.Event{}); !errors.Is(err, ErrBacklog) {
		t.Fatalf("the eleventh sender = %v, want ErrBacklog", err)
	}
	close(st.block)
	for i := 0; i < 10; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 10 senders still waiting after the store answered", 10-i)
		}
	}
	if st.count() != 10 || w.Pending() != 0 {
		t.Fatalf("stored %d, %d pending; want 10 and 0", st.count(), w.Pending())
	}
	w.Close(context.Background())
}

func TestWriterCloseReportsLoss(t *testing.T) {
	st := &fakeStore{fail: true}
	w := NewWriter(st, WriterOptions{Capacity: 10, BatchSize: 5, Interval: time.Hour})
	for i := 0; i < 7; i++ {
		w.Enqueue(context.Background(), tributary.Event{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Fatal("Close hid that events could not be written")
	}
}

func TestIPLimiter(t *testing.T) {
	l := NewIPLimiter(10, 20)
	now := time.Unix(0, 0)
	ip := mustAddr("203.0.113.7")
	ok := 0
	for i := 0; i < 30; i++ {
		if l.Allow(ip, now) {
			ok++
		}
	}
	if ok != 20 {
		t.Fatalf("burst allowed %d, want 20", ok)
	}
	later := now.Add(200 * time.Millisecond) // 10/s refills 2 tokens
	if !l.Allow(ip, later) || !l.Allow(ip, later) || l.Allow(ip, later) {
		t.Fatal("refill of 10/s not applied exactly")
	}
	if !l.Allow(mustAddr("198.51.100.1"), now) {
		t.Fatal("limits leak across addresses")
	}
}

// TestDurableEnqueueWaitsForTheStore pins the durable contract: Enqueue returns only after the event's
// batch is written, concurrent events share writes, and a store outage makes callers time out with
// EUNAVAILABLE instead of acknowledging events that are only in memory.
func TestDurableEnqueueWaitsForTheStore(t *testing.T) {
	// A write takes a millisecond, as a real store's does, so events arriving meanwhile share the next.
	st := &fakeStore{delay: time.Millisecond}
	w := NewWriter(st, WriterOptions{Durable: true, Interval: time.Hour})
	defer w.Close(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Enqueue(context.Background(), tributary.Event{Name: "pageview"}); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			// Everything acknowledged so far is stored: the store holds at least as many events.
			acked++
			if n := st.count(); n < acked {
				t.Errorf("%d events acknowledged but only %d stored", acked, n)
			}
		}()
	}
	wg.Wait()
	if st.count() != 200 {
		t.Fatalf("stored %d, want 200", st.count())
	}
	st.mu.Lock()
	writes := len(st.batches)
	st.mu.Unlock()
	if writes >= 200 {
		t.Errorf("%d writes for 200 concurrent events: durable mode must group them", writes)
	}

	st.mu.Lock()
	st.fail = true
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if err := w.Enqueue(ctx, tributary.Event{Name: "pageview"}); tributary.ErrorCode(err) != tributary.EUNAVAILABLE {
		t.Fatalf("enqueue during an outage = %v, want EUNAVAILABLE", err)
	}
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	// After the outage the held event is written by the retry, and new events are acknowledged again.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := w.Enqueue(ctx2, tributary.Event{Name: "pageview"}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if st.count() != 202 {
		t.Fatalf("stored %d after recovery, want 202", st.count())
	}
}

func TestDurableIdentityIsWrittenBeforeReturn(t *testing.T) {
	st := &idStore{}
	w := NewWriter(st, WriterOptions{Durable: true})
	defer w.Close(context.Background())
	if err := w.EnqueueIdentity(context.Background(), tributary.Identity{VisitorID: "v"}); err != nil {
		t.Fatal(err)
	}
	if st.n != 1 {
		t.Fatalf("identity not stored before return: %d", st.n)
	}
}

type idStore struct {
	fakeStore
	n int
}

func (s *idStore) InsertIdentities(ctx context.Context, ids []tributary.Identity) error {
	s.n += len(ids)
	return nil
}

// keepStore keeps the first batch it is given and, at the second, reports what that batch's array
// held beyond the new events: the writer reuses its batch's array from write to write.
type keepStore struct {
	tributary.EventStore
	first  []tributary.Event
	shared bool
	stale  int
	calls  chan int
}

func (k *keepStore) InsertEvents(ctx context.Context, evs []tributary.Event) error {
	if k.first == nil {
		k.first = evs
	} else if k.stale < 0 {
		k.shared = len(evs) > 0 && &evs[0] == &k.first[0]
		k.stale = 0
		for _, e := range k.first[len(evs):] {
			if e.Name != "" {
				k.stale++
			}
		}
	}
	k.calls <- len(evs)
	return nil
}

// TestWriterLetsGoOfWrittenEvents: once a batch is written its events leave the batch's array, which
// the writer keeps for the next write; left there, each would keep its record (the event's texts) alive
// until a later write overwrote it, up to a backlog write's 30,000.
func TestWriterLetsGoOfWrittenEvents(t *testing.T) {
	st := &keepStore{stale: -1, calls: make(chan int, 2)}
	w := NewWriter(st, WriterOptions{BatchSize: 100, Interval: 10 * time.Millisecond})
	defer w.Close(context.Background())
	enqueue := func(n int) {
		for i := 0; i < n; i++ {
			if err := w.Enqueue(context.Background(), tributary.Event{SiteID: "s", Name: "pageview", Path: "/p"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	enqueue(10)
	if n := <-st.calls; n != 10 {
		t.Fatalf("first write of %d events, want 10", n)
	}
	enqueue(3)
	if n := <-st.calls; n != 3 {
		t.Fatalf("second write of %d events, want 3", n)
	}
	if !st.shared {
		t.Fatal("the second write did not reuse the first one's array: the test checks nothing")
	}
	if st.stale != 0 {
		t.Errorf("%d written events still in the batch's array at the next write, want 0", st.stale)
	}
}

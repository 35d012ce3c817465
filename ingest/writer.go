package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary/tributary"
)

// WriterOptions tunes the batch writer.
type WriterOptions struct {
	// Capacity bounds the events held in memory, waiting or in the write under way; when full, Enqueue
	// refuses (the endpoint answers 503 with Retry-After) instead of growing without limit or dropping
	// silently.
	Capacity int
	// BatchSize flushes as soon as this many events are waiting; a writer that has fallen behind writes
	// up to backlogBatches batches at once.
	BatchSize int
	// Interval flushes whatever is waiting at least this often (1 s: events show up within a second).
	Interval time.Duration
	// Durable makes Enqueue return only once the event is in the store, so a 202 survives a crash of
	// the process (kill -9, power loss). Concurrent events still share one write: the writer flushes
	// as soon as anything waits, and what arrives during a write goes into the next. Off, an accepted
	// event may sit in memory for up to Interval, and a hard crash loses at most that much traffic.
	Durable bool
	Logger  *slog.Logger
	// StuckAfter is how long writes may keep failing (or one write may hang) while events wait before
	// the writer reports itself stuck (Health; /readyz answers 503). Default 30 s.
	StuckAfter time.Duration
	// OnDrop, when set, is told of every event the store refused on its own (metrics), with the reason.
	OnDrop func(reason string)
	// OnFailure, when set, is told of every failed write attempt (metrics).
	OnFailure func()
}

// Reasons an event is dropped at write time, after the store refused it on its own. The pipeline
// cleans every event first (tributary.Event.Clean), so these are the second line of defence.
const (
	// WriteDropInvalid: the store said the event's data is invalid.
	WriteDropInvalid = "store_invalid"
	// WriteDropRejected: the store refused this event alone while it accepted the rest of its batch.
	WriteDropRejected = "store_rejected"
)

// blindFailures bounds the failed write attempts of one flush of n events while nothing has been
// written: enough to split down to a refused first event (one failure a halving) and a few more, past
// which the store is taken to be down (not one event at fault) and the batch waits for the next,
// backed-off try.
func blindFailures(n int) int { return bits.Len(uint(n)) + 4 }

func (o *WriterOptions) defaults() {
	if o.Capacity <= 0 {
		o.Capacity = 200_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 10_000
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = 30 * time.Second
	}
}

// Writer buffers events and writes them to the EventStore in batches by size or time.
type Writer struct {
	store tributary.EventStore
	opt   WriterOptions
	// ch holds records (pack.go), not events: a channel of events (424 bytes each) is one allocation
	// of the full capacity, all of it live heap from the start and resident once the ring has turned,
	// which also raised the collector's target in proportion (GOGC); and an event's strings
	// keep the request's allocations alive. A record is one allocation of the event's own bytes.
	ch   chan record
	ids  chan tributary.Identity // identify calls, batched like events
	kick chan struct{}
	done chan struct{}
	stop chan struct{}
	once sync.Once

	written, failed atomic.Int64
	lastErr         atomic.Value
	// held counts the events accepted and not yet written or dropped: those in ch and those the loop
	// has taken from it. Enqueue reserves a place in it first, so the write under way counts against
	// Capacity (it used to be held beside a full channel: 80,000 events at a Capacity of 50,000).
	// failingSince is when writes started failing (unix ns, 0 while they succeed); writingSince is when
	// the write in progress started (0 when none).
	held         atomic.Int64
	failingSince atomic.Int64
	writingSince atomic.Int64
	dropMu       sync.Mutex
	dropped      map[string]int64

	// writeMost is the most events one write takes, half of Capacity at most: what a write holds counts
	// against Capacity, so intake goes on while it runs. wakeAt is how many waiting events start a write
	// before Interval (BatchSize, or writeMost when Capacity is small).
	writeMost, wakeAt int

	// carry holds a batch the loop could not write when it stopped; Close writes it first.
	carry []tributary.Event

	// Durable mode: enqueued counts events put into ch (under enqMu, so the count matches channel
	// order); stored counts events written, in the same order; flushed is closed and replaced after
	// every write so waiters re-check.
	enqMu    sync.Mutex
	enqueued int64
	stMu     sync.Mutex
	stored   int64
	flushed  chan struct{}
}

// NewWriter starts the writer's background loop.
func NewWriter(store tributary.EventStore, opt WriterOptions) *Writer {
	opt.defaults()
	w := &Writer{store: store, opt: opt, ch: make(chan record, opt.Capacity), ids: make(chan tributary.Identity, opt.Capacity/10+1),
		kick: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{}), flushed: make(chan struct{})}
	w.writeMost = max(1, opt.Capacity/2)
	w.wakeAt = min(opt.BatchSize, w.writeMost)
	go w.loop()
	return w
}

// ErrBacklog is returned by Enqueue when the buffer is full because the store is falling behind.
var ErrBacklog = &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "event buffer full: the store is falling behind; retry shortly"}

// Enqueue hands an event to the writer. Buffered, it never blocks; durable, it returns once the event
// is stored (or ctx ends: the event may then still be written).
func (w *Writer) Enqueue(ctx context.Context, e tributary.Event) error {
	select {
	case <-w.stop:
		return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "server is shutting down"}
	default:
	}
	if !w.opt.Durable {
		if !w.reserve() {
			return ErrBacklog
		}
		w.ch <- pack(&e)
		if len(w.ch) >= w.wakeAt {
			w.wake()
		}
		return nil
	}
	r := pack(&e) // outside the lock, which orders the durable senders
	w.enqMu.Lock()
	if !w.reserve() {
		w.enqMu.Unlock()
		return ErrBacklog
	}
	w.ch <- r
	w.enqueued++
	seq := w.enqueued
	w.enqMu.Unlock()
	w.wake()
	for {
		w.stMu.Lock()
		done, next := w.stored >= seq, w.flushed
		w.stMu.Unlock()
		if done {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "event not yet stored: the store is slow; retry shortly", Err: ctx.Err()}
		}
	}
}

// reserve takes a place for one event among the Capacity held; with one, the send on ch cannot block
// (ch holds Capacity and at most as many are held). It never counts past Capacity, so Pending does not
// either.
func (w *Writer) reserve() bool {
	for {
		n := w.held.Load()
		if n >= int64(w.opt.Capacity) {
			return false
		}
		if w.held.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (w *Writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// markDone records n more events resolved (written, or dropped by the store) and wakes durable
// waiters: resolved events leave the queue in channel order.
func (w *Writer) markDone(n int) {
	if !w.opt.Durable || n == 0 {
		return
	}
	w.stMu.Lock()
	w.stored += int64(n)
	close(w.flushed)
	w.flushed = make(chan struct{})
	w.stMu.Unlock()
}

// EnqueueIdentity hands an identify fact to the writer; durable, it is written before returning
// (identify calls are rare, so they skip the batch).
func (w *Writer) EnqueueIdentity(ctx context.Context, id tributary.Identity) error {
	select {
	case <-w.stop:
		return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "server is shutting down"}
	default:
	}
	if w.opt.Durable {
		if err := w.store.InsertIdentities(ctx, []tributary.Identity{id}); err != nil {
			return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "could not store the identify call; retry shortly", Err: err}
		}
		return nil
	}
	select {
	case w.ids <- id:
		return nil
	default:
		return ErrBacklog
	}
}

// flushIdentities writes buffered identities, isolating and dropping any the store refuses on its
// own; what cannot be written yet is put back (as far as room allows).
func (w *Writer) flushIdentities(ctx context.Context) error {
	var batch []tributary.Identity
	for len(batch) < w.opt.BatchSize {
		select {
		case id := <-w.ids:
			batch = append(batch, id)
			continue
		default:
		}
		break
	}
	if len(batch) == 0 {
		return nil
	}
	res := writeSplit(ctx, batch, func(b []tributary.Identity) error { return w.store.InsertIdentities(ctx, b) })
	w.account(ctx, "identity", res)
	for _, id := range batch[res.resolved:] {
		select {
		case w.ids <- id:
		default:
		}
	}
	return res.err
}

// splitResult is the outcome of writeSplit: the first resolved items of the batch are done (written
// or dropped); the rest wait for another try because err says the store is failing.
type splitResult struct {
	resolved, written int
	attempts, failed  int
	drops             []splitDrop
	err               error
}

type splitDrop struct {
	index  int
	reason string
	err    error
}

// writeSplit writes batch with insert. When the store refuses the batch it is halved, and halved
// again, until each refused item stands alone: an item the store calls invalid (EINVALID), or one it
// refuses alone while it accepted other items of the batch, is dropped with a reason; everything else
// is written. When nothing at all can be written the store is failing, not one item: after
// blindFailures attempts the rest is left for the next, backed-off try. Items are resolved strictly
// in order, so the resolved ones are always a prefix (durable waiters count on it).
func writeSplit[T any](ctx context.Context, batch []T, insert func([]T) error) splitResult {
	var r splitResult
	suspects := []int{} // refused alone with an unclassified error; dropped if anything else was written
	unresolved := len(batch)
	done := make([]bool, len(batch))
	var run func(lo, hi int) bool // false: give up (the store is failing)
	run = func(lo, hi int) bool {
		r.attempts++
		err := insert(batch[lo:hi])
		if err == nil {
			r.written += hi - lo
			for i := lo; i < hi; i++ {
				done[i] = true
			}
			return true
		}
		r.failed++
		r.err = err
		if r.written == 0 && r.failed > blindFailures(len(batch)) {
			return false
		}
		if hi-lo == 1 {
			if tributary.ErrorCode(err) == tributary.EINVALID {
				r.drops = append(r.drops, splitDrop{index: lo, reason: WriteDropInvalid, err: err})
				done[lo] = true
			} else {
				suspects = append(suspects, lo)
			}
			return true
		}
		mid := lo + (hi-lo)/2
		return run(lo, mid) && run(mid, hi)
	}
	run(0, len(batch))
	if r.written > 0 {
		// The store accepts writes: what it refused alone is at fault, whatever the error said.
		for _, i := range suspects {
			r.drops = append(r.drops, splitDrop{index: i, reason: WriteDropRejected, err: r.err})
			done[i] = true
		}
	} else if len(r.drops) > 1 {
		// Nothing could be written and several events were called invalid: more likely a failing store
		// that says "invalid" than a batch of bad rows. Hold them all for the next try, which writes
		// or refuses them beside newer events.
		for _, d := range r.drops {
			done[d.index] = false
		}
		r.drops = r.drops[:0]
	}
	for i, d := range done {
		if !d {
			unresolved = i
			break
		}
		unresolved = i + 1
	}
	r.resolved = unresolved
	// Drops past the first unresolved item are decided again on the next try, with the rest.
	kept := r.drops[:0]
	for _, d := range r.drops {
		if d.index < r.resolved {
			kept = append(kept, d)
		}
	}
	r.drops = kept
	if r.resolved == len(batch) {
		r.err = nil
	}
	return r
}

// account records a writeSplit outcome: failures, drops (counted and logged once each) and health.
func (w *Writer) account(ctx context.Context, kind string, r splitResult) {
	for i := 0; i < r.failed; i++ {
		w.failed.Add(1)
		if w.opt.OnFailure != nil {
			w.opt.OnFailure()
		}
	}
	for _, d := range r.drops {
		w.dropMu.Lock()
		if w.dropped == nil {
			w.dropped = map[string]int64{}
		}
		w.dropped[d.reason]++
		w.dropMu.Unlock()
		if w.opt.OnDrop != nil {
			w.opt.OnDrop(d.reason)
		}
		w.opt.Logger.LogAttrs(ctx, slog.LevelWarn, "ingest: store refused one "+kind+"; dropped",
			slog.String("reason", d.reason), slog.Any("err", d.err))
	}
	if r.err != nil {
		w.lastErr.Store(r.err.Error())
		w.failingSince.CompareAndSwap(0, time.Now().UnixNano())
		return
	}
	w.failingSince.Store(0)
}

// Health tells whether the writer is keeping up.
type Health struct {
	// Stuck is set when writes have failed for StuckAfter while events wait, or one write has hung
	// that long.
	Stuck bool
	// FailingFor is how long writes have been failing (0 when the last one succeeded).
	FailingFor time.Duration
	// LastError is the newest write error.
	LastError string
	// Dropped counts events the store refused on their own, by reason.
	Dropped map[string]int64
	// Failures counts failed write attempts since start.
	Failures int64
}

// Health reports the writer's state for /metrics and /readyz.
func (w *Writer) Health() Health {
	now := time.Now()
	var h Health
	if t := w.failingSince.Load(); t != 0 {
		h.FailingFor = now.Sub(time.Unix(0, t))
	}
	hung := time.Duration(0)
	if t := w.writingSince.Load(); t != 0 {
		hung = now.Sub(time.Unix(0, t))
	}
	h.Stuck = (h.FailingFor >= w.opt.StuckAfter && w.Pending() > 0) || hung >= w.opt.StuckAfter
	h.FailingFor = max(h.FailingFor, hung)
	if e, ok := w.lastErr.Load().(string); ok {
		h.LastError = e
	}
	h.Failures = w.failed.Load()
	w.dropMu.Lock()
	h.Dropped = make(map[string]int64, len(w.dropped))
	for k, v := range w.dropped {
		h.Dropped[k] = v
	}
	w.dropMu.Unlock()
	return h
}

// Pending is the number of events held: buffered, or in the write under way.
func (w *Writer) Pending() int { return int(w.held.Load()) }

// Capacity is how many events the writer holds (buffered or being written) before Enqueue refuses.
func (w *Writer) Capacity() int { return w.opt.Capacity }

// Written is the number of events stored so far.
func (w *Writer) Written() int64 { return w.written.Load() }

func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(w.opt.Interval)
	defer t.Stop()
	batch := make([]tributary.Event, 0, w.opt.BatchSize)
	defer func() { w.carry = batch }()
	backoff := time.Duration(0)
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		case <-w.kick:
		}
		if backoff > 0 {
			select {
			case <-w.stop:
				return
			case <-time.After(backoff):
			}
		}
		var err error
		batch, err = w.flush(context.Background(), batch)
		if err == nil {
			err = w.flushIdentities(context.Background())
		}
		if err != nil {
			backoff = min(max(backoff*2, 100*time.Millisecond), 5*time.Second)
		} else {
			backoff = 0
		}
	}
}

// backlogBatches is how many batches one write takes when more than a batch is waiting: the store
// derives each write's visits in its transaction at a cost that grows slower than the write
// (BenchmarkInsertEvents in store/duckdb: 40,000 events cost 0.63× per event of 10,000), so a writer that
// has fallen behind catches up with fewer, larger writes, taking at most this many batches out of the
// channel at once (and never more than half of Capacity: writeMost).
const backlogBatches = 3

// flush writes what is in batch plus whatever is buffered, in chunks of BatchSize, or of up to
// backlogBatches batches while more than one is waiting. An event the store refuses on its own is
// dropped with a reason (writeSplit); when the store is failing, the unwritten events stay in the
// returned batch for the next, backed-off attempt.
func (w *Writer) flush(ctx context.Context, batch []tributary.Event) ([]tributary.Event, error) {
	for {
		limit := w.opt.BatchSize
		if len(batch)+len(w.ch) > w.opt.BatchSize {
			limit *= backlogBatches
		}
		limit = min(limit, w.writeMost)
	fill:
		for len(batch) < limit {
			select {
			case r := <-w.ch:
				batch = append(batch, r.unpack())
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			w.failingSince.Store(0)
			return batch, nil
		}
		w.writingSince.Store(time.Now().UnixNano())
		res := writeSplit(ctx, batch, func(b []tributary.Event) error { return w.store.InsertEvents(ctx, b) })
		w.writingSince.Store(0)
		w.account(ctx, "event", res)
		// Counted as stored before their room is released, so whoever reads nothing held reads all of
		// it stored (the load generator's drain); the room before durable senders wake, so one woken
		// finds it.
		w.written.Add(int64(res.written))
		w.held.Add(-int64(res.resolved))
		w.markDone(res.resolved)
		if res.err != nil {
			w.opt.Logger.LogAttrs(ctx, slog.LevelWarn, "ingest: event batch write failed; will retry",
				slog.Int("batch", len(batch)-res.resolved), slog.Int("buffered", len(w.ch)), slog.Any("err", res.err))
			n := copy(batch, batch[res.resolved:])
			clear(batch[n:])
			return batch[:n], res.err
		}
		// Cleared, not only cut: the array would otherwise keep the written events' records alive
		// until later writes overwrite them (a backlog write grows it to 30,000).
		clear(batch)
		batch = batch[:0]
		if len(w.ch) == 0 {
			return batch, nil
		}
	}
}

// Close stops accepting events and writes everything buffered, retrying until ctx ends.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	batch := w.carry
	for {
		var err error
		batch, err = w.flush(ctx, batch)
		if err == nil {
			err = w.flushIdentities(ctx)
		}
		if err == nil && len(w.ch) == 0 && len(w.ids) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ingest: flush on shutdown: %d events not written: %w", len(batch)+len(w.ch), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary/tributary"
)

// WriterOptions tunes the batch writer.
type WriterOptions struct {
	// Capacity bounds the events held in memory; when full, Enqueue refuses (the endpoint answers 503
	// with Retry-After) instead of growing without limit or dropping silently.
	Capacity int
	// BatchSize flushes as soon as this many events are waiting.
	BatchSize int
	// Interval flushes whatever is waiting at least this often (1 s: events show up within a second).
	Interval time.Duration
	// Durable makes Enqueue return only once the event is in the store, so a 202 survives a crash of
	// the process (kill -9, power loss). Concurrent events still share one write: the writer flushes
	// as soon as anything waits, and what arrives during a write goes into the next. Off, an accepted
	// event may sit in memory for up to Interval, and a hard crash loses at most that much traffic.
	Durable bool
	Logger  *slog.Logger
}

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
}

// Writer buffers events and writes them to the EventStore in batches by size or time.
type Writer struct {
	store tributary.EventStore
	opt   WriterOptions
	ch    chan tributary.Event
	ids   chan tributary.Identity // identify calls, batched like events
	kick  chan struct{}
	done  chan struct{}
	stop  chan struct{}
	once  sync.Once

	written, failed atomic.Int64
	lastErr         atomic.Value

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
	w := &Writer{store: store, opt: opt, ch: make(chan tributary.Event, opt.Capacity), ids: make(chan tributary.Identity, opt.Capacity/10+1),
		kick: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{}), flushed: make(chan struct{})}
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
		select {
		case w.ch <- e:
			if len(w.ch) >= w.opt.BatchSize {
				w.wake()
			}
			return nil
		default:
			return ErrBacklog
		}
	}
	w.enqMu.Lock()
	select {
	case w.ch <- e:
		w.enqueued++
	default:
		w.enqMu.Unlock()
		return ErrBacklog
	}
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

func (w *Writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// markStored records n more events written and wakes durable waiters.
func (w *Writer) markStored(n int) {
	w.written.Add(int64(n))
	if !w.opt.Durable {
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

// flushIdentities writes buffered identities; on failure they are put back (as far as room allows).
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
	if err := w.store.InsertIdentities(ctx, batch); err != nil {
		for _, id := range batch {
			select {
			case w.ids <- id:
			default:
			}
		}
		return err
	}
	return nil
}

// Pending is the number of buffered events.
func (w *Writer) Pending() int { return len(w.ch) }

// Capacity is how many events the buffer holds before Enqueue refuses.
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

// flush writes what is in batch plus whatever is buffered, in chunks of BatchSize. On failure the
// unwritten events stay in the returned batch for the next attempt.
func (w *Writer) flush(ctx context.Context, batch []tributary.Event) ([]tributary.Event, error) {
	for {
	fill:
		for len(batch) < w.opt.BatchSize {
			select {
			case e := <-w.ch:
				batch = append(batch, e)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			return batch, nil
		}
		if err := w.store.InsertEvents(ctx, batch); err != nil {
			w.failed.Add(1)
			w.lastErr.Store(err.Error())
			w.opt.Logger.LogAttrs(ctx, slog.LevelWarn, "event batch write failed; will retry",
				slog.Int("batch", len(batch)), slog.Int("buffered", len(w.ch)), slog.Any("err", err))
			return batch, err
		}
		w.markStored(len(batch))
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

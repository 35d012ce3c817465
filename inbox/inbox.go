// Package inbox runs the processor of the durable webhook inbox: it claims pending deliveries with a
// lease (so a crashed process's work is taken over when the lease ends), hands each to a Handler, and
// records the outcome. Processing must be idempotent: a delivery can be handled twice after a crash.
package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tributary/tributary"
)

// Handler processes one delivery and returns its final status (processed or ignored); an error marks
// the delivery failed (replayable) with the error text.
type Handler func(ctx context.Context, d *tributary.Delivery) (status string, err error)

// Options tunes the worker.
type Options struct {
	Store   tributary.WebhookStore
	Handler Handler
	Logger  *slog.Logger
	Now     func() time.Time
	// Lease is how long a claimed delivery stays reserved; after a crash it is reclaimed this late.
	Lease time.Duration
	// Poll is how often the worker looks for work when not notified.
	Poll  time.Duration
	Batch int
	// BatchHandler, when set, processes a claimed batch at once (one unit of work for many deliveries,
	// see stripe.Processor.ApplyBatch) instead of Handler per delivery; it returns one outcome per
	// delivery, in order.
	BatchHandler func(ctx context.Context, ds []*tributary.Delivery) []Outcome
	// Observe, when set, is told the outcome and processing time of every delivery (metrics).
	Observe func(status string, took time.Duration)
	// Yield, when set, tells the worker the store is busy acknowledging new deliveries; the worker then
	// waits briefly (at most YieldMax per delivery) before processing, so acknowledgements stay fast.
	Yield    func() bool
	YieldMax time.Duration
	// Timeout bounds the processing of one delivery (default 1 minute): the handler's context ends
	// then, and a delivery whose handler gives up is marked failed with the error, so one delivery
	// never holds up the rest.
	Timeout time.Duration
}

// Outcome is the result of processing one delivery of a batch.
type Outcome struct {
	Status string
	Err    error
}

// Worker processes the inbox in the background.
type Worker struct {
	opt    Options
	notify chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// New returns a worker; call Start to run it.
func New(opt Options) *Worker {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.Poll <= 0 {
		opt.Poll = 5 * time.Second
	}
	if opt.Batch <= 0 {
		opt.Batch = 100
	}
	if opt.Timeout <= 0 {
		opt.Timeout = time.Minute
	}
	w := &Worker{opt: opt, notify: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	return w
}

// Start runs the worker loop until Close.
func (w *Worker) Start() { go w.loop() }

// Notify wakes the worker: new deliveries are waiting.
func (w *Worker) Notify() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Close stops the worker after the delivery in progress (claimed ones left keep their lease and are
// taken up again); calling it again is harmless.
func (w *Worker) Close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

func (w *Worker) loop() {
	defer close(w.done)
	t := time.NewTicker(w.opt.Poll)
	defer t.Stop()
	backoff := time.Duration(0)
	for {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			// A failing store is retried with a growing pause (100 ms doubling to the poll interval),
			// however often new deliveries wake the worker.
			backoff = min(max(backoff*2, 100*time.Millisecond), w.opt.Poll)
			w.opt.Logger.LogAttrs(context.Background(), slog.LevelWarn, "inbox: claim failed", slog.Any("err", err), slog.Duration("retry_in", backoff))
			select {
			case <-w.stop:
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if n > 0 {
			select {
			case <-w.stop:
				return
			default:
				continue // more may be waiting
			}
		}
		select {
		case <-w.stop:
			return
		case <-w.notify:
		case <-t.C:
		}
	}
}

// RunOnce claims and processes one batch; it returns how many deliveries it handled.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	now := w.opt.Now()
	ds, err := w.opt.Store.ClaimDeliveries(ctx, w.opt.Batch, now, now.Add(w.opt.Lease))
	if err != nil {
		return 0, fmt.Errorf("inbox: claim: %w", err)
	}
	if w.opt.BatchHandler != nil && len(ds) > 0 {
		w.yield()
		w.processBatch(ctx, ds)
		return len(ds), nil
	}
	for i, d := range ds {
		select {
		case <-w.stop:
			// Closing: the rest keep their lease and are processed by the next run (or node).
			return i, nil
		default:
		}
		w.yield()
		w.process(ctx, d)
	}
	return len(ds), nil
}

// processBatch hands the claimed deliveries to BatchHandler as one unit of work and records every
// outcome in one transaction.
func (w *Worker) processBatch(ctx context.Context, ds []*tributary.Delivery) {
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	out := w.safeBatch(hctx, ds)
	timedOut := hctx.Err() != nil
	cancel()
	took := time.Since(start)
	per := took / time.Duration(len(ds))
	fs := make([]tributary.DeliveryOutcome, len(ds))
	now := w.opt.Now()
	for i, d := range ds {
		o := out[i]
		msg := ""
		if o.Err != nil {
			if timedOut {
				o.Err = fmt.Errorf("inbox: processing took longer than %s: %w", w.opt.Timeout, o.Err)
			}
			o.Status, msg = tributary.DeliveryFailed, o.Err.Error()
			w.opt.Logger.LogAttrs(ctx, slog.LevelWarn, "inbox: delivery failed", slog.String("delivery", d.ID), slog.String("event", d.EventID),
				slog.String("type", d.Type), slog.String("error", msg))
		}
		if w.opt.Observe != nil {
			w.opt.Observe(o.Status, per)
		}
		fs[i] = tributary.DeliveryOutcome{ID: d.ID, Status: o.Status, Error: msg, ProcessingMS: per.Milliseconds(), At: now}
	}
	if err := w.opt.Store.FinishDeliveries(ctx, fs); err != nil {
		// The leases will expire and the deliveries be processed again; processing is idempotent.
		w.opt.Logger.LogAttrs(ctx, slog.LevelWarn, "inbox: could not record outcomes", slog.Int("deliveries", len(ds)), slog.Any("err", err))
	}
}

// safeBatch turns a batch handler panic into failed deliveries.
func (w *Worker) safeBatch(ctx context.Context, ds []*tributary.Delivery) (out []Outcome) {
	defer func() {
		if v := recover(); v != nil {
			out = make([]Outcome, len(ds))
			for i := range out {
				out[i].Err = fmt.Errorf("inbox: handler panic: %v", v)
			}
		}
	}()
	out = w.opt.BatchHandler(ctx, ds)
	if len(out) != len(ds) {
		panic(fmt.Sprintf("batch handler returned %d outcomes for %d deliveries", len(out), len(ds)))
	}
	return out
}

// yield waits while the intake is busy, up to YieldMax, so processing never starves.
func (w *Worker) yield() {
	if w.opt.Yield == nil {
		return
	}
	limit := w.opt.YieldMax
	if limit <= 0 {
		limit = 20 * time.Millisecond
	}
	for waited := time.Duration(0); waited < limit && w.opt.Yield(); waited += time.Millisecond {
		time.Sleep(time.Millisecond)
	}
}

func (w *Worker) process(ctx context.Context, d *tributary.Delivery) {
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	status, err := w.safeHandle(hctx, d)
	if err != nil && hctx.Err() != nil {
		err = fmt.Errorf("inbox: processing took longer than %s: %w", w.opt.Timeout, err)
	}
	cancel()
	msg := ""
	if err != nil {
		status, msg = tributary.DeliveryFailed, err.Error()
	}
	took := time.Since(start)
	if w.opt.Observe != nil {
		w.opt.Observe(status, took)
	}
	if ferr := w.opt.Store.FinishDelivery(ctx, d.ID, status, msg, took.Milliseconds(), w.opt.Now()); ferr != nil {
		// The lease will expire and the delivery be processed again; processing is idempotent.
		w.opt.Logger.LogAttrs(ctx, slog.LevelWarn, "inbox: could not record outcome", slog.String("delivery", d.ID), slog.Any("err", ferr))
		return
	}
	lvl := slog.LevelDebug
	if err != nil {
		lvl = slog.LevelWarn
	}
	w.opt.Logger.LogAttrs(ctx, lvl, "inbox: delivery handled", slog.String("delivery", d.ID), slog.String("event", d.EventID),
		slog.String("type", d.Type), slog.String("status", status), slog.String("error", msg), slog.Duration("took", took))
}

// safeHandle turns a handler panic into a failed delivery instead of a dead worker.
func (w *Worker) safeHandle(ctx context.Context, d *tributary.Delivery) (status string, err error) {
	defer func() {
		if v := recover(); v != nil {
			status, err = "", fmt.Errorf("inbox: handler panic: %v", v)
		}
	}()
	return w.opt.Handler(ctx, d)
}

// BacklogCache reads the inbox backlog from the store at most once per TTL, so that frequent scrapes
// of /metrics cost one small query every few seconds whatever their rate.
type BacklogCache struct {
	store tributary.WebhookStore
	ttl   time.Duration
	mu    sync.Mutex
	at    time.Time
	last  tributary.InboxBacklog
}

// NewBacklogCache returns a cache of store's overall backlog, refreshed at most every ttl.
func NewBacklogCache(store tributary.WebhookStore, ttl time.Duration) *BacklogCache {
	return &BacklogCache{store: store, ttl: ttl}
}

// Get returns how many deliveries wait and how old the oldest is (the last known values when the
// store cannot answer).
func (c *BacklogCache) Get() (waiting int64, oldest time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		b, err := c.store.InboxBacklog(ctx, "")
		cancel()
		if err == nil {
			c.last, c.at = b, now
		}
	}
	if c.last.Waiting == 0 || c.last.Oldest.IsZero() {
		return c.last.Waiting, 0
	}
	return c.last.Waiting, max(0, now.Sub(c.last.Oldest))
}

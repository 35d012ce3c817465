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
	// Observe, when set, is told the outcome and processing time of every delivery (metrics).
	Observe func(status string, took time.Duration)
	// Yield, when set, tells the worker the store is busy acknowledging new deliveries; the worker then
	// waits briefly (at most YieldMax per delivery) before processing, so acknowledgements stay fast.
	Yield    func() bool
	YieldMax time.Duration
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
	for {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			w.opt.Logger.LogAttrs(context.Background(), slog.LevelWarn, "inbox: claim failed", slog.Any("err", err))
		}
		if n > 0 && err == nil {
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
	status, err := w.safeHandle(ctx, d)
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

package duckdb

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary/tributary"

	"github.com/tributary/tributary/store/sqlmeta"
)

// Webhook acknowledgements are bounded by the commit: DuckDB writes and syncs its WAL once per
// transaction, a few milliseconds on an ordinary disk, and the intake must commit before it answers.
// Committing each delivery on its own caps intake at a few hundred per second and lets the queue grow
// into long tails under load. The group committer instead puts every delivery that arrives while a
// commit is in flight into the next one, so latency stays near two commits whatever the rate.

const (
	// maxGroup bounds one transaction (13 parameters per delivery).
	maxGroup = 128
	// groupTimeout bounds one group transaction; its callers see their own contexts.
	groupTimeout = 10 * time.Second
)

type recordReq struct {
	d    *tributary.Delivery
	done chan recordRes
}

type recordRes struct {
	dup bool
	err error
}

// groupCommitter owns the goroutine that commits deliveries in groups.
type groupCommitter struct {
	busy atomic.Int32 // deliveries queued or being committed
	reqs chan *recordReq
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func (s *Store) startGroupCommit() {
	s.group = &groupCommitter{reqs: make(chan *recordReq, 4*maxGroup), stop: make(chan struct{})}
	s.group.wg.Add(1)
	go s.groupLoop()
}

// IntakeBusy reports whether webhook deliveries are waiting to be committed, so background work on the
// same database (the inbox processor) can step aside for a moment: the acknowledgement is what Stripe
// times, processing can wait a few milliseconds.
func (s *Store) IntakeBusy() bool {
	return s.group != nil && (s.group.busy.Load() == 1 || len(s.group.reqs) > 0)
}

func (s *Store) stopGroupCommit() {
	if s.group == nil {
		return
	}
	s.group.once.Do(func() { close(s.group.stop) })
	s.group.wg.Wait()
}

func (s *Store) groupLoop() {
	g := s.group
	defer g.wg.Done()
	for {
		var first *recordReq
		select {
		case first = <-g.reqs:
		case <-g.stop:
			// Answer whoever is still queued so no caller waits forever.
			for {
				select {
				case r := <-g.reqs:
					r.done <- recordRes{err: unavailable("record delivery", fmt.Errorf("store closing"))}
				default:
					return
				}
			}
		}
		g.busy.Store(1)
		batch := []*recordReq{first}
	drain:
		for len(batch) < maxGroup {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commitGroup(batch)
		if len(g.reqs) == 0 {
			g.busy.Store(0)
		}
	}
}

// commitGroup commits batch in one transaction, or, when that fails, each delivery on its own so one
// bad row cannot fail the others.
func (s *Store) commitGroup(batch []*recordReq) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	// No inboxMu: this goroutine is the only writer of new deliveries and event ids, and the processor's
	// updates touch only rows committed before, so waiting for its commits would only add latency.
	dups, err := s.recordGroup(ctx, batch)
	if err != nil {
		for _, r := range batch {
			dup, err := s.recordDeliveryRetrying(ctx, r.d)
			r.done <- recordRes{dup: dup, err: err}
		}
		return
	}
	for i, r := range batch {
		if dups[i] {
			r.d.Status = tributary.DeliveryDuplicate
		}
		r.done <- recordRes{dup: dups[i]}
	}
}

// recordGroup claims the event ids of the pending deliveries and inserts every delivery, in one
// transaction; dups[i] tells whether batch[i]'s event had been received before (or earlier in batch).
func (s *Store) recordGroup(ctx context.Context, batch []*recordReq) ([]bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	type key struct{ site, event string }
	dups := make([]bool, len(batch))
	candidates := map[key]int{} // first pending delivery of each event in the batch
	var vals []string
	var args []any
	for i, r := range batch {
		if r.d.Status != tributary.DeliveryPending {
			continue
		}
		k := key{r.d.SiteID, r.d.EventID}
		if _, seen := candidates[k]; seen {
			dups[i] = true
			continue
		}
		candidates[k] = i
		vals = append(vals, fmt.Sprintf("($%d, $%d)", len(args)+1, len(args)+2))
		args = append(args, k.site, k.event)
	}
	if len(vals) > 0 {
		rows, err := tx.QueryContext(ctx, `INSERT INTO stripe_event_ids (site_id, event_id) VALUES `+strings.Join(vals, ",")+
			` ON CONFLICT DO NOTHING RETURNING site_id, event_id`, args...)
		if err != nil {
			return nil, err
		}
		claimed := map[key]bool{}
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.site, &k.event); err != nil {
				rows.Close()
				return nil, err
			}
			claimed[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for k, i := range candidates {
			if !claimed[k] {
				dups[i] = true
			}
		}
	}

	vals, args = vals[:0], args[:0]
	for i, r := range batch {
		d := r.d
		status, payload := d.Status, d.Payload
		if dups[i] {
			status, payload = tributary.DeliveryDuplicate, nil
		}
		n := len(args)
		ph := make([]string, 13)
		for j := range ph {
			ph[j] = fmt.Sprintf("$%d", n+j+1)
		}
		vals = append(vals, "("+strings.Join(ph[:12], ",")+",NULL,0,NULL,"+ph[12]+")")
		args = append(args, d.ID, d.SiteID, d.EndpointID, d.ReceivedAt.UTC(), d.EventID, d.Type, d.APIVersion, d.Livemode,
			d.EventCreated.UTC(), status, d.Error, d.Attempts, payload)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+sqlmeta.DeliveryCols+`, lease_until, payload) VALUES `+strings.Join(vals, ","), args...); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return dups, nil
}

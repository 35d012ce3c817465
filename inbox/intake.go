package inbox

import (
	"context"
	"fmt"

	"github.com/tributary/tributary"
)

// Intake is the webhook intake the HTTP layer calls: it finds endpoints, commits deliveries and replays
// to the inbox, and wakes the worker whenever that leaves work for it, so no handler has to remember to.
type Intake struct {
	// Store is the MetaStore (in serve, the caching wrapper that keeps endpoints in memory).
	Store tributary.WebhookStore
	// Worker is woken after new work is committed; nil leaves it to the worker's next poll (or to no
	// worker at all, in tests of the intake alone).
	Worker interface{ Notify() }
}

// Endpoint returns a webhook endpoint with its secrets, ENOTFOUND for an unknown id.
func (i *Intake) Endpoint(ctx context.Context, id string) (*tributary.StripeEndpoint, error) {
	return i.Store.StripeEndpoint(ctx, id)
}

// Record commits a delivery (pending, or rejected for the delivery log) and reports whether its event
// was already recorded; a new pending delivery wakes the worker.
func (i *Intake) Record(ctx context.Context, d *tributary.Delivery) (bool, error) {
	dup, err := i.Store.RecordDelivery(ctx, d)
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	if !dup && d.Status == tributary.DeliveryPending {
		i.notify()
	}
	return dup, nil
}

// Replay puts one accepted delivery of a site back to pending.
func (i *Intake) Replay(ctx context.Context, siteID, id string) error {
	if err := i.Store.ReplayDelivery(ctx, siteID, id); err != nil {
		return fmt.Errorf("replay delivery: %w", err)
	}
	i.notify()
	return nil
}

// ReplayFailed puts every failed delivery of a site back to pending and returns how many.
func (i *Intake) ReplayFailed(ctx context.Context, siteID string) (int, error) {
	n, err := i.Store.ReplayFailed(ctx, siteID)
	if err != nil {
		return 0, fmt.Errorf("replay failed deliveries: %w", err)
	}
	if n > 0 {
		i.notify()
	}
	return n, nil
}

func (i *Intake) notify() {
	if i.Worker != nil {
		i.Worker.Notify()
	}
}

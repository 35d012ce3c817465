package postgres

import (
	"context"
	"sort"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// RecordDelivery commits a delivery; see tributary.WebhookStore. PostgreSQL makes a second insert of the
// same event id wait for the first to commit and then do nothing, so the duplicate is told apart
// without retries, across nodes too.
func (s *Store) RecordDelivery(ctx context.Context, d *tributary.Delivery) (bool, error) {
	dup, err := s.RecordDeliveryOnce(ctx, d)
	if err != nil {
		return false, unavailable("record delivery", err)
	}
	return dup, nil
}

// ClaimDeliveries leases pending work; a lease left by a crashed node is taken over once it ends. SKIP
// LOCKED lets several nodes claim at once without ever claiming the same delivery.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, now, leaseUntil time.Time) ([]*tributary.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `UPDATE webhook_deliveries SET status = 'processing', lease_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' OR (status = 'processing' AND lease_until < $1)
			ORDER BY event_created, received_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+sqlmeta.DeliveryCols+`, payload`, now.UTC(), leaseUntil.UTC(), limit)
	if err != nil {
		return nil, unavailable("claim deliveries", err)
	}
	defer rows.Close()
	var out []*tributary.Delivery
	for rows.Next() {
		d, err := sqlmeta.ScanDelivery(rows, true)
		if err != nil {
			return nil, mapErr("claim deliveries", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("claim deliveries", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.EventCreated.Equal(b.EventCreated) {
			return a.EventCreated.Before(b.EventCreated)
		}
		if !a.ReceivedAt.Equal(b.ReceivedAt) {
			return a.ReceivedAt.Before(b.ReceivedAt)
		}
		return a.ID < b.ID
	})
	return out, nil
}

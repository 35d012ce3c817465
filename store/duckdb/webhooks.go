package duckdb

import (
	"context"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// RecordDelivery commits a delivery; see tributary.WebhookStore. Deliveries arriving together share
// one commit (groupcommit.go); the call returns once its own delivery is durable.
func (s *Store) RecordDelivery(ctx context.Context, d *tributary.Delivery) (bool, error) {
	req := &recordReq{d: d, done: make(chan recordRes, 1)}
	select {
	case s.group.reqs <- req:
	case <-ctx.Done():
		return false, unavailable("record delivery", ctx.Err())
	}
	select {
	case res := <-req.done:
		return res.dup, res.err
	case <-ctx.Done():
		// The group may still commit it; the sender's retry then becomes a duplicate, stored once.
		return false, unavailable("record delivery", ctx.Err())
	}
}

// recordDeliveryRetrying commits one delivery on its own (the group committer's fallback).
func (s *Store) recordDeliveryRetrying(ctx context.Context, d *tributary.Delivery) (bool, error) {
	for attempt := 0; ; attempt++ {
		dup, err := s.RecordDeliveryOnce(ctx, d)
		if err == nil {
			return dup, nil
		}
		// DuckDB resolves concurrent inserts of the same key with a commit conflict: retry, and the
		// second round sees the winner's row and records a duplicate.
		if attempt < 5 && (strings.Contains(err.Error(), "onflict") || strings.Contains(err.Error(), "constraint violation")) {
			continue
		}
		return false, unavailable("record delivery", err)
	}
}

// ClaimDeliveries leases pending work; a lease left by a crashed process is taken over once it ends.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, now, leaseUntil time.Time) ([]*tributary.Delivery, error) {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable("claim deliveries", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+sqlmeta.DeliveryCols+`, payload FROM webhook_deliveries
		WHERE status = 'pending' OR (status = 'processing' AND lease_until < $1)
		ORDER BY event_created, received_at, id LIMIT $2`, now.UTC(), limit)
	if err != nil {
		return nil, mapErr("claim deliveries", err)
	}
	var out []*tributary.Delivery
	for rows.Next() {
		d, err := sqlmeta.ScanDelivery(rows, true)
		if err != nil {
			rows.Close()
			return nil, mapErr("claim deliveries", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if len(out) > 0 {
		// One statement for the whole claim: DuckDB pays about a millisecond per executed statement.
		args := []any{leaseUntil.UTC()}
		for _, d := range out {
			args = append(args, d.ID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'processing', lease_until = $1, attempts = attempts + 1 WHERE id IN (`+
			placeholders(2, len(out))+`)`, args...); err != nil {
			return nil, mapErr("claim deliveries", err)
		}
	}
	for _, d := range out {
		d.Status = tributary.DeliveryProcessing
		d.Attempts++
	}
	if err := tx.Commit(); err != nil {
		return nil, unavailable("claim deliveries commit", err)
	}
	return out, nil
}

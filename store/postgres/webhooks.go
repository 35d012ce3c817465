package postgres

import (
	"context"
	"database/sql"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

const endpointCols = `id, site_id, mode, secrets, created_at, updated_at`

func scanEndpoint(row interface{ Scan(...any) error }) (*tributary.StripeEndpoint, error) {
	e := &tributary.StripeEndpoint{}
	var secrets string
	if err := row.Scan(&e.ID, &e.SiteID, &e.Mode, &secrets, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return nil, err
	}
	e.Secrets = strings.Fields(secrets)
	return e, nil
}

// CreateStripeEndpoint stores an endpoint.
func (s *Store) CreateStripeEndpoint(ctx context.Context, e *tributary.StripeEndpoint) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO stripe_endpoints (`+endpointCols+`) VALUES ($1,$2,$3,$4,$5,$6)`,
		e.ID, e.SiteID, e.Mode, strings.Join(e.Secrets, " "), e.CreatedAt.UTC(), e.UpdatedAt.UTC())
	return mapErr("create stripe endpoint", err)
}

// StripeEndpoint returns one endpoint by its id.
func (s *Store) StripeEndpoint(ctx context.Context, id string) (*tributary.StripeEndpoint, error) {
	e, err := scanEndpoint(s.db.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM stripe_endpoints WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("stripe endpoint", id)
	}
	return e, mapErr("get stripe endpoint", err)
}

// StripeEndpoints lists a site's endpoints.
func (s *Store) StripeEndpoints(ctx context.Context, siteID string) ([]*tributary.StripeEndpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+endpointCols+` FROM stripe_endpoints WHERE site_id = $1 ORDER BY created_at, id`, siteID)
	if err != nil {
		return nil, mapErr("list stripe endpoints", err)
	}
	defer rows.Close()
	var out []*tributary.StripeEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, mapErr("list stripe endpoints", err)
		}
		out = append(out, e)
	}
	return out, mapErr("list stripe endpoints", rows.Err())
}

// UpdateStripeEndpoint replaces the secrets of an endpoint.
func (s *Store) UpdateStripeEndpoint(ctx context.Context, e *tributary.StripeEndpoint) error {
	res, err := s.db.ExecContext(ctx, `UPDATE stripe_endpoints SET secrets = $3, updated_at = $4 WHERE site_id = $1 AND id = $2`,
		e.SiteID, e.ID, strings.Join(e.Secrets, " "), e.UpdatedAt.UTC())
	if err != nil {
		return mapErr("update stripe endpoint", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("stripe endpoint", e.ID)
	}
	return nil
}

// DeleteStripeEndpoint removes an endpoint; its delivery log stays for the record.
func (s *Store) DeleteStripeEndpoint(ctx context.Context, siteID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM stripe_endpoints WHERE site_id = $1 AND id = $2`, siteID, id)
	if err != nil {
		return mapErr("delete stripe endpoint", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("stripe endpoint", id)
	}
	return nil
}

const deliveryCols = `id, site_id, endpoint_id, received_at, event_id, type, api_version, livemode, event_created, status, error,
	attempts, processed_at, processing_ms`

func scanDelivery(row interface{ Scan(...any) error }, withPayload bool) (*tributary.Delivery, error) {
	d := &tributary.Delivery{}
	var processed sql.NullTime
	dest := []any{&d.ID, &d.SiteID, &d.EndpointID, &d.ReceivedAt, &d.EventID, &d.Type, &d.APIVersion, &d.Livemode, &d.EventCreated,
		&d.Status, &d.Error, &d.Attempts, &processed, &d.ProcessingMS}
	if withPayload {
		dest = append(dest, &d.Payload)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if processed.Valid {
		t := processed.Time
		d.ProcessedAt = &t
	}
	return d, nil
}

func insertDelivery(ctx context.Context, tx *sql.Tx, d *tributary.Delivery) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+deliveryCols+`, lease_until, payload)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,NULL,0,NULL,$13)`,
		d.ID, d.SiteID, d.EndpointID, d.ReceivedAt.UTC(), d.EventID, d.Type, d.APIVersion, d.Livemode, d.EventCreated.UTC(),
		d.Status, d.Error, d.Attempts, d.Payload)
	return err
}

// RecordDelivery commits a delivery; see tributary.WebhookStore. PostgreSQL makes a second insert of the
// same event id wait for the first to commit and then do nothing, so the duplicate is told apart
// without retries, across nodes too.
func (s *Store) RecordDelivery(ctx context.Context, d *tributary.Delivery) (bool, error) {
	dup, err := s.recordDelivery(ctx, d)
	if err != nil {
		return false, unavailable("record delivery", err)
	}
	return dup, nil
}

func (s *Store) recordDelivery(ctx context.Context, d *tributary.Delivery) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	dup := false
	if d.Status == tributary.DeliveryPending {
		res, err := tx.ExecContext(ctx, `INSERT INTO stripe_event_ids (site_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, d.SiteID, d.EventID)
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dup = true
		}
	}
	row := *d
	if dup {
		row.Status, row.Payload = tributary.DeliveryDuplicate, nil
	}
	if err := insertDelivery(ctx, tx, &row); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	d.Status = row.Status
	return dup, nil
}

// ClaimDeliveries leases pending work; a lease left by a crashed node is taken over once it ends. SKIP
// LOCKED lets several nodes claim at once without ever claiming the same delivery.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, now, leaseUntil time.Time) ([]*tributary.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `UPDATE webhook_deliveries SET status = 'processing', lease_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' OR (status = 'processing' AND lease_until < $1)
			ORDER BY event_created, received_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryCols+`, payload`, now.UTC(), leaseUntil.UTC(), limit)
	if err != nil {
		return nil, unavailable("claim deliveries", err)
	}
	defer rows.Close()
	var out []*tributary.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows, true)
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

// FinishDelivery records a processing outcome.
func (s *Store) FinishDelivery(ctx context.Context, id, status, errMsg string, processingMS int64, at time.Time) error {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	_, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $2, error = $3, processing_ms = $4, processed_at = $5, lease_until = NULL WHERE id = $1`,
		id, status, errMsg, processingMS, at.UTC())
	return mapErr("finish delivery", err)
}

// Deliveries lists the log, newest first.
func (s *Store) Deliveries(ctx context.Context, f tributary.DeliveryFilter) ([]*tributary.Delivery, error) {
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE site_id = $1`
	args := []any{f.SiteID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += " AND " + strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args)))
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if !f.From.IsZero() {
		add("received_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("received_at < ?", f.To.UTC())
	}
	if f.Before != "" {
		add("(received_at, id) < (SELECT received_at, id FROM webhook_deliveries WHERE id = ?)", f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q += " ORDER BY received_at DESC, id DESC LIMIT " + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr("list deliveries", err)
	}
	defer rows.Close()
	var out []*tributary.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows, false)
		if err != nil {
			return nil, mapErr("list deliveries", err)
		}
		out = append(out, d)
	}
	return out, mapErr("list deliveries", rows.Err())
}

// Delivery returns one delivery with its payload.
func (s *Store) Delivery(ctx context.Context, siteID, id string) (*tributary.Delivery, error) {
	d, err := scanDelivery(s.db.QueryRowContext(ctx, `SELECT `+deliveryCols+`, payload FROM webhook_deliveries WHERE site_id = $1 AND id = $2`, siteID, id), true)
	if err == sql.ErrNoRows {
		return nil, notFound("delivery", id)
	}
	return d, mapErr("get delivery", err)
}

// ReplayDelivery re-queues an accepted delivery; processing is idempotent, so replaying is safe.
func (s *Store) ReplayDelivery(ctx context.Context, siteID, id string) error {
	d, err := s.Delivery(ctx, siteID, id)
	if err != nil {
		return err
	}
	if len(d.Payload) == 0 || d.Status == tributary.DeliveryRejected || d.Status == tributary.DeliveryDuplicate {
		return tributary.Errorf(tributary.ECONFLICT, "delivery %s was %s and has no stored event to replay; replay the original delivery of event %s", id, d.Status, d.EventID)
	}
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	_, err = s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL WHERE site_id = $1 AND id = $2`, siteID, id)
	return mapErr("replay delivery", err)
}

// ReplayFailed re-queues every failed delivery of the site.
func (s *Store) ReplayFailed(ctx context.Context, siteID string) (int, error) {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL WHERE site_id = $1 AND status = 'failed'`, siteID)
	if err != nil {
		return 0, mapErr("replay failed deliveries", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ReleaseLeases returns deliveries a crashed process was handling to the queue.
func (s *Store) ReleaseLeases(ctx context.Context) (int, error) {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL WHERE status = 'processing'`)
	if err != nil {
		return 0, mapErr("release leases", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

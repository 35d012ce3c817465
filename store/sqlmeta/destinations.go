package sqlmeta

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/tributary/tributary"
)

// CreateDestination inserts a destination.
func (s *Store) CreateDestination(ctx context.Context, d *tributary.Destination) error {
	cfg, err := json.Marshal(d.Config)
	if err != nil {
		return err
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO destinations (id, site_id, type, name, config, sealed_secret, enabled, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		d.ID, d.SiteID, d.Type, d.Name, string(cfg), d.SealedSecret, d.Enabled, d.CreatedAt.UTC())
	return s.mapErr("create destination", err)
}

const destCols = `id, site_id, type, name, config, sealed_secret, enabled, created_at`

func scanDestination(row Scanner) (*tributary.Destination, error) {
	d := &tributary.Destination{}
	var cfg string
	if err := row.Scan(&d.ID, &d.SiteID, &d.Type, &d.Name, &cfg, &d.SealedSecret, &d.Enabled, &d.CreatedAt); err != nil {
		return nil, err
	}
	d.CreatedAt = d.CreatedAt.UTC()
	d.Config = map[string]string{}
	if err := json.Unmarshal([]byte(cfg), &d.Config); err != nil {
		return nil, err
	}
	return d, nil
}

// Destination reads one destination of a site.
func (s *Store) Destination(ctx context.Context, siteID, id string) (*tributary.Destination, error) {
	d, err := scanDestination(s.DB.QueryRowContext(ctx, `SELECT `+destCols+` FROM destinations WHERE site_id = $1 AND id = $2`, siteID, id))
	if err == sql.ErrNoRows {
		return nil, NotFound("destination", id)
	}
	return d, s.mapErr("read destination", err)
}

// Destinations lists a site's destinations, oldest first.
func (s *Store) Destinations(ctx context.Context, siteID string) ([]*tributary.Destination, error) {
	out, err := Query(ctx, s.DB, scanDestination, `SELECT `+destCols+` FROM destinations WHERE site_id = $1 ORDER BY created_at, id`, siteID)
	return out, s.mapErr("list destinations", err)
}

// UpdateDestination stores a destination's changeable fields.
func (s *Store) UpdateDestination(ctx context.Context, d *tributary.Destination) error {
	cfg, err := json.Marshal(d.Config)
	if err != nil {
		return err
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE destinations SET name = $1, config = $2, sealed_secret = $3, enabled = $4 WHERE site_id = $5 AND id = $6`,
		d.Name, string(cfg), d.SealedSecret, d.Enabled, d.SiteID, d.ID)
	if err != nil {
		return s.mapErr("update destination", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("destination", d.ID)
	}
	return nil
}

// DeleteDestination removes a destination and its outbox.
func (s *Store) DeleteDestination(ctx context.Context, siteID, id string) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return s.unavailable("delete destination", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM destinations WHERE site_id = $1 AND id = $2`, siteID, id)
	if err != nil {
		return s.mapErr("delete destination", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("destination", id)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM destination_deliveries WHERE site_id = $1 AND destination_id = $2`, siteID, id); err != nil {
		return s.mapErr("delete destination deliveries", err)
	}
	return s.mapErr("delete destination", tx.Commit())
}

// EnqueueOutbox inserts outbox rows new by (destination, entry).
func (s *Store) EnqueueOutbox(ctx context.Context, ds []tributary.DestinationDelivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	s.Writes.Lock()
	defer s.Writes.Unlock()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.unavailable("enqueue deliveries", err)
	}
	defer tx.Rollback()
	n := 0
	for _, d := range ds {
		res, err := tx.ExecContext(ctx, `INSERT INTO destination_deliveries (id, site_id, destination_id, entry_id, payment_id, kind, livemode, status, attempts, next_attempt_at, last_error, request, response, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT DO NOTHING`,
			d.ID, d.SiteID, d.DestinationID, d.EntryID, d.PaymentID, d.Kind, d.Livemode, d.Status, d.Attempts, d.NextAttemptAt.UTC(), d.LastError, d.Request, d.Response, d.CreatedAt.UTC())
		if err != nil {
			return 0, s.mapErr("enqueue deliveries", err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.mapErr("enqueue deliveries", err)
	}
	return n, nil
}

const deliveryCols = `id, site_id, destination_id, entry_id, payment_id, kind, livemode, status, attempts, next_attempt_at, last_error, request, response, created_at, sent_at`

func scanDelivery(row Scanner) (tributary.DestinationDelivery, error) {
	var d tributary.DestinationDelivery
	var sent sql.NullTime
	if err := row.Scan(&d.ID, &d.SiteID, &d.DestinationID, &d.EntryID, &d.PaymentID, &d.Kind, &d.Livemode, &d.Status, &d.Attempts, &d.NextAttemptAt, &d.LastError, &d.Request, &d.Response, &d.CreatedAt, &sent); err != nil {
		return d, err
	}
	d.NextAttemptAt, d.CreatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC()
	if sent.Valid {
		t := sent.Time.UTC()
		d.SentAt = &t
	}
	return d, nil
}

func (s *Store) queryDeliveries(ctx context.Context, op, q string, args ...any) ([]tributary.DestinationDelivery, error) {
	out, err := Query(ctx, s.DB, scanDelivery, q, args...)
	return out, s.mapErr(op, err)
}

// ClaimOutbox takes due pending rows that no live claim holds: each is claimed by setting its lease only
// if no other sender did meanwhile, so two senders never take one row.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]tributary.DestinationDelivery, error) {
	due, err := s.queryDeliveries(ctx, "claim deliveries", `SELECT `+deliveryCols+` FROM destination_deliveries
		WHERE status = $1 AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2) ORDER BY next_attempt_at, id LIMIT $3`,
		tributary.OutboxPending, now.UTC(), limit)
	if err != nil || len(due) == 0 {
		return nil, err
	}
	s.Writes.Lock()
	defer s.Writes.Unlock()
	until := now.Add(lease).UTC()
	out := due[:0]
	for _, d := range due {
		res, err := s.DB.ExecContext(ctx, `UPDATE destination_deliveries SET lease_until = $1 WHERE id = $2 AND status = $3 AND (lease_until IS NULL OR lease_until <= $4)`,
			until, d.ID, tributary.OutboxPending, now.UTC())
		if err != nil {
			return nil, s.mapErr("claim delivery", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out = append(out, d)
		}
	}
	return out, nil
}

// ReleaseOutboxLeases ends every claim (the embedded store at start: its one owner's previous run is
// dead); it returns how many rows were claimed.
func (s *Store) ReleaseOutboxLeases(ctx context.Context) (int, error) {
	s.Writes.Lock()
	defer s.Writes.Unlock()
	res, err := s.DB.ExecContext(ctx, `UPDATE destination_deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL`)
	if err != nil {
		return 0, s.mapErr("release outbox leases", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// UpdateOutbox stores a row's state after an attempt or a replay.
func (s *Store) UpdateOutbox(ctx context.Context, d *tributary.DestinationDelivery) error {
	s.Writes.Lock()
	defer s.Writes.Unlock()
	var sent any
	if d.SentAt != nil {
		sent = d.SentAt.UTC()
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE destination_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4, request = $5, response = $6, sent_at = $7, lease_until = NULL WHERE id = $8`,
		d.Status, d.Attempts, d.NextAttemptAt.UTC(), d.LastError, d.Request, d.Response, sent, d.ID)
	if err != nil {
		return s.mapErr("update delivery", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("delivery", d.ID)
	}
	return nil
}

// DestinationDelivery reads one outbox row.
func (s *Store) DestinationDelivery(ctx context.Context, siteID, destinationID, id string) (*tributary.DestinationDelivery, error) {
	d, err := scanDelivery(s.DB.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM destination_deliveries WHERE site_id = $1 AND destination_id = $2 AND id = $3`, siteID, destinationID, id))
	if err == sql.ErrNoRows {
		return nil, NotFound("delivery", id)
	}
	if err != nil {
		return nil, s.mapErr("read delivery", err)
	}
	return &d, nil
}

// DestinationDeliveries lists a destination's newest rows first.
func (s *Store) DestinationDeliveries(ctx context.Context, siteID, destinationID string, limit int) ([]tributary.DestinationDelivery, error) {
	return s.queryDeliveries(ctx, "list deliveries", `SELECT `+deliveryCols+` FROM destination_deliveries WHERE site_id = $1 AND destination_id = $2 ORDER BY created_at DESC, entry_id DESC LIMIT $3`, siteID, destinationID, limit)
}

// CountOutbox counts rows per destination and state.
func (s *Store) CountOutbox(ctx context.Context) ([]tributary.DeliveryCount, error) {
	out, err := Query(ctx, s.DB, scanDeliveryCount, `SELECT d.destination_id, t.type, d.status, count(*) FROM destination_deliveries d JOIN destinations t ON t.id = d.destination_id GROUP BY d.destination_id, t.type, d.status ORDER BY 1, 3`)
	return out, s.mapErr("count deliveries", err)
}

// ConsentRequired reads a site's consent switch (off when never set).
func (s *Store) ConsentRequired(ctx context.Context, siteID string) (bool, error) {
	var on bool
	err := s.DB.QueryRowContext(ctx, `SELECT consent_required FROM destination_settings WHERE site_id = $1`, siteID).Scan(&on)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return on, s.mapErr("read consent switch", err)
}

// SetConsentRequired stores a site's consent switch.
func (s *Store) SetConsentRequired(ctx context.Context, siteID string, on bool) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO destination_settings (site_id, consent_required, model) VALUES ($1, $2, '') ON CONFLICT (site_id) DO UPDATE SET consent_required = excluded.consent_required`, siteID, on)
	return s.mapErr("set consent switch", err)
}

// AttributionModel reads a site's destinations' model ("" when never set).
func (s *Store) AttributionModel(ctx context.Context, siteID string) (string, error) {
	var m string
	err := s.DB.QueryRowContext(ctx, `SELECT model FROM destination_settings WHERE site_id = $1`, siteID).Scan(&m)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return m, s.mapErr("read attribution model", err)
}

// SetAttributionModel stores a site's destinations' model.
func (s *Store) SetAttributionModel(ctx context.Context, siteID, model string) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO destination_settings (site_id, consent_required, model) VALUES ($1, false, $2) ON CONFLICT (site_id) DO UPDATE SET model = excluded.model`, siteID, model)
	return s.mapErr("set attribution model", err)
}

func scanDeliveryCount(row Scanner) (c tributary.DeliveryCount, err error) {
	err = row.Scan(&c.DestinationID, &c.Type, &c.Status, &c.Count)
	return c, err
}

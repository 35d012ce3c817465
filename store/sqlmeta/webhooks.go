package sqlmeta

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

const endpointCols = `id, site_id, mode, secrets, created_at, updated_at`

func scanEndpoint(row Scanner) (*tributary.StripeEndpoint, error) {
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
	_, err := s.DB.ExecContext(ctx, `INSERT INTO stripe_endpoints (`+endpointCols+`) VALUES ($1,$2,$3,$4,$5,$6)`,
		e.ID, e.SiteID, e.Mode, strings.Join(e.Secrets, " "), e.CreatedAt.UTC(), e.UpdatedAt.UTC())
	return s.mapErr("create stripe endpoint", err)
}

// StripeEndpoint returns one endpoint by its id.
func (s *Store) StripeEndpoint(ctx context.Context, id string) (*tributary.StripeEndpoint, error) {
	e, err := scanEndpoint(s.DB.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM stripe_endpoints WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, NotFound("stripe endpoint", id)
	}
	return e, s.mapErr("get stripe endpoint", err)
}

// StripeEndpoints lists a site's endpoints.
func (s *Store) StripeEndpoints(ctx context.Context, siteID string) ([]*tributary.StripeEndpoint, error) {
	out, err := Query(ctx, s.DB, scanEndpoint, `SELECT `+endpointCols+` FROM stripe_endpoints WHERE site_id = $1 ORDER BY created_at, id`, siteID)
	return out, s.mapErr("list stripe endpoints", err)
}

// UpdateStripeEndpoint replaces the secrets of an endpoint.
func (s *Store) UpdateStripeEndpoint(ctx context.Context, e *tributary.StripeEndpoint) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE stripe_endpoints SET secrets = $3, updated_at = $4 WHERE site_id = $1 AND id = $2`,
		e.SiteID, e.ID, strings.Join(e.Secrets, " "), e.UpdatedAt.UTC())
	if err != nil {
		return s.mapErr("update stripe endpoint", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("stripe endpoint", e.ID)
	}
	return nil
}

// DeleteStripeEndpoint removes an endpoint; its delivery log stays for the record.
func (s *Store) DeleteStripeEndpoint(ctx context.Context, siteID, id string) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM stripe_endpoints WHERE site_id = $1 AND id = $2`, siteID, id)
	if err != nil {
		return s.mapErr("delete stripe endpoint", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("stripe endpoint", id)
	}
	return nil
}

// DeliveryCols are the webhook_deliveries columns ScanDelivery reads, payload apart.
const DeliveryCols = `id, site_id, endpoint_id, received_at, event_id, type, api_version, livemode, event_created, status, error,
	attempts, processed_at, processing_ms`

// ScanDelivery reads a row of DeliveryCols (and the payload after them when withPayload).
func ScanDelivery(row Scanner, withPayload bool) (*tributary.Delivery, error) {
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
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+DeliveryCols+`, lease_until, payload)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,NULL,0,NULL,$13)`,
		d.ID, d.SiteID, d.EndpointID, d.ReceivedAt.UTC(), d.EventID, d.Type, d.APIVersion, d.Livemode, d.EventCreated.UTC(),
		d.Status, d.Error, d.Attempts, d.Payload)
	return err
}

// RecordDeliveryOnce stores a delivery in one transaction, marking it a duplicate when its event id
// was seen before; backends wrap it with their own ordering (group commit, retries).
func (s *Store) RecordDeliveryOnce(ctx context.Context, d *tributary.Delivery) (bool, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
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

// FinishDeliveries records a batch's outcomes in one transaction.
func (s *Store) FinishDeliveries(ctx context.Context, os []tributary.DeliveryOutcome) error {
	if len(os) == 0 {
		return nil
	}
	s.Writes.Lock()
	defer s.Writes.Unlock()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return s.unavailable("finish deliveries", err)
	}
	defer tx.Rollback()
	// Outcomes of a batch mostly share status, error and time: one statement per distinct outcome.
	type outcome struct {
		status, msg string
		ms          int64
		at          time.Time
	}
	groups := map[outcome][]string{}
	var order []outcome
	for _, o := range os {
		k := outcome{o.Status, o.Error, o.ProcessingMS, o.At.UTC()}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], o.ID)
	}
	for _, k := range order {
		ids := groups[k]
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := []any{k.status, k.msg, k.ms, k.at}
			for _, id := range chunk {
				args = append(args, id)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $1, error = $2, processing_ms = $3, processed_at = $4, lease_until = NULL WHERE id IN (`+Placeholders(5, len(chunk))+`)`, args...); err != nil {
				return s.mapErr("finish deliveries", err)
			}
		}
	}
	return s.mapErr("finish deliveries", tx.Commit())
}

// FinishDelivery records a processing outcome.
func (s *Store) FinishDelivery(ctx context.Context, id, status, errMsg string, processingMS int64, at time.Time) error {
	s.Writes.Lock()
	defer s.Writes.Unlock()
	_, err := s.DB.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $2, error = $3, processing_ms = $4, processed_at = $5, lease_until = NULL WHERE id = $1`,
		id, status, errMsg, processingMS, at.UTC())
	return s.mapErr("finish delivery", err)
}

// Deliveries lists the log, newest first.
func (s *Store) Deliveries(ctx context.Context, f tributary.DeliveryFilter) ([]*tributary.Delivery, error) {
	q := `SELECT ` + DeliveryCols + ` FROM webhook_deliveries WHERE site_id = $1`
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
		// The cursor is a delivery id of this site: the page continues after it in the log's order.
		var at time.Time
		err := s.DB.QueryRowContext(ctx, `SELECT received_at FROM webhook_deliveries WHERE site_id = $1 AND id = $2`, f.SiteID, f.Before).Scan(&at)
		if err == sql.ErrNoRows {
			return nil, tributary.FieldError("before", "before must be the id of one of this site's deliveries (the next_before of the previous page), got %q", f.Before)
		}
		if err != nil {
			return nil, s.mapErr("list deliveries: cursor", err)
		}
		args = append(args, at, f.Before)
		n := len(args)
		q += " AND (received_at < $" + strconv.Itoa(n-1) + " OR (received_at = $" + strconv.Itoa(n-1) + " AND id < $" + strconv.Itoa(n) + "))"
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q += " ORDER BY received_at DESC, id DESC LIMIT " + strconv.Itoa(limit)
	out, err := Query(ctx, s.DB, func(row Scanner) (*tributary.Delivery, error) { return ScanDelivery(row, false) }, q, args...)
	return out, s.mapErr("list deliveries", err)
}

// InboxBacklog counts the deliveries acknowledged but not yet processed (pending, or claimed and in
// processing) of a site, or of every site when siteID is "", and finds the oldest one's receipt time.
func (s *Store) InboxBacklog(ctx context.Context, siteID string) (tributary.InboxBacklog, error) {
	q := `SELECT count(*), min(received_at) FROM webhook_deliveries WHERE status IN ('pending', 'processing')`
	args := []any{}
	if siteID != "" {
		q += ` AND site_id = $1`
		args = append(args, siteID)
	}
	var b tributary.InboxBacklog
	var oldest sql.NullTime
	if err := s.DB.QueryRowContext(ctx, q, args...).Scan(&b.Waiting, &oldest); err != nil {
		return b, s.mapErr("inbox backlog", err)
	}
	if oldest.Valid {
		b.Oldest = oldest.Time.UTC()
	}
	return b, nil
}

// Delivery returns one delivery with its payload.
func (s *Store) Delivery(ctx context.Context, siteID, id string) (*tributary.Delivery, error) {
	d, err := ScanDelivery(s.DB.QueryRowContext(ctx, `SELECT `+DeliveryCols+`, payload FROM webhook_deliveries WHERE site_id = $1 AND id = $2`, siteID, id), true)
	if err == sql.ErrNoRows {
		return nil, NotFound("delivery", id)
	}
	return d, s.mapErr("get delivery", err)
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
	s.Writes.Lock()
	defer s.Writes.Unlock()
	_, err = s.DB.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL WHERE site_id = $1 AND id = $2`, siteID, id)
	return s.mapErr("replay delivery", err)
}

// ReplayFailed re-queues every failed delivery of the site.
func (s *Store) ReplayFailed(ctx context.Context, siteID string) (int, error) {
	s.Writes.Lock()
	defer s.Writes.Unlock()
	res, err := s.DB.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL WHERE site_id = $1 AND status = 'failed'`, siteID)
	if err != nil {
		return 0, s.mapErr("replay failed deliveries", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ReleaseLeases returns deliveries a crashed process was handling to the queue.
func (s *Store) ReleaseLeases(ctx context.Context) (int, error) {
	s.Writes.Lock()
	defer s.Writes.Unlock()
	res, err := s.DB.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL WHERE status = 'processing'`)
	if err != nil {
		return 0, s.mapErr("release leases", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

package sqlmeta

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/tributary/tributary"
)

// StripeObject returns a snapshot, ENOTFOUND when absent.
func (s *Store) StripeObject(ctx context.Context, siteID, id string) (*tributary.StripeObject, error) {
	o := &tributary.StripeObject{}
	var data string
	err := s.DB.QueryRowContext(ctx, `SELECT site_id, id, type, livemode, event_created, data FROM stripe_objects WHERE site_id = $1 AND id = $2`, siteID, id).
		Scan(&o.SiteID, &o.ID, &o.Type, &o.Livemode, &o.EventCreated, &data)
	if err == sql.ErrNoRows {
		return nil, NotFound("stripe object", id)
	}
	o.Data = []byte(data)
	return o, s.mapErr("get stripe object", err)
}

// PutStripeObject upserts a snapshot.
func (s *Store) PutStripeObject(ctx context.Context, o *tributary.StripeObject) error {
	// Only the inbox worker writes Stripe state, so it takes no lock (the intake must not wait on it).
	_, err := s.DB.ExecContext(ctx, `INSERT INTO stripe_objects (site_id, id, type, livemode, event_created, data) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (site_id, id) DO UPDATE SET type = excluded.type, livemode = excluded.livemode, event_created = excluded.event_created, data = excluded.data`,
		o.SiteID, o.ID, o.Type, o.Livemode, o.EventCreated.UTC(), string(o.Data))
	return s.mapErr("put stripe object", err)
}

// PutStripeObjects upserts snapshots in one transaction.
func (s *Store) PutStripeObjects(ctx context.Context, objs []*tributary.StripeObject) error {
	if len(objs) == 0 {
		return nil
	}
	return s.inTx(ctx, "put stripe objects", `INSERT INTO stripe_objects (site_id, id, type, livemode, event_created, data) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (site_id, id) DO UPDATE SET type = excluded.type, livemode = excluded.livemode, event_created = excluded.event_created, data = excluded.data`,
		len(objs), func(i int) ([]any, error) {
			o := objs[i]
			return []any{o.SiteID, o.ID, o.Type, o.Livemode, o.EventCreated.UTC(), string(o.Data)}, nil
		})
}

// PutPayments upserts payment records in one transaction.
func (s *Store) PutPayments(ctx context.Context, ps []*tributary.Payment) error {
	if len(ps) == 0 {
		return nil
	}
	return s.inTx(ctx, "put payments", `INSERT INTO payments (site_id, id, livemode, status, created, data) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (site_id, id) DO UPDATE SET livemode = excluded.livemode, status = excluded.status, created = excluded.created, data = excluded.data`,
		len(ps), func(i int) ([]any, error) {
			p := ps[i]
			b, err := json.Marshal(p)
			return []any{p.SiteID, p.ID, p.Livemode, p.Status, p.Created.UTC(), string(b)}, err
		})
}

// inTx runs one prepared statement n times in a transaction.
func (s *Store) inTx(ctx context.Context, op, q string, n int, args func(int) ([]any, error)) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(op, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return s.mapErr(op, err)
	}
	defer stmt.Close()
	for i := 0; i < n; i++ {
		a, err := args(i)
		if err != nil {
			return s.mapErr(op, err)
		}
		if _, err := stmt.ExecContext(ctx, a...); err != nil {
			return s.mapErr(op, err)
		}
	}
	return s.mapErr(op, tx.Commit())
}

// Payment returns a payment record, ENOTFOUND when absent.
func (s *Store) Payment(ctx context.Context, siteID, id string) (*tributary.Payment, error) {
	var data string
	err := s.DB.QueryRowContext(ctx, `SELECT data FROM payments WHERE site_id = $1 AND id = $2`, siteID, id).Scan(&data)
	if err == sql.ErrNoRows {
		return nil, NotFound("payment", id)
	}
	if err != nil {
		return nil, s.mapErr("get payment", err)
	}
	p := &tributary.Payment{}
	if err := json.Unmarshal([]byte(data), p); err != nil {
		return nil, s.mapErr("decode payment", err)
	}
	return p, nil
}

// PutPayment upserts a payment record.
func (s *Store) PutPayment(ctx context.Context, p *tributary.Payment) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO payments (site_id, id, livemode, status, created, data) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (site_id, id) DO UPDATE SET livemode = excluded.livemode, status = excluded.status, created = excluded.created, data = excluded.data`,
		p.SiteID, p.ID, p.Livemode, p.Status, p.Created.UTC(), string(b))
	return s.mapErr("put payment", err)
}

// Payments lists the newest payment records first.
func (s *Store) Payments(ctx context.Context, siteID string, limit int) ([]*tributary.Payment, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT data FROM payments WHERE site_id = $1 ORDER BY created DESC, id LIMIT $2`, siteID, limit)
	if err != nil {
		return nil, s.mapErr("list payments", err)
	}
	defer rows.Close()
	var out []*tributary.Payment
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, s.mapErr("list payments", err)
		}
		p := &tributary.Payment{}
		if err := json.Unmarshal([]byte(data), p); err != nil {
			return nil, s.mapErr("decode payment", err)
		}
		out = append(out, p)
	}
	return out, s.mapErr("list payments", rows.Err())
}

package sqlmeta

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// ClaimServerEventID records an event id once; the mutex orders concurrent duplicates in this process.
func (s *Store) ClaimServerEventID(ctx context.Context, siteID, eventID string, at time.Time) (bool, error) {
	s.Writes.Lock()
	defer s.Writes.Unlock()
	res, err := s.DB.ExecContext(ctx, `INSERT INTO server_event_ids (site_id, event_id, claimed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, siteID, eventID, at.UTC())
	if err != nil {
		if strings.Contains(err.Error(), "onstraint") || strings.Contains(err.Error(), "uplicate key") {
			return false, nil
		}
		return false, s.unavailable("claim event id", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseServerEventID forgets a claim.
func (s *Store) ReleaseServerEventID(ctx context.Context, siteID, eventID string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM server_event_ids WHERE site_id = $1 AND event_id = $2`, siteID, eventID)
	return s.mapErr("release event id", err)
}

// RevenueEvents lists a site's money-carrying event names.
func (s *Store) RevenueEvents(ctx context.Context, siteID string) ([]tributary.RevenueEvent, error) {
	out, err := Query(ctx, s.DB, scanRevenueEvent, `SELECT site_id, name, amount_path, unit, currency_path, updated_at FROM revenue_events WHERE site_id = $1 ORDER BY name`, siteID)
	return out, s.mapErr("list revenue events", err)
}

// PutRevenueEvent upserts one revenue event setting.
func (s *Store) PutRevenueEvent(ctx context.Context, r tributary.RevenueEvent) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO revenue_events (site_id, name, amount_path, unit, currency_path, updated_at) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (site_id, name) DO UPDATE SET amount_path = excluded.amount_path, unit = excluded.unit, currency_path = excluded.currency_path, updated_at = excluded.updated_at`,
		r.SiteID, r.Name, r.AmountPath, r.Unit, r.CurrencyPath, r.UpdatedAt.UTC())
	return s.mapErr("put revenue event", err)
}

// DeleteRevenueEvent removes one setting.
func (s *Store) DeleteRevenueEvent(ctx context.Context, siteID, name string) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM revenue_events WHERE site_id = $1 AND name = $2`, siteID, name)
	if err != nil {
		return s.mapErr("delete revenue event", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("revenue event", name)
	}
	return nil
}

// EventKinds returns the classification map.
func (s *Store) EventKinds(ctx context.Context, siteID string) (map[string]string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT name, kind FROM event_kinds WHERE site_id = $1`, siteID)
	if err != nil {
		return nil, s.mapErr("list event kinds", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, k string
		if err := rows.Scan(&n, &k); err != nil {
			return nil, s.mapErr("list event kinds", err)
		}
		out[n] = k
	}
	return out, s.mapErr("list event kinds", rows.Err())
}

// SetEventKind classifies an event name.
func (s *Store) SetEventKind(ctx context.Context, siteID, name, kind string) error {
	if kind == "" {
		_, err := s.DB.ExecContext(ctx, `DELETE FROM event_kinds WHERE site_id = $1 AND name = $2`, siteID, name)
		return s.mapErr("unset event kind", err)
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO event_kinds (site_id, name, kind) VALUES ($1,$2,$3) ON CONFLICT (site_id, name) DO UPDATE SET kind = excluded.kind`, siteID, name, kind)
	return s.mapErr("set event kind", err)
}

// APISubscription returns the stored state of an API-reported subscription.
func (s *Store) APISubscription(ctx context.Context, siteID, id string) (*tributary.APISubscription, error) {
	a := &tributary.APISubscription{}
	err := s.DB.QueryRowContext(ctx, `SELECT site_id, subscription_id, customer_id, mrr, currency, active, updated_at FROM api_subscriptions WHERE site_id = $1 AND subscription_id = $2`, siteID, id).
		Scan(&a.SiteID, &a.SubscriptionID, &a.CustomerID, &a.MRR, &a.Currency, &a.Active, &a.UpdatedAt)
	if err == sql.ErrNoRows {
		return nil, NotFound("subscription", id)
	}
	return a, s.mapErr("get api subscription", err)
}

// PutAPISubscription upserts subscription state.
func (s *Store) PutAPISubscription(ctx context.Context, a *tributary.APISubscription) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO api_subscriptions (site_id, subscription_id, customer_id, mrr, currency, active, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (site_id, subscription_id) DO UPDATE SET customer_id = excluded.customer_id, mrr = excluded.mrr, currency = excluded.currency, active = excluded.active, updated_at = excluded.updated_at`,
		a.SiteID, a.SubscriptionID, a.CustomerID, a.MRR, a.Currency, a.Active, a.UpdatedAt.UTC())
	return s.mapErr("put api subscription", err)
}

// EventNames aggregates the site's event names.
func (s *Store) EventNames(ctx context.Context, siteID string) ([]tributary.CatalogEntry, error) {
	out, err := Query(ctx, s.DB, scanCatalogEntry, `SELECT name, count(*), count(*) FILTER (WHERE source = 'browser'), count(*) FILTER (WHERE source = 'server'), max(ts)
		FROM events WHERE site_id = $1 GROUP BY name ORDER BY count(*) DESC, name`, siteID)
	return out, s.mapErr("event names", err)
}

func scanRevenueEvent(row Scanner) (r tributary.RevenueEvent, err error) {
	err = row.Scan(&r.SiteID, &r.Name, &r.AmountPath, &r.Unit, &r.CurrencyPath, &r.UpdatedAt)
	return r, err
}

func scanCatalogEntry(row Scanner) (c tributary.CatalogEntry, err error) {
	err = row.Scan(&c.Name, &c.Count, &c.Browser, &c.Server, &c.LastSeen)
	return c, err
}

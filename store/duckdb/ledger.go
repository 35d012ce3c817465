package duckdb

import (
	"context"
	"time"

	"github.com/tributary/tributary"
)

const ledgerCols = `id, site_id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_amount, reporting_currency,
	rate, rate_date, converted, customer_id, email, subscription_id, product, source, detail`

// InsertLedger writes entries idempotently: an id already stored is skipped, never updated, because the
// ledger is append-only.
func (s *Store) InsertLedger(ctx context.Context, entries []tributary.LedgerEntry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable("insert ledger", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO ledger (`+ledgerCols+`, recorded_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) ON CONFLICT (site_id, id) DO NOTHING`)
	if err != nil {
		return 0, mapErr("insert ledger", err)
	}
	defer stmt.Close()
	now := time.Now().UTC()
	n := 0
	var stored []tributary.LedgerEntry
	for _, e := range entries {
		res, err := stmt.ExecContext(ctx, e.ID, e.SiteID, e.Livemode, e.Kind, e.PaymentID, e.OccurredAt.UTC(), e.Amount, e.Currency,
			e.ReportingAmount, e.ReportingCurrency, e.Rate, e.RateDate, e.Converted, e.CustomerID, e.Email, e.SubscriptionID,
			e.Product, e.Source, e.Detail, now)
		if err != nil {
			return 0, mapErr("insert ledger "+e.ID, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
			stored = append(stored, e)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, unavailable("insert ledger commit", err)
	}
	s.notifyLedger(stored)
	return n, nil
}

// Ledger lists a site's entries in time order.
func (s *Store) Ledger(ctx context.Context, siteID string) ([]tributary.LedgerEntry, error) {
	return s.ledgerWhere(ctx, `site_id = $1`, siteID)
}

// RecentLedger lists a site's newest entries first.
func (s *Store) RecentLedger(ctx context.Context, siteID string, limit int) ([]tributary.LedgerEntry, error) {
	return s.ledgerQuery(ctx, `SELECT `+ledgerCols+` FROM ledger WHERE site_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`, siteID, limit)
}

// LedgerForPayment lists one payment's entries.
func (s *Store) LedgerForPayment(ctx context.Context, siteID, paymentID string) ([]tributary.LedgerEntry, error) {
	return s.ledgerWhere(ctx, `site_id = $1 AND payment_id = $2`, siteID, paymentID)
}

func (s *Store) ledgerWhere(ctx context.Context, where string, args ...any) ([]tributary.LedgerEntry, error) {
	return s.ledgerQuery(ctx, `SELECT `+ledgerCols+` FROM ledger WHERE `+where+` ORDER BY occurred_at, id`, args...)
}

func (s *Store) ledgerQuery(ctx context.Context, q string, args ...any) ([]tributary.LedgerEntry, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr("list ledger", err)
	}
	defer rows.Close()
	var out []tributary.LedgerEntry
	for rows.Next() {
		var e tributary.LedgerEntry
		if err := rows.Scan(&e.ID, &e.SiteID, &e.Livemode, &e.Kind, &e.PaymentID, &e.OccurredAt, &e.Amount, &e.Currency,
			&e.ReportingAmount, &e.ReportingCurrency, &e.Rate, &e.RateDate, &e.Converted, &e.CustomerID, &e.Email,
			&e.SubscriptionID, &e.Product, &e.Source, &e.Detail); err != nil {
			return nil, mapErr("list ledger", err)
		}
		out = append(out, e)
	}
	return out, mapErr("list ledger", rows.Err())
}

// InsertIdentities appends identity facts.
func (s *Store) InsertIdentities(ctx context.Context, ids []tributary.Identity) error {
	if len(ids) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("insert identities", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO identities (site_id, ts, visitor_id, session_id, person_id, customer_id, email, payment_id, link_method, source,
		channel, referrer_source, utm_source, utm_medium, utm_campaign)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`)
	if err != nil {
		return mapErr("insert identities", err)
	}
	defer stmt.Close()
	for _, i := range ids {
		if _, err := stmt.ExecContext(ctx, i.SiteID, i.At.UTC(), i.VisitorID, i.SessionID, i.PersonID, i.CustomerID, i.Email, i.PaymentID, i.LinkMethod, i.Source,
			i.Channel, i.ReferrerSource, i.UTMSource, i.UTMMedium, i.UTMCampaign); err != nil {
			return mapErr("insert identities", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable("insert identities commit", err)
	}
	s.notifyIdentities(ids)
	return nil
}

// InsertMRRMovements writes movements idempotently by id.
func (s *Store) InsertMRRMovements(ctx context.Context, ms []tributary.MRRMovement) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable("insert mrr movements", err)
	}
	defer tx.Rollback()
	n := 0
	for _, m := range ms {
		res, err := tx.ExecContext(ctx, `INSERT INTO mrr_movements (id, site_id, livemode, subscription_id, customer_id, ts, kind, delta, currency,
			reporting_delta, reporting_currency, converted, source) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT (site_id, id) DO NOTHING`,
			m.ID, m.SiteID, m.Livemode, m.SubscriptionID, m.CustomerID, m.At.UTC(), m.Kind, m.Delta, m.Currency, m.ReportingDelta,
			m.ReportingCurrency, m.Converted, m.Source)
		if err != nil {
			return 0, mapErr("insert mrr movement "+m.ID, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, unavailable("insert mrr movements commit", err)
	}
	return n, nil
}

// MRRMovements lists a site's movements in time order.
func (s *Store) MRRMovements(ctx context.Context, siteID string) ([]tributary.MRRMovement, error) {
	return s.mrrWhere(ctx, `site_id = $1`, siteID)
}

// MRRMovementsOf lists one subscription's movements in time order.
func (s *Store) MRRMovementsOf(ctx context.Context, siteID, subscriptionID string) ([]tributary.MRRMovement, error) {
	return s.mrrWhere(ctx, `site_id = $1 AND subscription_id = $2`, siteID, subscriptionID)
}

func (s *Store) mrrWhere(ctx context.Context, where string, args ...any) ([]tributary.MRRMovement, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, site_id, livemode, subscription_id, customer_id, ts, kind, delta, currency,
		reporting_delta, reporting_currency, converted, source FROM mrr_movements WHERE `+where+` ORDER BY ts, id`, args...)
	if err != nil {
		return nil, mapErr("list mrr movements", err)
	}
	defer rows.Close()
	var out []tributary.MRRMovement
	for rows.Next() {
		var m tributary.MRRMovement
		if err := rows.Scan(&m.ID, &m.SiteID, &m.Livemode, &m.SubscriptionID, &m.CustomerID, &m.At, &m.Kind, &m.Delta, &m.Currency,
			&m.ReportingDelta, &m.ReportingCurrency, &m.Converted, &m.Source); err != nil {
			return nil, mapErr("list mrr movements", err)
		}
		out = append(out, m)
	}
	return out, mapErr("list mrr movements", rows.Err())
}

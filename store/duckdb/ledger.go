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
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, mapErr("insert ledger", err)
	}
	defer stmt.Close()
	now := time.Now().UTC()
	n := 0
	for _, e := range entries {
		res, err := stmt.ExecContext(ctx, e.ID, e.SiteID, e.Livemode, e.Kind, e.PaymentID, e.OccurredAt.UTC(), e.Amount, e.Currency,
			e.ReportingAmount, e.ReportingCurrency, e.Rate, e.RateDate, e.Converted, e.CustomerID, e.Email, e.SubscriptionID,
			e.Product, e.Source, e.Detail, now)
		if err != nil {
			return 0, mapErr("insert ledger "+e.ID, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, unavailable("insert ledger commit", err)
	}
	return n, nil
}

// Ledger lists a site's entries in time order.
func (s *Store) Ledger(ctx context.Context, siteID string) ([]tributary.LedgerEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ledgerCols+` FROM ledger WHERE site_id = $1 ORDER BY occurred_at, id`, siteID)
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
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO identities (site_id, ts, visitor_id, session_id, person_id, customer_id, email, payment_id, link_method, source)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`)
	if err != nil {
		return mapErr("insert identities", err)
	}
	defer stmt.Close()
	for _, i := range ids {
		if _, err := stmt.ExecContext(ctx, i.SiteID, i.At.UTC(), i.VisitorID, i.SessionID, i.PersonID, i.CustomerID, i.Email, i.PaymentID, i.LinkMethod, i.Source); err != nil {
			return mapErr("insert identities", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable("insert identities commit", err)
	}
	return nil
}

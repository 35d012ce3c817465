package duckdb

import (
	"context"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// ConvertPending converts the site's ledger entries and MRR movements that were stored without an
// exchange rate, in one transaction: it writes only the reporting columns of rows still unconverted
// (amount and currency, the facts, are never written), then reports a reset of the site so the stats
// engine's memo drops the sums it kept.
func (s *Store) ConvertPending(ctx context.Context, siteID string, convert func([]tributary.LedgerEntry) error) (tributary.Conversion, error) {
	out := tributary.Conversion{Entries: []string{}, Movements: []string{}}
	entries, err := s.pendingEntries(ctx, siteID)
	if err != nil {
		return out, err
	}
	movements, err := s.pendingMovements(ctx, siteID)
	if err != nil {
		return out, err
	}
	if len(entries)+len(movements) == 0 {
		return out, nil
	}
	if len(entries) > 0 {
		if err := convert(entries); err != nil {
			return out, err
		}
	}
	if err := tributary.ConvertMovementsWith(movements, convert); err != nil {
		return out, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return out, mapErr("convert pending", err)
	}
	defer tx.Rollback()
	for _, e := range entries {
		if !e.Converted {
			out.Pending++
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ledger SET reporting_amount = $1, reporting_currency = $2, rate = $3, rate_date = $4, converted = true
			WHERE site_id = $5 AND id = $6 AND NOT converted`, e.ReportingAmount, e.ReportingCurrency, e.Rate, e.RateDate, siteID, e.ID); err != nil {
			return out, mapErr("convert ledger entry", err)
		}
		out.Entries = append(out.Entries, e.ID)
	}
	for _, m := range movements {
		if !m.Converted {
			out.Pending++
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mrr_movements SET reporting_delta = $1, reporting_currency = $2, converted = true
			WHERE site_id = $3 AND id = $4 AND NOT converted`, m.ReportingDelta, m.ReportingCurrency, siteID, m.ID); err != nil {
			return out, mapErr("convert mrr movement", err)
		}
		out.Movements = append(out.Movements, m.ID)
	}
	if len(out.Entries)+len(out.Movements) == 0 {
		return out, nil
	}
	if err := tx.Commit(); err != nil {
		return out, mapErr("convert pending", err)
	}
	return out, nil
}

func (s *Store) pendingEntries(ctx context.Context, siteID string) ([]tributary.LedgerEntry, error) {
	out, err := sqlmeta.Query(ctx, s.db, func(row sqlmeta.Scanner) (tributary.LedgerEntry, error) {
		e := tributary.LedgerEntry{SiteID: siteID}
		var at time.Time
		err := row.Scan(&e.ID, &e.Livemode, &e.Kind, &e.PaymentID, &at, &e.Amount, &e.Currency, &e.ReportingCurrency,
			&e.CustomerID, &e.SubscriptionID, &e.Source)
		e.OccurredAt = at.UTC()
		return e, err
	}, `SELECT id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_currency,
		customer_id, subscription_id, source FROM ledger WHERE site_id = $1 AND NOT converted ORDER BY occurred_at, id`, siteID)
	return out, mapErr("list unconverted entries", err)
}

func (s *Store) pendingMovements(ctx context.Context, siteID string) ([]tributary.MRRMovement, error) {
	out, err := sqlmeta.Query(ctx, s.db, func(row sqlmeta.Scanner) (tributary.MRRMovement, error) {
		m := tributary.MRRMovement{SiteID: siteID}
		var at time.Time
		err := row.Scan(&m.ID, &m.Livemode, &m.SubscriptionID, &m.CustomerID, &at, &m.Kind, &m.Delta, &m.Currency, &m.ReportingCurrency,
			&m.Source)
		m.At = at.UTC()
		return m, err
	}, `SELECT id, livemode, subscription_id, customer_id, ts, kind, delta, currency, reporting_currency, source
		FROM mrr_movements WHERE site_id = $1 AND NOT converted ORDER BY ts, id`, siteID)
	return out, mapErr("list unconverted movements", err)
}

package clickhouse

import (
	"context"
	"time"

	"github.com/tributary/tributary"
)

// ConvertPending converts the site's ledger entries and MRR movements stored without an exchange rate.
// ClickHouse rows are not updated in place: each converted row is written again with every fact as
// stored and the new reporting fields, under a version one above the id's largest, so the
// first-write-wins views (argMax by version) read the converted row. A duplicate written later by a
// racing insert has a smaller version (firstWins) and stays hidden.
func (s *Store) ConvertPending(ctx context.Context, siteID string, convert func([]tributary.LedgerEntry) error) (tributary.Conversion, error) {
	out := tributary.Conversion{Entries: []string{}, Movements: []string{}}
	entries, entryFacts, err := s.pendingEntries(ctx, siteID)
	if err != nil {
		return out, err
	}
	movements, moveFacts, err := s.pendingMovements(ctx, siteID)
	if err != nil {
		return out, err
	}
	if len(entries) > 0 {
		if err := convert(entries); err != nil {
			return out, err
		}
	}
	if err := tributary.ConvertMovementsWith(movements, convert); err != nil {
		return out, err
	}
	var ei, mi []int
	for i, e := range entries {
		if e.Converted {
			ei = append(ei, i)
			out.Entries = append(out.Entries, e.ID)
		} else {
			out.Pending++
		}
	}
	for i, m := range movements {
		if m.Converted {
			mi = append(mi, i)
			out.Movements = append(out.Movements, m.ID)
		} else {
			out.Pending++
		}
	}
	if len(ei) > 0 {
		err := s.batch(ctx, "convert ledger entries", `INSERT INTO ledger_facts (`+convertLedgerCols+`, ver)`, len(ei), func(k int) []any {
			e, f := &entries[ei[k]], entryFacts[ei[k]]
			return []any{e.ID, e.SiteID, e.Livemode, e.Kind, e.PaymentID, e.OccurredAt.UTC(), e.Amount, f.currency,
				e.ReportingAmount, e.ReportingCurrency, e.Rate, e.RateDate, true, e.CustomerID, e.Email, e.SubscriptionID,
				e.Product, e.Source, e.Detail, f.recordedAt, f.ver + 1}
		})
		if err != nil {
			return out, err
		}
	}
	if len(mi) > 0 {
		err := s.batch(ctx, "convert mrr movements", `INSERT INTO mrr_movement_facts (`+convertMRRCols+`, ver)`, len(mi), func(k int) []any {
			m := &movements[mi[k]]
			f := moveFacts[mi[k]]
			return []any{m.ID, m.SiteID, m.Livemode, m.SubscriptionID, m.CustomerID, m.At.UTC(), m.Kind, m.Delta, f.currency,
				m.ReportingDelta, m.ReportingCurrency, true, m.Source, f.ver + 1}
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

const convertLedgerCols = `id, site_id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_amount, reporting_currency,
	rate, rate_date, converted, customer_id, email, subscription_id, product, source, detail, recorded_at`

const convertMRRCols = `id, site_id, livemode, subscription_id, customer_id, ts, kind, delta, currency, reporting_delta, reporting_currency,
	converted, source`

// stored keeps what a converted row is written again with, as stored: the original currency (the
// converter may normalise it), the recording time and the id's largest version.
type stored struct {
	currency   string
	recordedAt time.Time
	ver        uint64
}

// pendingEntries lists the unconverted entries (as the view reads them) with what stored keeps.
func (s *Store) pendingEntries(ctx context.Context, siteID string) ([]tributary.LedgerEntry, []stored, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT l.id, l.livemode, l.kind, l.payment_id, l.occurred_at, l.amount, l.currency, l.reporting_currency,
		l.customer_id, l.email, l.subscription_id, l.product, l.source, l.detail, l.recorded_at, v.ver
		FROM (SELECT * FROM ledger WHERE site_id = $1 AND converted = 0) AS l
		ANY INNER JOIN (SELECT id, max(ver) AS ver FROM ledger_facts WHERE site_id = $2 GROUP BY id) AS v USING id
		ORDER BY l.occurred_at, l.id`, siteID, siteID)
	if err != nil {
		return nil, nil, mapErr("list unconverted entries", err)
	}
	defer rows.Close()
	var out []tributary.LedgerEntry
	var facts []stored
	for rows.Next() {
		e := tributary.LedgerEntry{SiteID: siteID}
		var f stored
		if err := rows.Scan(&e.ID, &e.Livemode, &e.Kind, &e.PaymentID, &e.OccurredAt, &e.Amount, &e.Currency, &e.ReportingCurrency,
			&e.CustomerID, &e.Email, &e.SubscriptionID, &e.Product, &e.Source, &e.Detail, &f.recordedAt, &f.ver); err != nil {
			return nil, nil, mapErr("list unconverted entries", err)
		}
		f.currency = e.Currency
		out = append(out, e)
		facts = append(facts, f)
	}
	return out, facts, mapErr("list unconverted entries", rows.Err())
}

// pendingMovements lists the unconverted MRR movements with what stored keeps.
func (s *Store) pendingMovements(ctx context.Context, siteID string) ([]tributary.MRRMovement, []stored, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.id, m.livemode, m.subscription_id, m.customer_id, m.ts, m.kind, m.delta, m.currency,
		m.reporting_currency, m.source, v.ver
		FROM (SELECT * FROM mrr_movements WHERE site_id = $1 AND converted = 0) AS m
		ANY INNER JOIN (SELECT id, max(ver) AS ver FROM mrr_movement_facts WHERE site_id = $2 GROUP BY id) AS v USING id
		ORDER BY m.ts, m.id`, siteID, siteID)
	if err != nil {
		return nil, nil, mapErr("list unconverted movements", err)
	}
	defer rows.Close()
	var out []tributary.MRRMovement
	var facts []stored
	for rows.Next() {
		m := tributary.MRRMovement{SiteID: siteID}
		var f stored
		if err := rows.Scan(&m.ID, &m.Livemode, &m.SubscriptionID, &m.CustomerID, &m.At, &m.Kind, &m.Delta, &m.Currency,
			&m.ReportingCurrency, &m.Source, &f.ver); err != nil {
			return nil, nil, mapErr("list unconverted movements", err)
		}
		f.currency = m.Currency
		out = append(out, m)
		facts = append(facts, f)
	}
	return out, facts, mapErr("list unconverted movements", rows.Err())
}

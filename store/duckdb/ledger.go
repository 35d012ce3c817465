package duckdb

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// InsertLedger writes entries idempotently: an id already stored for the site is skipped, never
// updated, because the ledger is append-only. The new ones are written with multi-row statements: a
// reconciliation batch appends hundreds, and DuckDB pays about a millisecond per executed statement.
func (s *Store) InsertLedger(ctx context.Context, entries []tributary.LedgerEntry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	if err := s.touches.Prepare(ctx, sqlmeta.SitesOf(entries, func(e *tributary.LedgerEntry) string { return e.SiteID })...); err != nil {
		return 0, unavailable("insert ledger", err)
	}
	stored, err := s.writeLedger(ctx, entries)
	if err != nil {
		return 0, err
	}
	s.maintain("ledger", s.touches.Ledger(ctx, stored))
	return len(stored), nil
}

// writeLedger stores the entries the ledger does not hold yet and, in the same transaction, rewrites
// the paid links of their payment entries' payments, holding paidMu until it commits.
func (s *Store) writeLedger(ctx context.Context, entries []tributary.LedgerEntry) ([]tributary.LedgerEntry, error) {
	if slices.ContainsFunc(entries, isPaymentEntry) {
		s.paidMu.Lock()
		defer s.paidMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable("insert ledger", err)
	}
	defer tx.Rollback()
	fresh, err := newIDs(ctx, tx, "ledger", len(entries), func(i int) (string, string) { return entries[i].SiteID, entries[i].ID })
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	rows := make([][]any, len(fresh))
	stored := make([]tributary.LedgerEntry, len(fresh))
	var pays [][2]string
	for k, i := range fresh {
		e := entries[i]
		rows[k] = []any{e.ID, e.SiteID, e.Livemode, e.Kind, e.PaymentID, e.OccurredAt.UTC(), e.Amount, e.Currency,
			e.ReportingAmount, e.ReportingCurrency, e.Rate, e.RateDate, e.Converted, e.CustomerID, e.Email, e.SubscriptionID,
			e.Product, e.Source, e.Detail, now}
		stored[k] = e
		if isPaymentEntry(e) {
			pays = append(pays, [2]string{e.SiteID, e.PaymentID})
		}
	}
	if err := insertRows(ctx, tx, "insert ledger", `INSERT INTO ledger (`+sqlmeta.LedgerCols+`, recorded_at) VALUES `, ` ON CONFLICT (site_id, id) DO NOTHING`, rows); err != nil {
		return nil, err
	}
	if err := refreshPaidLinks(ctx, tx, pays); err != nil {
		return nil, mapErr("insert ledger: paid links", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, unavailable("insert ledger commit", err)
	}
	return stored, nil
}

func isPaymentEntry(e tributary.LedgerEntry) bool { return e.Kind == tributary.EntryPayment }

// newIDs returns, in input order, the indexes of the first occurrence of each (site, id) that table does
// not hold yet.
func newIDs(ctx context.Context, tx *sql.Tx, table string, n int, key func(i int) (site, id string)) ([]int, error) {
	bySite := map[string][]string{}
	seen := map[[2]string]bool{}
	var order []int
	for i := 0; i < n; i++ {
		site, id := key(i)
		k := [2]string{site, id}
		if seen[k] {
			continue
		}
		seen[k] = true
		bySite[site] = append(bySite[site], id)
		order = append(order, i)
	}
	stored := map[[2]string]bool{}
	for site, ids := range bySite {
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := []any{site}
			for _, id := range chunk {
				args = append(args, id)
			}
			found, err := sqlmeta.Query(ctx, tx, sqlmeta.Value[string], `SELECT id FROM `+table+` WHERE site_id = $1 AND id IN (`+placeholders(2, len(chunk))+`)`, args...)
			if err != nil {
				return nil, mapErr("look up "+table+" ids", err)
			}
			for _, id := range found {
				stored[[2]string{site, id}] = true
			}
		}
	}
	fresh := order[:0]
	for _, i := range order {
		site, id := key(i)
		if !stored[[2]string{site, id}] {
			fresh = append(fresh, i)
		}
	}
	return fresh, nil
}

// placeholders and insertRows are the shared multi-row statement builders.
var placeholders = sqlmeta.Placeholders

func insertRows(ctx context.Context, tx *sql.Tx, op, prefix, suffix string, rows [][]any) error {
	return mapErr(op, sqlmeta.InsertRows(ctx, tx, prefix, suffix, rows))
}

// Ledger lists a site's entries in time order.
func (s *Store) Ledger(ctx context.Context, siteID string) ([]tributary.LedgerEntry, error) {
	return s.ledgerWhere(ctx, `site_id = $1`, siteID)
}

// RecentLedger lists a site's newest entries first.
func (s *Store) RecentLedger(ctx context.Context, siteID string, limit int) ([]tributary.LedgerEntry, error) {
	return s.ledgerQuery(ctx, `SELECT `+sqlmeta.LedgerCols+` FROM ledger WHERE site_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`, siteID, limit)
}

// LedgerForPayments lists the entries of several payments.
func (s *Store) LedgerForPayments(ctx context.Context, siteID string, paymentIDs []string) ([]tributary.LedgerEntry, error) {
	var out []tributary.LedgerEntry
	for start := 0; start < len(paymentIDs); start += 500 {
		chunk := paymentIDs[start:min(start+500, len(paymentIDs))]
		args := []any{siteID}
		for _, id := range chunk {
			args = append(args, id)
		}
		es, err := s.ledgerWhere(ctx, `site_id = $1 AND payment_id IN (`+placeholders(2, len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// LedgerForPayment lists one payment's entries.
func (s *Store) LedgerForPayment(ctx context.Context, siteID, paymentID string) ([]tributary.LedgerEntry, error) {
	return s.ledgerWhere(ctx, `site_id = $1 AND payment_id = $2`, siteID, paymentID)
}

func (s *Store) ledgerWhere(ctx context.Context, where string, args ...any) ([]tributary.LedgerEntry, error) {
	return s.ledgerQuery(ctx, `SELECT `+sqlmeta.LedgerCols+` FROM ledger WHERE `+where+` ORDER BY occurred_at, id`, args...)
}

func (s *Store) ledgerQuery(ctx context.Context, q string, args ...any) ([]tributary.LedgerEntry, error) {
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.ScanLedgerEntry, q, args...)
	return out, mapErr("list ledger", err)
}

// InsertIdentities appends identity facts.
func (s *Store) InsertIdentities(ctx context.Context, ids []tributary.Identity) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.touches.Prepare(ctx, sqlmeta.SitesOf(ids, func(i *tributary.Identity) string { return i.SiteID })...); err != nil {
		return unavailable("insert identities", err)
	}
	if err := s.writeIdentities(ctx, ids); err != nil {
		return err
	}
	s.maintain("identities", s.touches.Identities(ctx, ids))
	return nil
}

// writeIdentities stores the facts and, in the same transaction, copies the visits of the visitors they
// link to a payment into payer_visits. The visits derivation keeps those rows from the committed links;
// holding the events writer's lock keeps the two from missing each other.
func (s *Store) writeIdentities(ctx context.Context, ids []tributary.Identity) error {
	var payers []string
	var pays [][2]string
	for _, i := range ids {
		if i.PaymentID != "" && i.VisitorID != "" {
			payers = append(payers, "("+sqlString(i.SiteID)+", "+sqlString(i.VisitorID)+")")
			pays = append(pays, [2]string{i.SiteID, i.PaymentID})
		}
	}
	if len(payers) > 0 {
		// Only links to a payment wait for the payment entries' writes and the events writer (a
		// browser's identify does not); the locks are always taken in this order, paidMu first.
		s.paidMu.Lock()
		defer s.paidMu.Unlock()
		s.appendMu.Lock()
		defer s.appendMu.Unlock()
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
	if len(payers) > 0 {
		if err := refreshPayerVisits(ctx, tx, `SELECT * FROM (VALUES `+strings.Join(payers, ", ")+`) t(site_id, visitor_id)`, ""); err != nil {
			return mapErr("insert identities: payer visits", err)
		}
		if err := refreshPaidLinks(ctx, tx, pays); err != nil {
			return mapErr("insert identities: paid links", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable("insert identities commit", err)
	}
	return nil
}

// InsertMRRMovements writes movements idempotently by (site, id).
func (s *Store) InsertMRRMovements(ctx context.Context, ms []tributary.MRRMovement) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable("insert mrr movements", err)
	}
	defer tx.Rollback()
	fresh, err := newIDs(ctx, tx, "mrr_movements", len(ms), func(i int) (string, string) { return ms[i].SiteID, ms[i].ID })
	if err != nil {
		return 0, err
	}
	rows := make([][]any, len(fresh))
	for k, i := range fresh {
		m := ms[i]
		rows[k] = []any{m.ID, m.SiteID, m.Livemode, m.SubscriptionID, m.CustomerID, m.At.UTC(), m.Kind, m.Delta, m.Currency, m.ReportingDelta,
			m.ReportingCurrency, m.Converted, m.Source}
	}
	if err := insertRows(ctx, tx, "insert mrr movements", `INSERT INTO mrr_movements (id, site_id, livemode, subscription_id, customer_id, ts, kind, delta, currency,
			reporting_delta, reporting_currency, converted, source) VALUES `, ` ON CONFLICT (site_id, id) DO NOTHING`, rows); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, unavailable("insert mrr movements commit", err)
	}
	return len(fresh), nil
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
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.ScanMovement, `SELECT `+sqlmeta.MovementCols+` FROM mrr_movements WHERE `+where+` ORDER BY ts, id`, args...)
	return out, mapErr("list mrr movements", err)
}

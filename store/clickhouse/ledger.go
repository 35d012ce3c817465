package clickhouse

import (
	"context"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// newIDs returns, in input order, the indexes of the first occurrence of each (site, id) that table
// does not hold yet. The check and the insert that follows are not atomic; a racing writer's duplicate is
// absorbed by the first-write-wins views.
func (s *Store) newIDs(ctx context.Context, table string, n int, key func(i int) (site, id string)) ([]int, error) {
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
		found, err := sqlmeta.Query(ctx, s.db, sqlmeta.Value[string], `SELECT DISTINCT id FROM `+table+` WHERE site_id = $1 AND has($2, id)`, site, ids)
		if err != nil {
			return nil, mapErr("look up "+table+" ids", err)
		}
		for _, id := range found {
			stored[[2]string{site, id}] = true
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

// insertLedger writes the entries whose id is new and returns how many there were; a stored entry is
// never rewritten, because the ledger is append-only.
func (s *Store) insertLedger(ctx context.Context, entries []tributary.LedgerEntry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	fresh, err := s.newIDs(ctx, "ledger_facts", len(entries), func(i int) (string, string) { return entries[i].SiteID, entries[i].ID })
	if err != nil || len(fresh) == 0 {
		return 0, err
	}
	now := s.now().UTC()
	err = s.batch(ctx, "insert ledger", `INSERT INTO ledger_facts (`+sqlmeta.LedgerCols+`, recorded_at, ver)`, len(fresh), func(k int) []any {
		e := &entries[fresh[k]]
		return []any{e.ID, e.SiteID, e.Livemode, e.Kind, e.PaymentID, e.OccurredAt.UTC(), e.Amount, e.Currency,
			e.ReportingAmount, e.ReportingCurrency, e.Rate, e.RateDate, e.Converted, e.CustomerID, e.Email, e.SubscriptionID,
			e.Product, e.Source, e.Detail, now, firstWins(s.seq())}
	})
	if err != nil {
		return 0, err
	}
	return len(fresh), nil
}

// Ledger lists a site's entries in time order.
func (s *Store) Ledger(ctx context.Context, siteID string) ([]tributary.LedgerEntry, error) {
	return s.ledgerWhere(ctx, `site_id = $1`, siteID)
}

// RecentLedger lists a site's newest entries first.
func (s *Store) RecentLedger(ctx context.Context, siteID string, limit int) ([]tributary.LedgerEntry, error) {
	return s.ledgerQuery(ctx, `SELECT `+sqlmeta.LedgerCols+` FROM ledger WHERE site_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`, siteID, limit)
}

// LedgerForPayment lists one payment's entries.
func (s *Store) LedgerForPayment(ctx context.Context, siteID, paymentID string) ([]tributary.LedgerEntry, error) {
	return s.ledgerWhere(ctx, `site_id = $1 AND payment_id = $2`, siteID, paymentID)
}

// LedgerForPayments lists the entries of several payments.
func (s *Store) LedgerForPayments(ctx context.Context, siteID string, paymentIDs []string) ([]tributary.LedgerEntry, error) {
	if len(paymentIDs) == 0 {
		return nil, nil
	}
	return s.ledgerWhere(ctx, `site_id = $1 AND has($2, payment_id)`, siteID, paymentIDs)
}

func (s *Store) ledgerWhere(ctx context.Context, where string, args ...any) ([]tributary.LedgerEntry, error) {
	return s.ledgerQuery(ctx, `SELECT `+sqlmeta.LedgerCols+` FROM ledger WHERE `+where+` ORDER BY occurred_at, id`, args...)
}

func (s *Store) ledgerQuery(ctx context.Context, q string, args ...any) ([]tributary.LedgerEntry, error) {
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.ScanLedgerEntry, q, args...)
	return out, mapErr("list ledger", err)
}

// InsertMRRMovements writes the movements whose id is new and returns how many there were.
func (s *Store) InsertMRRMovements(ctx context.Context, ms []tributary.MRRMovement) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	fresh, err := s.newIDs(ctx, "mrr_movement_facts", len(ms), func(i int) (string, string) { return ms[i].SiteID, ms[i].ID })
	if err != nil || len(fresh) == 0 {
		return 0, err
	}
	err = s.batch(ctx, "insert mrr movements", `INSERT INTO mrr_movement_facts (`+sqlmeta.MovementCols+`, ver)`, len(fresh), func(k int) []any {
		m := &ms[fresh[k]]
		return []any{m.ID, m.SiteID, m.Livemode, m.SubscriptionID, m.CustomerID, m.At.UTC(), m.Kind, m.Delta, m.Currency,
			m.ReportingDelta, m.ReportingCurrency, m.Converted, m.Source, firstWins(s.seq())}
	})
	if err != nil {
		return 0, err
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

package duckdb

import (
	"context"
)

// paidLinksOf selects paid_links' rows (migration 022, which fills the table with the same selection) of
// the payments in the relation pays (site_id, payment_id).
func paidLinksOf(pays string) string {
	return `SELECT i.site_id, i.ts, i.visitor_id, i.payment_id, p.livemode
		FROM identities i
			JOIN (SELECT DISTINCT site_id, payment_id, livemode FROM ledger WHERE kind = 'payment'
				AND (site_id, payment_id) IN (SELECT site_id, payment_id FROM ` + pays + `)) p
				ON p.site_id = i.site_id AND p.payment_id = i.payment_id
		WHERE i.payment_id <> '' AND i.visitor_id <> '' AND (i.site_id, i.payment_id) IN (SELECT site_id, payment_id FROM ` + pays + `)`
}

// refreshPaidLinks rewrites the paid_links rows of the payments pays (site, payment id) on tx. Its
// caller holds paidMu from before tx began until it ends, so a link and the payment entry it names,
// written at the same time, cannot each miss the other. The payments are bound as two lists, not
// written into the statement: a bulk write of links names tens of thousands. They are read in place
// by each statement: a temporary table of them cost a write of one payment about 6 ms more at 10M
// events (docs/benchmarks.md).
func refreshPaidLinks(ctx context.Context, tx querier, pays [][2]string) error {
	if len(pays) == 0 {
		return nil
	}
	sites, ids := make([]string, len(pays)), make([]string, len(pays))
	for i, p := range pays {
		sites[i], ids[i] = p[0], p[1]
	}
	rel := `(SELECT unnest($1::VARCHAR[]) AS site_id, unnest($2::VARCHAR[]) AS payment_id) pays`
	for _, q := range []string{
		`DELETE FROM paid_links WHERE (site_id, payment_id) IN (SELECT site_id, payment_id FROM ` + rel + `)`,
		`INSERT INTO paid_links (site_id, ts, visitor_id, payment_id, livemode) ` + paidLinksOf(rel) + ` ORDER BY i.ts`,
	} {
		if _, err := tx.ExecContext(ctx, q, sites, ids); err != nil {
			return err
		}
	}
	return nil
}

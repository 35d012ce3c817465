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
// written into the statement: a bulk write of links names tens of thousands.
func refreshPaidLinks(ctx context.Context, tx querier, pays [][2]string) error {
	if len(pays) == 0 {
		return nil
	}
	sites, ids := make([]string, len(pays)), make([]string, len(pays))
	for i, p := range pays {
		sites[i], ids[i] = p[0], p[1]
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE paid_pays AS SELECT DISTINCT * FROM (SELECT unnest($1::VARCHAR[]) AS site_id, unnest($2::VARCHAR[]) AS payment_id)`, sites, ids); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM paid_links WHERE (site_id, payment_id) IN (SELECT site_id, payment_id FROM paid_pays)`,
		`INSERT INTO paid_links (site_id, ts, visitor_id, payment_id, livemode) ` + paidLinksOf("paid_pays") + ` ORDER BY i.ts`,
		`DROP TABLE paid_pays`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

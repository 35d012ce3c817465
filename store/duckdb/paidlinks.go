package duckdb

import (
	"context"
	"strings"
)

// paidLinksOf selects paid_links' rows (migration 022, which fills the table with the same selection) of
// the payments in the relation pays (site_id, payment_id).
func paidLinksOf(pays string) string {
	return `SELECT i.site_id, i.ts, i.visitor_id, i.payment_id, p.livemode
		FROM identities i
			JOIN (SELECT DISTINCT site_id, payment_id, livemode FROM ledger WHERE kind = 'payment'
				AND (site_id, payment_id) IN (SELECT site_id, payment_id FROM (` + pays + `))) p
				ON p.site_id = i.site_id AND p.payment_id = i.payment_id
		WHERE i.payment_id <> '' AND i.visitor_id <> '' AND (i.site_id, i.payment_id) IN (SELECT site_id, payment_id FROM (` + pays + `))`
}

// refreshPaidLinks rewrites the paid_links rows of the payments keyed "site\x00payment" in pays, on tx.
// Its caller holds paidMu from before tx began until it ends, so a link and the payment entry it
// names, written at the same time, cannot each miss the other.
func refreshPaidLinks(ctx context.Context, tx querier, pays map[[2]string]bool) error {
	if len(pays) == 0 {
		return nil
	}
	var list []string
	for p := range pays {
		list = append(list, "("+sqlString(p[0])+", "+sqlString(p[1])+")")
	}
	rel := `SELECT * FROM (VALUES ` + strings.Join(list, ", ") + `) t(site_id, payment_id)`
	for _, q := range []string{
		`DELETE FROM paid_links WHERE (site_id, payment_id) IN (SELECT site_id, payment_id FROM (` + rel + `))`,
		`INSERT INTO paid_links (site_id, ts, visitor_id, payment_id, livemode) ` + paidLinksOf(rel) + ` ORDER BY i.ts`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

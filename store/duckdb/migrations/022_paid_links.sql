-- Each link of a visitor to a payment that the ledger holds as a payment, with that payment's mode: the
-- paying visitors of a range are the visitor_id of its rows in the range of the query's mode. Conversions
-- matched the range's links against every payment entry of the site by its text id in each query (a
-- third to a half of a breakdown's paying count at 10M events). Links and payments are append-only, so
-- a new link or a new payment entry rewrites the rows of its payments (store/duckdb/paidlinks.go:
-- paidLinksOf, the same selection as below; TestPaidLinksFollowLinksAndLedger checks the two agree).
CREATE TABLE paid_links AS
SELECT i.site_id, i.ts, i.visitor_id, i.payment_id, p.livemode
FROM identities i
    JOIN (SELECT DISTINCT site_id, payment_id, livemode FROM ledger WHERE kind = 'payment') p
        ON p.site_id = i.site_id AND p.payment_id = i.payment_id
WHERE i.payment_id <> '' AND i.visitor_id <> ''
ORDER BY i.ts;

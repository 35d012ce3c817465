-- A visit's paid flag: its visitor has a payment link (any payment, any time, any mode). It is a
-- superset that lets the stats engine find the paying visitors' visits of a range (conversions) among a
-- few percent of the visits before it compares visitor ids: the visits derivation sets it from the links,
-- and a new link sets it on its visitor's visits in the link's own transaction (store/duckdb).
ALTER TABLE sessions ADD COLUMN paid BOOLEAN DEFAULT false;
UPDATE sessions SET paid = true FROM (SELECT DISTINCT site_id, visitor_id FROM identities WHERE payment_id <> '' AND visitor_id <> '') p
    WHERE sessions.site_id = p.site_id AND sessions.visitor_id = p.visitor_id;

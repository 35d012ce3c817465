-- The visits of the visitors linked to a payment (any payment, any time, either mode), as copies of
-- their sessions rows. Conversions count the visitors who paid in a range at their first visit of each
-- group; reading the few percent of visits that can belong to a payer here, rather than matching every
-- visit of the range against the payers by its text id, is most of a breakdown's cost saved. The visits
-- derivation rewrites a payer's rows with the visitor's sessions rows, and a new link copies its
-- visitor's rows, both under the events writer's lock (store/duckdb/visits.go, ledger.go).
CREATE TABLE payer_visits AS SELECT * EXCLUDE (session_key, visitor_key) FROM sessions
    WHERE (site_id, visitor_id) IN (SELECT site_id, visitor_id FROM identities WHERE payment_id <> '' AND visitor_id <> '')
    ORDER BY start_ts;

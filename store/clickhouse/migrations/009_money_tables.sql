-- Two tables for the stats engine's money statements (stats/moneysql.go), each read with FINAL, which on
-- a ReplacingMergeTree merges the rows of one sort key in order (the engine's WHERE applies after the
-- merge) instead of grouping strings: at 10M events a page's money statement went from about 160 ms to
-- 70 ms (docs/benchmarks.md).
--
-- ledger_entries: every row written to ledger_facts (first writes and conversions) through the view
-- below, sorted by id alone. ledger_facts sorts by (site_id, occurred_at, id), so two writes of one id
-- dated apart (two nodes racing) sort apart and only a grouping by id finds the first write; here FINAL
-- keeps each id's largest version, the first write or its conversion, as the ledger view's argMax does.
CREATE TABLE IF NOT EXISTS ledger_entries (
    id                 String,
    site_id            String,
    livemode           UInt8,
    kind               String,
    payment_id         String,
    occurred_at        DateTime('UTC'),
    amount             Int64,
    currency           String,
    reporting_amount   Int64,
    reporting_currency String,
    rate               String,
    rate_date          String,
    converted          UInt8,
    customer_id        String,
    email              String,
    subscription_id    String,
    product            String,
    source             String,
    detail             String,
    recorded_at        DateTime('UTC'),
    ver                UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (site_id, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ledger_entries_feed TO ledger_entries AS
SELECT id, site_id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_amount, reporting_currency, rate, rate_date,
    converted, customer_id, email, subscription_id, product, source, detail, recorded_at, ver
FROM ledger_facts;

-- The facts stored before the view. A fact written between the view and this copy is there twice, as the
-- same row under the same version, which FINAL keeps once; so does a second run of this statement.
INSERT INTO ledger_entries
SELECT id, site_id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_amount, reporting_currency, rate, rate_date,
    converted, customer_id, email, subscription_id, product, source, detail, recorded_at, ver
FROM ledger_facts;

-- payment_picks: each payment's pick under each single-touch model at the default lookback (30 days;
-- touches.PickModels, touches.Pick), the payment touches' row the model credits, with its visit values:
-- a money statement at the default lookback reads one model's rows instead of the pick's condition over
-- every touch row of the site. ReplaceTouches writes a payment's picks under its touches' version right
-- after them, and a tombstone (deleted = 1) for a model that no longer picks a row.
CREATE TABLE IF NOT EXISTS payment_picks (
    site_id           String,
    model             String,
    payment_id        String,
    channel           String,
    referrer_source   String,
    referrer          String,
    utm_source        String,
    utm_medium        String,
    utm_campaign      String,
    utm_term          String,
    utm_content       String,
    click_id_platform String,
    country           String,
    region            String,
    device            String,
    browser           String,
    os                String,
    entry_page        String,
    exit_page         String,
    deleted           UInt8,
    ver               UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (site_id, model, payment_id);

-- The picks of the touches stored before, under the touches' versions: a rewrite by an upgraded node
-- running meanwhile has a larger version and wins (nodes of earlier releases write no picks: stop them
-- first). The condition is the stats engine's at any lookback.
INSERT INTO payment_picks
SELECT site_id, model, payment_id, channel, referrer_source, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    click_id_platform, country, region, device, browser, os, entry_page, exit_page, toUInt8(0), ver
FROM payment_touches FINAL
ARRAY JOIN ['first_touch', 'last_touch', 'last_non_direct'] AS model
WHERE deleted = 0 AND ((session_id = '' AND visitor_id = '') OR (session_id != '' AND start_ts >= paid_ts - 2592000 AND multiIf(
    model = 'first_touch', prev_ts < paid_ts - 2592000,
    model = 'last_touch', is_last = 1,
    is_last_nd = 1 OR (is_last = 1 AND last_nd_ts < paid_ts - 2592000))));

-- Events: append-only, never written twice (the ingest batch writer owns each event), so a plain MergeTree.
-- Months partition the data (cheap retention and deletes); the sort key serves the site-and-time scans
-- every report starts with. Timestamps are UTC with second precision (18.16 has no DateTime64).
-- props keeps the JSON text the other backends store; props_keys/props_values hold the same map as
-- arrays because 18.16 has no JSONExtract and visitParamExtractString neither decodes \u escapes nor
-- tells a key from the same text inside a value.
CREATE TABLE IF NOT EXISTS events (
    site_id           String,
    ts                DateTime('UTC'),
    name              String,
    source            String,
    visitor_id        String,
    session_id        String,
    hostname          String,
    path              String,
    referrer          String,
    referrer_source   String,
    channel           String,
    utm_source        String,
    utm_medium        String,
    utm_campaign      String,
    utm_term          String,
    utm_content       String,
    click_id_platform String,
    click_id          String,
    country           String,
    region            String,
    browser           String,
    os                String,
    device            String,
    screen_width      Int32,
    props             String,
    props_keys        Array(String),
    props_values      Array(String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (site_id, ts, session_id);

-- Money facts. An id can be written again when two nodes derive the same entry at once (the insert checks
-- for the id first, but ClickHouse has no unique constraint), so the table is a ReplacingMergeTree and
-- every read goes through the ledger view below. ver is larger for earlier writes: the first write of an
-- id wins, as in the other backends, where a stored entry is never rewritten.
CREATE TABLE IF NOT EXISTS ledger_facts (
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
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (site_id, occurred_at, id);

-- One row per id, whatever merges have or have not happened yet: FINAL alone would miss two writes of
-- an id whose timestamps differ (they sort apart), so the view groups by id and takes the first write.
CREATE VIEW IF NOT EXISTS ledger AS
SELECT
    id,
    site_id,
    argMax(livemode, ver)           AS livemode,
    argMax(kind, ver)               AS kind,
    argMax(payment_id, ver)         AS payment_id,
    argMax(occurred_at, ver)        AS occurred_at,
    argMax(amount, ver)             AS amount,
    argMax(currency, ver)           AS currency,
    argMax(reporting_amount, ver)   AS reporting_amount,
    argMax(reporting_currency, ver) AS reporting_currency,
    argMax(rate, ver)               AS rate,
    argMax(rate_date, ver)          AS rate_date,
    argMax(converted, ver)          AS converted,
    argMax(customer_id, ver)        AS customer_id,
    argMax(email, ver)              AS email,
    argMax(subscription_id, ver)    AS subscription_id,
    argMax(product, ver)            AS product,
    argMax(source, ver)             AS source,
    argMax(detail, ver)             AS detail,
    argMax(recorded_at, ver)        AS recorded_at
FROM ledger_facts
GROUP BY site_id, id;

-- Identity facts. Duplicates are harmless (the newest fact wins), so a plain MergeTree. rowid is the
-- write order (a per-process monotonic clock), named as DuckDB's implicit column so "newest, then last
-- written" reads the same on both backends.
CREATE TABLE IF NOT EXISTS identities (
    site_id         String,
    ts              DateTime('UTC'),
    visitor_id      String,
    session_id      String,
    person_id       String,
    customer_id     String,
    email           String,
    payment_id      String,
    link_method     String,
    source          String,
    channel         String,
    referrer_source String,
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    rowid           UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (site_id, ts, rowid);

-- MRR movements: idempotent by id like the ledger, with the same first-write-wins view.
CREATE TABLE IF NOT EXISTS mrr_movement_facts (
    id                 String,
    site_id            String,
    livemode           UInt8,
    subscription_id    String,
    customer_id        String,
    ts                 DateTime('UTC'),
    kind               String,
    delta              Int64,
    currency           String,
    reporting_delta    Int64,
    reporting_currency String,
    converted          UInt8,
    source             String,
    ver                UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMM(ts)
ORDER BY (site_id, ts, id);

CREATE VIEW IF NOT EXISTS mrr_movements AS
SELECT
    id,
    site_id,
    argMax(livemode, ver)           AS livemode,
    argMax(subscription_id, ver)    AS subscription_id,
    argMax(customer_id, ver)        AS customer_id,
    argMax(ts, ver)                 AS ts,
    argMax(kind, ver)               AS kind,
    argMax(delta, ver)              AS delta,
    argMax(currency, ver)           AS currency,
    argMax(reporting_delta, ver)    AS reporting_delta,
    argMax(reporting_currency, ver) AS reporting_currency,
    argMax(converted, ver)          AS converted,
    argMax(source, ver)             AS source
FROM mrr_movement_facts
GROUP BY site_id, id;

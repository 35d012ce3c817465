-- Finished visits as plain rows (store/clickhouse/visitsdone.go), so a stats query reads one row per visit
-- of the finished days instead of merging the visits table's aggregate states (stats.ClickHouse.Visits).
--
-- visit_day_events counts the events of each UTC day as they are written (a view on events, like
-- visits_mv): only its changes matter, not its exact value. A finished day's visits are those starting on
-- it, built from the visits rows of the day before, the day and the day after (a visit lasts less than a
-- day); the job records in visit_days the day's generation and the events of those three days when it
-- read them. Readers use a day's generation only while those three days still hold the same number of
-- events (no event has been written to them since), and merge the visits table for every other day, so
-- a late event, a job stopped halfway or two nodes writing different generations never make a query count
-- a visit twice or miss one.
CREATE TABLE IF NOT EXISTS visit_day_events (
    site_id    String,
    day        Date,
    backfilled UInt8,
    events     UInt64
) ENGINE = SummingMergeTree()
ORDER BY (site_id, day, backfilled);

-- Named to sort before visits_mv: 18.16 writes an insert's views one after another in name order, so a
-- reader sees a day's count change no later than the day's new visits rows (see visitsdone.go).
CREATE MATERIALIZED VIEW IF NOT EXISTS visit_day_events_mv TO visit_day_events AS
SELECT site_id, toDate(ts) AS day, toUInt8(0) AS backfilled, count() AS events
FROM events
GROUP BY site_id, day;

ALTER TABLE visit_day_events DELETE WHERE backfilled = 1;

-- The events written before the view existed (a run again replaces them). The count is only compared with
-- itself, so an event counted twice or not at all in the second of the switch changes nothing but which
-- days are read from visits_done.
INSERT INTO visit_day_events (site_id, day, backfilled, events)
SELECT site_id, toDate(ts), toUInt8(1), count()
FROM events
WHERE ts < (SELECT metadata_modification_time FROM system.tables WHERE database = currentDatabase() AND name = 'visit_day_events_mv')
GROUP BY site_id, toDate(ts);

-- One row per finished visit and generation: the columns of stats.ClickHouse.Visits's merge, with day the
-- UTC day of the visit's start. A generation a job wrote but did not record in visit_days is never read.
CREATE TABLE IF NOT EXISTS visits_done (
    site_id           String,
    day               Date,
    gen               UInt64,
    session_id        String,
    visitor_id        String,
    start_ts          DateTime('UTC'),
    end_ts            DateTime('UTC'),
    pv                UInt64,
    ev                UInt64,
    entry_page        String,
    exit_page         String,
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
    os                String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, gen, session_id);

-- The generation of each finished day (the newest wins) and the events of its three days when it was read.
CREATE TABLE IF NOT EXISTS visit_days (
    site_id String,
    day     Date,
    gen     UInt64,
    events  UInt64
) ENGINE = ReplacingMergeTree(gen)
ORDER BY (site_id, day);

-- Visits kept as events are written, so a stats query merges a few partial rows per visit instead of
-- grouping every event of the site (stats.ClickHouse.Visits). The columns are those of the embedded
-- store's sessions table (store/duckdb/visits.go, sessionAgg), held as aggregate states: an insert adds a
-- partial row per visit and day of its block, merges fold the rows of one visit and day together, and
-- readers merge whatever rows remain (…Merge over GROUP BY site_id, session_id), so an unmerged table
-- answers the same. A partial row's day is the UTC day of all its events; readers narrow a range to the
-- days its visits can touch (a visit lasts less than a day). backfilled marks the rows this migration
-- derives from the events written before the view existed, so running it again replaces them; it is in
-- the sort key so that merges never fold a backfilled row into a view-written one. The state columns
-- are named *_state: on 18.16 an alias shadows a column of the same name everywhere in a query, so
-- argMinMerge(channel) AS channel would not work.
CREATE TABLE IF NOT EXISTS visits (
    site_id                 String,
    day                     Date,
    session_id              String,
    backfilled              UInt8,
    visitor_id_state        AggregateFunction(argMin, String, DateTime('UTC')),
    start_ts_state          AggregateFunction(min, DateTime('UTC')),
    end_ts_state            AggregateFunction(max, DateTime('UTC')),
    pv_state                AggregateFunction(countIf, UInt8),
    ev_state                AggregateFunction(countIf, UInt8),
    entry_page_state        AggregateFunction(argMinIf, String, DateTime('UTC'), UInt8),
    entry_ts_state          AggregateFunction(minIf, DateTime('UTC'), UInt8),
    exit_page_state         AggregateFunction(argMaxIf, String, DateTime('UTC'), UInt8),
    exit_ts_state           AggregateFunction(maxIf, DateTime('UTC'), UInt8),
    channel_state           AggregateFunction(argMin, String, DateTime('UTC')),
    referrer_source_state   AggregateFunction(argMin, String, DateTime('UTC')),
    referrer_state          AggregateFunction(argMin, String, DateTime('UTC')),
    utm_source_state        AggregateFunction(argMin, String, DateTime('UTC')),
    utm_medium_state        AggregateFunction(argMin, String, DateTime('UTC')),
    utm_campaign_state      AggregateFunction(argMin, String, DateTime('UTC')),
    utm_term_state          AggregateFunction(argMin, String, DateTime('UTC')),
    utm_content_state       AggregateFunction(argMin, String, DateTime('UTC')),
    click_id_platform_state AggregateFunction(argMin, String, DateTime('UTC')),
    country_state           AggregateFunction(argMin, String, DateTime('UTC')),
    region_state            AggregateFunction(argMin, String, DateTime('UTC')),
    device_state            AggregateFunction(argMin, String, DateTime('UTC')),
    browser_state           AggregateFunction(argMin, String, DateTime('UTC')),
    os_state                AggregateFunction(argMin, String, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, session_id, backfilled);

-- Every insert into events from here on adds its visits' partial rows in the same statement (the view
-- aggregates each inserted block), so visits never holds an event that events does not.
CREATE MATERIALIZED VIEW IF NOT EXISTS visits_mv TO visits AS
SELECT
    site_id,
    toDate(ts) AS day,
    session_id,
    toUInt8(0) AS backfilled,
    argMinState(visitor_id, ts)                    AS visitor_id_state,
    minState(ts)                                   AS start_ts_state,
    maxState(ts)                                   AS end_ts_state,
    countIfState(name = 'pageview')                AS pv_state,
    countIfState(name != 'pageview')               AS ev_state,
    argMinIfState(path, ts, name = 'pageview')     AS entry_page_state,
    minIfState(ts, name = 'pageview')              AS entry_ts_state,
    argMaxIfState(path, ts, name = 'pageview')     AS exit_page_state,
    maxIfState(ts, name = 'pageview')              AS exit_ts_state,
    argMinState(channel, ts)                       AS channel_state,
    argMinState(referrer_source, ts)               AS referrer_source_state,
    argMinState(referrer, ts)                      AS referrer_state,
    argMinState(utm_source, ts)                    AS utm_source_state,
    argMinState(utm_medium, ts)                    AS utm_medium_state,
    argMinState(utm_campaign, ts)                  AS utm_campaign_state,
    argMinState(utm_term, ts)                      AS utm_term_state,
    argMinState(utm_content, ts)                   AS utm_content_state,
    argMinState(click_id_platform, ts)             AS click_id_platform_state,
    argMinState(country, ts)                       AS country_state,
    argMinState(region, ts)                        AS region_state,
    argMinState(device, ts)                        AS device_state,
    argMinState(browser, ts)                       AS browser_state,
    argMinState(os, ts)                            AS os_state
FROM events
GROUP BY site_id, day, session_id;

-- A run that stopped after the backfill began left some of its rows: they go before it runs again (the
-- migration waits for the mutation before it is recorded; rows inserted below are newer than the
-- mutation, which leaves them alone).
ALTER TABLE visits DELETE WHERE backfilled = 1;

-- The events written before the view existed. The cut is the moment the server created the view (its
-- metadata's time, the same on a second run): events dated before it are backfilled, later ones came
-- through the view. Exact when nothing else writes events while this runs (a node migrates before it
-- serves); with other nodes writing meanwhile, see "Upgrading" in the package documentation (clickhouse.go).
-- It groups every event at once, about 1.4 GB of aggregation state per million visits: past a gigabyte
-- the groups spill to disk, so a large table does not hit the server's memory limit.
INSERT INTO visits (site_id, day, session_id, backfilled, visitor_id_state, start_ts_state, end_ts_state, pv_state, ev_state,
    entry_page_state, entry_ts_state, exit_page_state, exit_ts_state, channel_state, referrer_source_state, referrer_state,
    utm_source_state, utm_medium_state, utm_campaign_state, utm_term_state, utm_content_state, click_id_platform_state,
    country_state, region_state, device_state, browser_state, os_state)
SELECT
    site_id,
    toDate(ts) AS day,
    session_id,
    toUInt8(1),
    argMinState(visitor_id, ts),
    minState(ts),
    maxState(ts),
    countIfState(name = 'pageview'),
    countIfState(name != 'pageview'),
    argMinIfState(path, ts, name = 'pageview'),
    minIfState(ts, name = 'pageview'),
    argMaxIfState(path, ts, name = 'pageview'),
    maxIfState(ts, name = 'pageview'),
    argMinState(channel, ts),
    argMinState(referrer_source, ts),
    argMinState(referrer, ts),
    argMinState(utm_source, ts),
    argMinState(utm_medium, ts),
    argMinState(utm_campaign, ts),
    argMinState(utm_term, ts),
    argMinState(utm_content, ts),
    argMinState(click_id_platform, ts),
    argMinState(country, ts),
    argMinState(region, ts),
    argMinState(device, ts),
    argMinState(browser, ts),
    argMinState(os, ts)
FROM events
WHERE ts < (SELECT metadata_modification_time FROM system.tables WHERE database = currentDatabase() AND name = 'visits_mv')
GROUP BY site_id, day, session_id
SETTINGS max_bytes_before_external_group_by = 1000000000;

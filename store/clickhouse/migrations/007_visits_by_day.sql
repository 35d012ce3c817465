-- Visits summed by the site's local day, so an unfiltered breakdown over whole days reads a few rows per
-- value and day instead of a month of visits (stats/engine.go, dayTraffic), and the visits of the days
-- not finished yet as plain rows built every minute (store/clickhouse/visitsday.go has the design).
--
-- visits_by_day holds, for each visit, a row per dimension (dim '' for any value) with the local day of
-- its start and of the visitor's previous visit with the same value (prev_day, 1970-01-01 for none), as
-- the embedded store's visits_by_day does; unit is the UTC day of the visit's start, and a unit's rows of
-- one generation (gen, the visits_done generation they were summed from) are read only while
-- visit_day_sums records that generation and the site's events before the day after the unit's next day
-- still number prefix (a late event on any earlier day can change a visit's previous one).
CREATE TABLE IF NOT EXISTS visits_by_day (
    site_id   String,
    unit      Date,
    gen       UInt64,
    dim       String,
    value     String,
    day       Date,
    prev_day  Date,
    visits    Int64,
    pageviews Int64,
    bounces   Int64,
    duration  Int64,
    events    Int64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(unit)
ORDER BY (site_id, dim, day, unit, gen);

-- The generation of each finished day's sums (the newest wins), the site's events dated before the day
-- after its next day when the job read them, and the zone the local days are in.
CREATE TABLE IF NOT EXISTS visit_day_sums (
    site_id String,
    day     Date,
    gen     UInt64,
    prefix  UInt64,
    zone    String
) ENGINE = ReplacingMergeTree(gen)
ORDER BY (site_id, day);

-- The visits starting on the days not finished yet (first_day of their run and after), built from the
-- events dated before the run's bound, with their previous visits' starts (1970 for none), under the
-- run's generation; a partition per generation, so superseded runs are dropped whole.
CREATE TABLE IF NOT EXISTS visits_open (
    site_id                String,
    day                    Date,
    gen                    UInt64,
    session_id             String,
    visitor_id             String,
    start_ts               DateTime('UTC'),
    end_ts                 DateTime('UTC'),
    pv                     UInt64,
    ev                     UInt64,
    entry_page             String,
    exit_page              String,
    channel                String,
    referrer_source        String,
    referrer               String,
    utm_source             String,
    utm_medium             String,
    utm_campaign           String,
    utm_term               String,
    utm_content            String,
    click_id_platform      String,
    country                String,
    region                 String,
    device                 String,
    browser                String,
    os                     String,
    prev_visit             DateTime('UTC'),
    prev_channel           DateTime('UTC'),
    prev_referrer_source   DateTime('UTC'),
    prev_referrer          DateTime('UTC'),
    prev_utm_source        DateTime('UTC'),
    prev_utm_medium        DateTime('UTC'),
    prev_utm_campaign      DateTime('UTC'),
    prev_utm_term          DateTime('UTC'),
    prev_utm_content       DateTime('UTC'),
    prev_click_id_platform DateTime('UTC'),
    prev_entry_page        DateTime('UTC'),
    prev_exit_page         DateTime('UTC'),
    prev_country           DateTime('UTC'),
    prev_region            DateTime('UTC'),
    prev_device            DateTime('UTC'),
    prev_browser           DateTime('UTC'),
    prev_os                DateTime('UTC')
) ENGINE = MergeTree()
PARTITION BY gen
ORDER BY (site_id, day, session_id);

-- visits_open's rows summed as visits_by_day's, under the run's generation.
CREATE TABLE IF NOT EXISTS visits_by_day_open (
    site_id   String,
    unit      Date,
    gen       UInt64,
    dim       String,
    value     String,
    day       Date,
    prev_day  Date,
    visits    Int64,
    pageviews Int64,
    bounces   Int64,
    duration  Int64,
    events    Int64
) ENGINE = MergeTree()
PARTITION BY gen
ORDER BY (site_id, dim, day, unit);

-- Each site's runs (the newest wins): their generation, the first day they hold, the instant their events
-- end (bound), the site's events dated before it when the run read them, and the zone of their sums.
CREATE TABLE IF NOT EXISTS visit_open_runs (
    site_id   String,
    gen       UInt64,
    first_day Date,
    bound     DateTime('UTC'),
    prefix    UInt64,
    zone      String
) ENGINE = ReplacingMergeTree(gen)
ORDER BY site_id;

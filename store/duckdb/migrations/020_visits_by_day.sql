-- The visits counted by the site's local day (in the time zone visits_by_day_zone names), for no dimension
-- (dim '') and by each visit dimension's value: visits, pageviews, bounces, duration (microseconds)
-- and events, apart by the local day of the visitor's previous visit with the same value (prev_day, NULL
-- for none). A day-aligned range's distinct visitors are then the visits whose prev_day is before it,
-- summed without reading a visit (stats/engine.go, dayTraffic). The events writer appends the change
-- each write makes to the visits (settled false: several rows of one key, to be summed) and now and
-- then sums a day's rows into one per key (store/duckdb/visitsbyday.go).
CREATE TABLE visits_by_day (
    site_id   VARCHAR NOT NULL,
    dim       VARCHAR NOT NULL,
    value     VARCHAR NOT NULL,
    day       DATE NOT NULL,
    prev_day  DATE,
    visits    BIGINT NOT NULL,
    pageviews BIGINT NOT NULL,
    bounces   BIGINT NOT NULL,
    duration  BIGINT NOT NULL,
    events    BIGINT NOT NULL,
    settled   BOOLEAN NOT NULL
);

-- A site's row says its visits_by_day are complete in that time zone; none (a new store, a site whose
-- zone changed) and the store rebuilds them from the visits, while queries read the visits.
CREATE TABLE visits_by_day_zone (
    site_id  VARCHAR NOT NULL,
    timezone VARCHAR NOT NULL
);

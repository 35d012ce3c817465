-- One row per visit, derived from its events (the first event gives the source, the first and last
-- pageviews the entry and exit pages). The stats engine reads visits here instead of grouping every
-- event of the range on each query; InsertEvents merges each batch into it (visits.go).
CREATE TABLE sessions (
    site_id           VARCHAR NOT NULL,
    session_id        VARCHAR NOT NULL,
    visitor_id        VARCHAR NOT NULL,
    start_ts          TIMESTAMP NOT NULL,
    end_ts            TIMESTAMP NOT NULL,
    pv                BIGINT NOT NULL,
    ev                BIGINT NOT NULL,
    entry_page        VARCHAR,
    entry_ts          TIMESTAMP,
    exit_page         VARCHAR,
    exit_ts           TIMESTAMP,
    channel           VARCHAR NOT NULL,
    referrer_source   VARCHAR NOT NULL,
    referrer          VARCHAR NOT NULL,
    utm_source        VARCHAR NOT NULL,
    utm_medium        VARCHAR NOT NULL,
    utm_campaign      VARCHAR NOT NULL,
    utm_term          VARCHAR NOT NULL,
    utm_content       VARCHAR NOT NULL,
    click_id_platform VARCHAR NOT NULL,
    country           VARCHAR NOT NULL,
    region            VARCHAR NOT NULL,
    device            VARCHAR NOT NULL,
    browser           VARCHAR NOT NULL,
    os                VARCHAR NOT NULL
);
-- No primary key: DuckDB maintains an index row by row, which made refreshing thousands of visits a
-- second cost more than ingesting their events; a refresh deletes and re-inserts the visits instead.

INSERT INTO sessions
SELECT site_id, session_id, arg_min(visitor_id, ts), min(ts), max(ts),
       count(*) FILTER (WHERE name = 'pageview'), count(*) FILTER (WHERE name <> 'pageview'),
       arg_min(path, ts) FILTER (WHERE name = 'pageview'), min(ts) FILTER (WHERE name = 'pageview'),
       arg_max(path, ts) FILTER (WHERE name = 'pageview'), max(ts) FILTER (WHERE name = 'pageview'),
       arg_min(channel, ts), arg_min(referrer_source, ts), arg_min(referrer, ts), arg_min(utm_source, ts), arg_min(utm_medium, ts),
       arg_min(utm_campaign, ts), arg_min(utm_term, ts), arg_min(utm_content, ts), arg_min(click_id_platform, ts),
       arg_min(country, ts), arg_min(region, ts), arg_min(device, ts), arg_min(browser, ts), arg_min(os, ts)
FROM events GROUP BY site_id, session_id;

-- Attribution at write time (touches/): for each payment linked to a visitor, one member row per visitor
-- of the paying person (session_id '', start_ts the payment time) and one row per visit of those visitors
-- in the year before the payment, with the visit's dimension values. The stats engine credits money over
-- the rows inside a query's lookback; the maintainer rewrites a payment's rows when a write can change
-- them.
CREATE TABLE payment_touches (
    site_id           VARCHAR NOT NULL,
    payment_id        VARCHAR NOT NULL,
    person            VARCHAR NOT NULL,
    visitor_id        VARCHAR NOT NULL,
    session_id        VARCHAR NOT NULL,
    start_ts          TIMESTAMP NOT NULL,
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
    os                VARCHAR NOT NULL,
    entry_page        VARCHAR NOT NULL,
    exit_page         VARCHAR NOT NULL
);

-- A site is marked stale before its facts are written and unmarked when the process stops cleanly: a
-- store opened with a mark rebuilds the site's touches (a crash between a write and its rewrite).
CREATE TABLE touch_state (
    site_id VARCHAR PRIMARY KEY,
    stale   BOOLEAN NOT NULL
);

-- Existing installs build their touches at the first start.
INSERT INTO touch_state SELECT DISTINCT site_id, true FROM identities WHERE payment_id <> '';

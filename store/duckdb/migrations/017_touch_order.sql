-- Each visit row places itself among its payment's visits (tributary.TouchOrder), so a single-touch
-- model's pick for any lookback is a condition on one row and the store sums money without a join to the
-- links (stats/moneysql.go); a payment linked without a visitor gets a row of its own with the visit its
-- link describes. The rows are derived, so the table is made again and rebuilt at the next start.
DROP TABLE payment_touches;
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
    exit_page         VARCHAR NOT NULL,
    paid_ts           TIMESTAMP NOT NULL,
    prev_ts           TIMESTAMP NOT NULL,
    last_nd_ts        TIMESTAMP NOT NULL,
    is_last           BOOLEAN NOT NULL,
    is_last_nd        BOOLEAN NOT NULL
);
INSERT INTO touch_state SELECT DISTINCT site_id, true FROM identities WHERE payment_id <> ''
    ON CONFLICT (site_id) DO UPDATE SET stale = true;

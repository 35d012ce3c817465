-- Each visit row places itself among its payment's visits (tributary.TouchOrder), so a single-touch
-- model's pick for any lookback is a condition on one row and the store sums money without a join to the
-- links (stats/moneysql.go); a payment linked without a visitor gets a row of its own with the visit its
-- link describes. The rows are derived, so the table is made again (18.16 has no ADD COLUMN IF NOT
-- EXISTS; each statement here can run again) and every site with links is rebuilt at the next start
-- (a node name of its own: a mark cleared under 004's name has a newer version than this one's).
DROP TABLE IF EXISTS payment_touches;

CREATE TABLE IF NOT EXISTS payment_touches (
    site_id           String,
    payment_id        String,
    person            String,
    visitor_id        String,
    session_id        String,
    start_ts          DateTime('UTC'),
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
    paid_ts           DateTime('UTC'),
    prev_ts           DateTime('UTC'),
    last_nd_ts        DateTime('UTC'),
    is_last           UInt8,
    is_last_nd        UInt8,
    deleted           UInt8,
    ver               UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (site_id, payment_id, session_id, visitor_id);

INSERT INTO touch_state SELECT DISTINCT site_id, 'migration-005', 1, 1 FROM identities WHERE payment_id != '';

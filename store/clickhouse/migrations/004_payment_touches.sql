-- Attribution at write time (touches/): for each payment linked to a visitor, one member row per visitor
-- of the paying person (session_id '', start_ts the payment time) and one row per visit of those visitors
-- in the year before the payment. A rewrite of a payment inserts its rows under a new version in one
-- block, with the rows it drops marked deleted; readers take the newest version (FINAL) and skip deleted.
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
    deleted           UInt8,
    ver               UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (site_id, payment_id, session_id, visitor_id);

-- Stale marks (touches.Maintainer): one row per site and process, the newest version wins.
CREATE TABLE IF NOT EXISTS touch_state (
    site_id String,
    node    String,
    stale   UInt8,
    ver     UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (site_id, node);

-- Existing installs build their touches at the first start (a second run of this insert adds a row
-- that replaces the first).
INSERT INTO touch_state SELECT DISTINCT site_id, 'migration', 1, 1 FROM identities WHERE payment_id != '';

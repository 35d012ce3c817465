-- Each payment's pick under each single-touch model at the default lookback (30 days): the payment
-- touches' row the model credits (tributary.TouchOrder; an unattributed payment's own row under every
-- model, a member row never), copied with its visit values. The money statement of a query at the default
-- lookback reads a model's rows here instead of applying the pick's condition to every touch row of the
-- site, which read every row's ids and times (stats/moneysql.go). ReplaceTouches rewrites a payment's
-- picks with its touches, in the same transaction (store/duckdb/touches.go: pickedRows, the same
-- condition as below; TestPaymentPicksFollowTouches checks the two agree).
CREATE TABLE payment_picks AS
SELECT site_id, m.model AS model, payment_id, channel, referrer_source, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    click_id_platform, country, region, device, browser, os, entry_page, exit_page
FROM payment_touches, (VALUES ('first_touch'), ('last_touch'), ('last_non_direct')) m(model)
WHERE (session_id = '' AND visitor_id = '')
    OR (session_id <> '' AND start_ts >= paid_ts - INTERVAL 2592000 SECOND AND CASE m.model
        WHEN 'first_touch' THEN prev_ts < paid_ts - INTERVAL 2592000 SECOND
        WHEN 'last_touch' THEN is_last
        ELSE is_last_nd OR (is_last AND last_nd_ts < paid_ts - INTERVAL 2592000 SECOND) END)
ORDER BY site_id, m.model, payment_id;

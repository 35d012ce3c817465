-- Each visit keeps the start of the visitor's previous visit, overall (prev_visit) and with the same value
-- of each visit dimension (prev_<column>). Among a range's visits, those whose prev is absent or before
-- the range are each visitor's first of their group, so distinct visitors are counted by counting them,
-- not with a distinct aggregate (the cost of every traffic query before). store/duckdb/prevs.go keeps
-- them current (writePrevs); the windows below are the definition, and prevWindows in
-- firsts_test.go, the oracle it is checked against, must match them.
ALTER TABLE sessions ADD COLUMN prev_visit TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_channel TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_referrer_source TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_referrer TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_utm_source TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_utm_medium TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_utm_campaign TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_utm_term TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_utm_content TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_click_id_platform TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_entry_page TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_exit_page TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_country TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_region TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_device TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_browser TIMESTAMP;
ALTER TABLE sessions ADD COLUMN prev_os TIMESTAMP;

-- Rebuild in time order, so range queries skip the row groups outside the range.
CREATE TABLE sessions_rebuild AS SELECT site_id, session_id, visitor_id, start_ts, end_ts, pv, ev, entry_page, entry_ts, exit_page, exit_ts, channel, referrer_source, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_platform, country, region, device, browser, os,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id ORDER BY start_ts, session_id) AS prev_visit,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(channel, '') ORDER BY start_ts, session_id) AS prev_channel,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(referrer_source, '') ORDER BY start_ts, session_id) AS prev_referrer_source,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(referrer, '') ORDER BY start_ts, session_id) AS prev_referrer,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(utm_source, '') ORDER BY start_ts, session_id) AS prev_utm_source,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(utm_medium, '') ORDER BY start_ts, session_id) AS prev_utm_medium,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(utm_campaign, '') ORDER BY start_ts, session_id) AS prev_utm_campaign,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(utm_term, '') ORDER BY start_ts, session_id) AS prev_utm_term,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(utm_content, '') ORDER BY start_ts, session_id) AS prev_utm_content,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(click_id_platform, '') ORDER BY start_ts, session_id) AS prev_click_id_platform,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(entry_page, '') ORDER BY start_ts, session_id) AS prev_entry_page,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(exit_page, '') ORDER BY start_ts, session_id) AS prev_exit_page,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(country, '') ORDER BY start_ts, session_id) AS prev_country,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(region, '') ORDER BY start_ts, session_id) AS prev_region,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(device, '') ORDER BY start_ts, session_id) AS prev_device,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(browser, '') ORDER BY start_ts, session_id) AS prev_browser,
    lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce(os, '') ORDER BY start_ts, session_id) AS prev_os
FROM sessions;
DELETE FROM sessions;
INSERT INTO sessions SELECT * FROM sessions_rebuild ORDER BY start_ts;
DROP TABLE sessions_rebuild;

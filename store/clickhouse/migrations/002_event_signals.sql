-- Destinations (issue 22). click_id_param: which landing-page parameter carried an event's click id
-- (Google Ads takes gclid, gbraid and wbraid in fields of their own); events stored before keep ''
-- (read as gclid). fbp: Meta's browser id (the _fbp cookie) on pageviews, for the Meta destination.
-- 18.16 has no ADD COLUMN IF NOT EXISTS: the migration runner takes "already exists" as done, so a
-- rerun is safe.
ALTER TABLE events ADD COLUMN click_id_param String DEFAULT '';
ALTER TABLE events ADD COLUMN fbp String DEFAULT '';

-- Which landing-page parameter carried an event's click id (issue 22): Google Ads takes gclid, gbraid
-- and wbraid in fields of their own. Events stored before keep '' (read as gclid). 18.16 has no ADD
-- COLUMN IF NOT EXISTS: the migration runner takes "already exists" as done, so a rerun is safe.
ALTER TABLE events ADD COLUMN click_id_param String DEFAULT '';

-- Which landing-page parameter carried an event's click id (issue 22): Google Ads takes gclid, gbraid
-- and wbraid in fields of their own and refuses an iOS click's gbraid sent as a gclid. Events stored
-- before keep '' (read as gclid, as they were sent). The column is the table's last, where the
-- Appender writes it.
ALTER TABLE events ADD COLUMN click_id_param VARCHAR DEFAULT '';

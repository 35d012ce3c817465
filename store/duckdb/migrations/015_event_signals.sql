-- Destinations (issue 22). click_id_param: which landing-page parameter carried an event's click id:
-- Google Ads takes gclid, gbraid and wbraid in fields of their own and refuses an iOS click's gbraid
-- sent as a gclid. Events stored before keep '' (read as gclid, as they were sent). fbp: Meta's
-- browser id (its pixel's _fbp cookie), on pageviews of visitors who did not decline consent, for the
-- Meta destination. The columns are the table's last, in the order the Appender writes them.
ALTER TABLE events ADD COLUMN click_id_param VARCHAR DEFAULT '';
ALTER TABLE events ADD COLUMN fbp VARCHAR DEFAULT '';

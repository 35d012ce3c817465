-- Visits are derived in each batch's own transaction (store/duckdb/visits.go), so a store never holds
-- events without their visits; the repair of the last day's visits at every start is needed once more
-- only, for a store last written by a build that derived visits in the background.
INSERT INTO settings (key, value) VALUES ('visits_repair', 'pending') ON CONFLICT (key) DO UPDATE SET value = 'pending';

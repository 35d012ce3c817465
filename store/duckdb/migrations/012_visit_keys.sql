-- Hashed keys of each visit's session and visitor: the visits sync finds a visit's row and a visitor's
-- visits through them. Tracker ids are random strings, so a join on them reads every stored id (about
-- 30 ms per lookup at three million visits) where the keys take a few. store/duckdb/visits.go fills
-- them as the store opens (and again should DuckDB's hash function ever change) and keeps them current.
ALTER TABLE sessions ADD COLUMN session_key UBIGINT;
ALTER TABLE sessions ADD COLUMN visitor_key UBIGINT;

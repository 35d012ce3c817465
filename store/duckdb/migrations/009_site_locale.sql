-- The locale numbers and money are shown in (numfmt); existing sites keep the former en-US formatting.
-- DuckDB cannot add a column with NOT NULL, so the store always writes a value (Site.Normalize defaults it).
ALTER TABLE sites ADD COLUMN locale VARCHAR DEFAULT 'en-US';

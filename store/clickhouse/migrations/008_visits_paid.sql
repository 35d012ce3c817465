-- The finished visits of the visitors with a payment link (store/clickhouse/visitspaid.go), so a query
-- counting the paying visitors of a range reads a few rows per payer instead of every visit of the range.
--
-- visits_paid holds, under a visits_done day and generation, that generation's rows (the columns a count
-- by value needs) of the visitors that identities links to a payment; rows are only ever added, and a
-- visitor's rows may be there twice (the count is distinct). visit_paid_marks records for each day and
-- generation the write-order mark the rows cover (every link with rowid <= mark) and how many links had
-- rowid <= mark when the job read it: a reader trusts the mark only while that count holds (a link with a
-- smaller rowid written later, by another node or an insert in flight, changes it) and reads the links
-- after the mark's visitors from visits_done. Of two records of one mark the one with more links is the
-- newer (links are never removed), so readers take the highest mark and, for it, the most links; a merge
-- keeps the last written of equal marks, which at worst makes a reader distrust the day and the job copy
-- it again.
CREATE TABLE IF NOT EXISTS visits_paid (
    site_id           String,
    day               Date,
    gen               UInt64,
    visitor_id        String,
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
    entry_page        String,
    exit_page         String,
    country           String,
    region            String,
    device            String,
    browser           String,
    os                String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, gen, visitor_id);

CREATE TABLE IF NOT EXISTS visit_paid_marks (
    site_id String,
    day     Date,
    gen     UInt64,
    mark    UInt64,
    links   UInt64
) ENGINE = ReplacingMergeTree(mark)
ORDER BY (site_id, day, gen);

package duckdb

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// The first page after a start read its tables' blocks from the store file into DuckDB's cache, and
// paid for it: at 10M events a breakdown took 58–77 ms after a restart against 20–30 ms once they were
// cached (docs/benchmarks.md). A store opened with WarmCache reads the tables the pages read, before
// Open returns, so a server is warm before it listens. They are the small tables the store keeps for
// queries (the events and visits are read through them), so this costs about 150 ms and 20 MB of cache
// at 10M events.

// warmTables are the tables warmCache reads, in order: what most pages read first.
var warmTables = []string{"visits_by_day", "visits_by_day_zone", "ledger", "payment_picks", "paid_links", "payer_visits", "mrr_movements"}

// warmShare is the part of DuckDB's memory limit warmCache may read into the cache: the rest stays for
// queries and writes, which would evict what was read anyway.
const warmShare = 4

// defaultWarmBudget bounds the warm cache of a store without a memory limit (DuckDB then keeps 80 % of
// RAM): what warmShare leaves of the served default, 256 MB.
const defaultWarmBudget = 64 << 20

// WarmCache makes Open read the tables the dashboard reads into DuckDB's cache before it returns, so the
// first page after a start does not wait on the store file. For `tributary serve`; the commands that
// open the store to do one thing go without it.
func WarmCache() Option { return func(s *settings) { s.warm = true } }

// warmCache reads every column of warmTables, table by table until the blocks it has read (their count
// in the store file, at DuckDB's block size) reach budget bytes, and logs what it read. It counts what
// it reads, not what DuckDB holds: after Open has rebuilt the payment touches (a 100M-event store's
// first open) DuckDB held more than the budget in that work's blocks, and a warming that counted them
// read nothing, though the first page needs these tables and not those blocks (DuckDB evicts them as its
// limit requires). A table that cannot be read ends the warming: it is a cache, not a step Open needs.
func (s *Store) warmCache(ctx context.Context, budget int64) {
	start := time.Now()
	var read []string
	var blockSize, spent int64
	if err := s.db.QueryRowContext(ctx, `SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()`).Scan(&blockSize); err != nil {
		s.log.Warn("duckdb: cache not warmed", slog.Any("err", fmt.Errorf("duckdb: read the block size: %w", err)))
		return
	}
	for _, table := range warmTables {
		if spent >= budget {
			break
		}
		var blocks int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT block_id) FROM pragma_storage_info('`+table+`') WHERE block_id >= 0`).Scan(&blocks); err != nil {
			s.log.Warn("duckdb: cache not warmed", slog.String("table", table), slog.Any("err", fmt.Errorf("duckdb: blocks of %s: %w", table, err)))
			return
		}
		if err := s.readTable(ctx, table); err != nil {
			s.log.Warn("duckdb: cache not warmed", slog.String("table", table), slog.Any("err", err))
			return
		}
		spent += blocks * blockSize
		read = append(read, table)
	}
	s.log.Info("duckdb: cache warmed", slog.String("tables", strings.Join(read, " ")), slog.Duration("took", time.Since(start)))
}

// readTable reads every column of table (the largest value of each), which brings each column's blocks
// into DuckDB's cache.
func (s *Store) readTable(ctx context.Context, table string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = $1`, table)
	if err != nil {
		return fmt.Errorf("duckdb: columns of %s: %w", table, err)
	}
	var aggs []string
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			rows.Close()
			return fmt.Errorf("duckdb: columns of %s: %w", table, err)
		}
		aggs = append(aggs, `max("`+strings.ReplaceAll(col, `"`, `""`)+`")`)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("duckdb: columns of %s: %w", table, err)
	}
	if len(aggs) == 0 {
		return nil
	}
	res, err := s.db.QueryContext(ctx, `SELECT `+strings.Join(aggs, ", ")+` FROM `+table)
	if err != nil {
		return fmt.Errorf("duckdb: read %s: %w", table, err)
	}
	defer res.Close()
	for res.Next() {
	}
	return res.Err()
}

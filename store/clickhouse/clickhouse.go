// Package clickhouse is the scale-out EventStore: events, ledger entries, identities and MRR movements in
// ClickHouse, selected by --events-dsn clickhouse://user:password@host:9000/database.
//
// # Protocol
//
// The store speaks ClickHouse's native protocol through github.com/ClickHouse/clickhouse-go/v2, through
// its database/sql interface, so the stats engine (which takes a *sql.DB) runs on the same handle. The
// native protocol negotiates its revision with the server, so one client serves Debian's 18.16 (what CI
// runs, and the only version tested here) and current releases. The driver's HTTP mode does not: it asks the server for
// a client_protocol_version setting that 18.16 rejects. Parameters are bound by the driver on the client
// side with its quoting ($1-style numbers, so the stats engine's placeholders work unchanged); batches are
// sent as one native INSERT block per call.
//
// # What differs from the embedded store
//
//   - No transactions and no unique keys. InsertLedger and InsertMRRMovements look the ids up first and
//     insert only new ones, like the other backends; two writers racing on one id can still both insert,
//     so the facts live in ReplacingMergeTree tables (ledger_facts, mrr_movement_facts) and every read,
//     the stats engine's too, goes through the ledger and mrr_movements views, which keep the first write
//     of each id. A fact written twice therefore counts once.
//   - Ids are unique per site (site_id, id), where DuckDB's primary key is the id alone.
//   - Timestamps are DateTime('UTC'), whole seconds (18.16 has no DateTime64); sub-second parts are
//     dropped on insert.
//   - Event props are stored as JSON text and as parallel key/value arrays, which stats.ClickHouse reads.
//   - DeleteSiteData is an ALTER … DELETE mutation; the call waits until the mutations are done.
//   - The views group the whole facts table by id on every read, a cost that grows with the table;
//     ledgers and MRR movements are small next to events, but no benchmark pins it yet.
//   - Migrations (migrations/*.sql) run one statement at a time, outside any transaction, so each
//     statement must be safe to run again (IF NOT EXISTS); schema_migrations records what ran, once the
//     migration's mutations are done.
//
// # Visits
//
// Migration 003 keeps visits as a table: visits (an AggregatingMergeTree of aggregate states, one
// partial row per visit and UTC day of each insert) is written by the materialized view visits_mv in the
// same INSERT that writes the events, so nothing has to sync it and several nodes can write at once.
// Rows of one visit are folded together by background merges, and readers merge what is left (the
// …Merge combinators grouped by visit), so an answer never depends on whether a merge has run. While an
// insert runs, a reader can see its events before their visit rows (ClickHouse writes the table, then
// its views): a visit then lacks its newest events for that moment, and nothing is ever counted twice.
// An insert whose view write fails has stored its events all the same; the writer's retry then stores
// them again, as a retry after a lost answer always could.
//
// Upgrading. The migration creates the view, then backfills the events dated before the view's creation
// (system.tables' metadata_modification_time). With nothing else writing events while it runs, which is
// the case when the first upgraded node starts alone (a node migrates before it serves), the result is
// exact. Nodes of the previous release that keep ingesting meanwhile can leave it off in the second of
// the switch: an event dated at or after the view's creation but written just before it is in events
// and not in visits (event-level panels count it, visit-level ones do not), and a late event dated
// before the cut written between the view's creation and the backfill's start is counted twice in its
// visit's pageviews or events. The backfill groups the whole events table in one query; a run that
// stops midway is replaced by the next (its rows are marked backfilled). Two upgraded nodes starting at
// the same moment would both backfill: start one first.
//
// # Finished visits
//
// Merging the visits table's states costs a GROUP BY over every visit of a range on every query. Migration
// 006 adds visits_done, plain rows of the visits that start on a finished UTC day (the day after it is
// over too: a visit lasts less than a day), which the store writes itself: a job every minute
// (FinishVisits; Open starts it, Close stops it) writes the finished days that lack a current generation,
// and records each day in visit_days with the events its rows were built from (visit_day_events, a view's
// count of events by day). Readers take a day from visits_done only while those counts still hold and
// merge the visits table for every other day, so a late event, a job stopped halfway or two nodes
// running the job at once never make a query count a visit twice or miss one; the day is simply merged
// until the next run writes it again (visitsdone.go has the details). A site's deletion waits for this
// process's job; a node deleting a site while another node's job runs can leave that job's rows
// recorded, counted again only if the same days are written back with the same numbers of events.
//
// Migration 007 adds the visits summed by local day, which the same job (every minute) keeps for each
// site whose zone Open's Zones option names: finished days' sums under their visits_done generation, and
// a run of yesterday's and today's visits up to two minutes ago; stats answers unfiltered queries over
// whole days from them and the visits after the run (visitsday.go has the design).
//
// Migration 008 adds the payers' finished visits (visits_paid), which the same job copies for every
// finished day up to a mark of the payment links it read; stats counts a range's paying visitors from
// them while the mark holds (visitspaid.go has the rules).
//
// Migration 009 adds two tables the money statements read with FINAL: ledger_entries, every ledger fact
// again (a materialized view feeds it) sorted by id alone, and payment_picks, each payment's pick per
// single-touch model, which ReplaceTouches writes after the payment's touches (touches.go). Upgrading:
// stop every node of an earlier release before the first upgraded node starts. An earlier node keeps
// writing touches without picks (its payments' money would be credited by their old picks until a new
// node rewrites them) and deletes a site without these tables; an insert of ledger facts it has in
// flight while the view is created can miss both the view and the backfill.
//
// # Stats
//
// stats.NewEngine(s.DB(), stats.ClickHouse{}) answers the same queries as the embedded store: the
// dialect reads visits from visits_done and the visits table (stats.ClickHouse.Visits), as DuckDB reads
// its sessions table. clickhouse_test.go compares both backends query by query, visits_test.go with
// visits written in several inserts and across the backfill, visitsdone_test.go with finished days
// around late events, re-runs and two nodes, visitspaid_test.go with the payers' copies around new links,
// renewals and links under a mark, and the cross-backend correctness suite (stats/statstest)
// runs here as on DuckDB, with and without every day finished.
package clickhouse

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/migrate"
	"github.com/tributary/tributary/touches"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the ClickHouse EventStore.
type Store struct {
	db *sql.DB
	// reads is the stats engine's handle (DB): the same server, asking it to keep the blocks its pages
	// read decompressed (readSettings).
	reads *sql.DB
	now   func() time.Time

	// seqMu guards lastSeq, the write-order clock behind identities.rowid and the facts' ver.
	seqMu   sync.Mutex
	lastSeq uint64

	// touches keeps the payment touches after each write (touches.go); node names this process in
	// their stale marks.
	touches *touches.Maintainer
	node    string
	log     *slog.Logger

	// zones names the sites' time zones for the visits by day (Zones); nil: none are kept.
	zones func(ctx context.Context) (map[string]string, error)
	// nextOpen is when (Unix nanoseconds) the job may write the open days again (FinishVisits).
	nextOpen atomic.Int64
	// superseded is when this process's job first found each run's partition read by no site (dropRuns,
	// under finishMu).
	superseded map[string]time.Time

	// finishMu serializes this process's runs of the finished-visits job (visitsdone.go) and site
	// deletions; stopFinish ends the background loop, which closes finishDone.
	finishMu   sync.Mutex
	stopFinish chan struct{}
	finishDone chan struct{}
}

var _ tributary.EventStore = (*Store)(nil)

// Option is a setting of Open.
type Option func(*Store)

// Logger is where the store reports its background work (the touches rebuilt at a start, a failed
// rewrite or finishing run); without it, or with nil, slog.Default().
func Logger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.log = l
		}
	}
}

// Open connects to the server named by dsn (clickhouse://user:password@host:9000/database?dial_timeout=5s,
// the options of clickhouse-go's ParseDSN) and applies pending migrations.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	if !strings.HasPrefix(dsn, "clickhouse://") && !strings.HasPrefix(dsn, "tcp://") {
		return nil, &tributary.Error{Code: tributary.EINVALID, Field: "events-dsn",
			Message: "a ClickHouse DSN starts with clickhouse:// (the native protocol, port 9000)"}
	}
	chOpts, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, &tributary.Error{Code: tributary.EINVALID, Field: "events-dsn", Message: "invalid ClickHouse DSN", Err: err}
	}
	if chOpts.Protocol != ch.Native {
		return nil, &tributary.Error{Code: tributary.EINVALID, Field: "events-dsn", Message: "only the native protocol works on every supported ClickHouse"}
	}
	if chOpts.DialTimeout == 0 {
		chOpts.DialTimeout = 5 * time.Second
	}
	db := ch.OpenDB(chOpts)
	s := &Store{db: db, reads: ch.OpenDB(readOptions(chOpts)), now: time.Now, log: slog.Default(), superseded: map[string]time.Time{}}
	for _, o := range opts {
		o(s)
	}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		s.reads.Close()
		return nil, err
	}
	// A query, not a ping, so that a setting the server refuses shows now rather than in the first page.
	var one uint8
	if err := s.reads.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		db.Close()
		s.reads.Close()
		return nil, mapErr("open the stats engine's connection", err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		s.reads.Close()
		return nil, err
	}
	s.node = newNode()
	s.touches = touches.New(s, s.log, touches.Shared)
	if err := s.touches.Open(ctx); err != nil {
		db.Close()
		s.reads.Close()
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	s.stopFinish, s.finishDone = make(chan struct{}), make(chan struct{})
	go s.finishLoop(s.stopFinish, s.finishDone)
	return s, nil
}

// DB exposes the database handle for the stats engine (stats.NewEngine(s.DB(), stats.ClickHouse{})):
// its statements run with readSettings.
func (s *Store) DB() *sql.DB { return s.reads }

// readSettings are the query settings of the stats engine's handle, unless the DSN names them. A page
// reads the same blocks again and again (the month of finished visits, the ledger's facts, the
// touches): ClickHouse's cache of decompressed blocks (the server's uncompressed_cache_size, 8 GiB in
// its stock config) spares it their decompression, a fifth to a quarter of a 10M-event page's time.
// The server leaves that cache out of any query reading more rows than merge_tree_max_rows_to_use_cache
// (1M by default, about what a month's breakdown reads at 10M events): 16M keeps it for a month at
// 100M. The finishing job's scans use the other handle, so they do not push the pages' blocks out.
var readSettings = ch.Settings{"use_uncompressed_cache": 1, "merge_tree_max_rows_to_use_cache": 16 << 20}

// readOptions is o for the stats engine's handle: with readSettings where o names none of them.
func readOptions(o *ch.Options) *ch.Options {
	r := *o
	r.Settings = ch.Settings{}
	for k, v := range o.Settings {
		r.Settings[k] = v
	}
	for k, v := range readSettings {
		if _, ok := r.Settings[k]; !ok {
			r.Settings[k] = v
		}
	}
	return &r
}

// Ping reports whether the server answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one uint8
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	if s.stopFinish != nil {
		close(s.stopFinish)
		<-s.finishDone
	}
	if s.touches != nil {
		// A clean stop has nothing stale: every write rewrote its touches as it committed.
		s.touches.Close(context.Background())
	}
	return errors.Join(s.db.Close(), s.reads.Close())
}

// seq returns a strictly increasing number near the current time in nanoseconds: the write order of
// this process, which breaks ties between facts of the same second.
func (s *Store) seq() uint64 {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	n := uint64(s.now().UnixNano())
	if n <= s.lastSeq {
		n = s.lastSeq + 1
	}
	s.lastSeq = n
	return n
}

// firstWins turns a write-order number into a ReplacingMergeTree version that is larger for earlier
// writes, so merges and argMax reads keep the first write of an id.
func firstWins(seq uint64) uint64 { return math.MaxUint64 - seq }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime('UTC'))
		ENGINE = ReplacingMergeTree() ORDER BY version`); err != nil {
		return mapErr("create schema_migrations", err)
	}
	// Every migration not recorded runs, not only those above the highest recorded: numbers are handed
	// out ahead and land in any order (004 shipped before 003), and a database migrated past a number
	// still needs that number's migration.
	applied := map[uint32]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT version FROM schema_migrations`)
	if err != nil {
		return mapErr("read schema versions", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return mapErr("read schema versions", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mapErr("read schema versions", err)
	}
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[uint32(m.Version)] {
			continue
		}
		for _, stmt := range splitStatements(m.SQL) {
			if _, err := s.db.ExecContext(ctx, stmt); err != nil && !columnExists(stmt, err) {
				return fmt.Errorf("clickhouse: migration %s: %w", m.Name, err)
			}
		}
		// A migration's mutations (ALTER … DELETE) run in the background; it counts as applied once they
		// are done, so nothing reads a table half rewritten by one.
		if err := s.waitMutations(ctx, "migration "+m.Name+": wait for mutations"); err != nil {
			return err
		}
		// An INSERT … VALUES sent as a plain query waits forever for a data block on 18.16; rows go
		// through the driver's batch, like every other insert here.
		err := s.batch(ctx, "record migration "+m.Name, `INSERT INTO schema_migrations (version, name, applied_at)`, 1, func(int) []any {
			return []any{uint32(m.Version), m.Name, s.now().UTC()}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// columnExists says whether a failed statement is an ADD COLUMN whose column is already there (a
// migration run again after it stopped before being recorded): 18.16 has no ADD COLUMN IF NOT EXISTS,
// so the column's existence is the statement's success.
func columnExists(stmt string, err error) bool {
	var ex *ch.Exception
	return strings.Contains(strings.ToUpper(stmt), "ADD COLUMN") && errors.As(err, &ex) && ex.Code == 44 && strings.Contains(ex.Message, "already exists")
}

// splitStatements cuts a migration into statements at semicolons outside quotes and comments, dropping
// the comments, because the server takes one statement per query.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if st := strings.TrimSpace(cur.String()); st != "" {
			out = append(out, st)
		}
		cur.Reset()
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			cur.WriteByte('\n')
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				j = len(src) - 1
			}
			cur.WriteString(src[i : j+1])
			i = j
		case c == ';':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// mapErr turns driver errors into coded domain errors: a missing row is ENOTFOUND, a server that cannot
// be reached is EUNAVAILABLE, and an error the server raised keeps its message.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &tributary.Error{Code: tributary.ENOTFOUND, Message: "not found", Err: err}
	}
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return fmt.Errorf("clickhouse: %s: %w", op, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) {
		return unavailable(op, err)
	}
	return fmt.Errorf("clickhouse: %s: %w", op, err)
}

func unavailable(op string, err error) error {
	return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "event store unavailable", Err: fmt.Errorf("clickhouse: %s: %w", op, err)}
}

func notFound(what, id string) error {
	return &tributary.Error{Code: tributary.ENOTFOUND, Message: what + " not found", Err: fmt.Errorf("clickhouse: %s %q not found", what, id)}
}

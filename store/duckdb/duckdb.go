// Package duckdb is the embedded backend: one DuckDB file implements both the MetaStore and the
// EventStore. Only one process may open the file, so every admin action goes through the running server.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/migrate"
	"github.com/tributary/tributary/store/sqlmeta"
	"github.com/tributary/tributary/touches"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the store file inside the data directory.
const FileName = "tributary.duckdb"

// Store is the DuckDB backend.
type Store struct {
	// sqlmeta.Store is the MetaStore this store shares with PostgreSQL (users, sites, keys, settings,
	// server events, Stripe state).
	sqlmeta.Store

	db        *sql.DB
	connector *duck.Connector
	path      string

	// appendMu serialises Appender use: one appender connection, reused across batches.
	appendMu sync.Mutex
	appConn  *sql.Conn

	// paidMu serialises the writes of links to payments and of payment entries, each of which rewrites
	// the paid_links rows of its payments from what the other has committed (paidlinks.go). Whoever
	// holds both takes paidMu first.
	paidMu sync.Mutex

	// inboxMu orders writes that DuckDB would otherwise reject as concurrent conflicts on one row.
	inboxMu sync.Mutex

	// touches keeps the payment touches after each write (touches.go).
	touches *touches.Maintainer
	log     *slog.Logger

	// group commits webhook deliveries in groups (groupcommit.go).
	group *groupCommitter

	// threads is DuckDB's threads setting as the store opened, restored after each write's visits
	// derivation, which runs on one (oneThread).
	threads int

	// leanWrites: events are written with the allocator's decay at 0 and queries run at queryDecay
	// (decay.go), for a store with a memory limit whose environment does not configure jemalloc itself.
	leanWrites bool

	// daysCancel stops the visits_by_day rebuild Open starts; daysBuilt is closed when it has ended.
	daysCancel context.CancelFunc
	daysBuilt  chan struct{}
}

var (
	_ tributary.MetaStore  = (*Store)(nil)
	_ tributary.EventStore = (*Store)(nil)
)

// Option sets one of DuckDB's settings when Open starts the database.
type Option func(*settings)

// settings are the DuckDB settings Open applies; zero values leave DuckDB's own defaults.
type settings struct {
	memoryLimit int64
	warm        bool         // WarmCache
	log         *slog.Logger // Logger
}

// MemoryLimit bounds DuckDB's buffer manager in bytes (its memory_limit setting: the cached blocks of
// the store file and the working memory of queries, which spill to a temporary directory beside the
// store file beyond it); 0 keeps DuckDB's default, 80 % of the machine's RAM. The Go heap is not in it.
//
// With a limit, DuckDB's allocator also hands freed memory back sooner: it flushes its thread caches
// once a task has allocated an eighth of the limit (allocator_flush_threshold, 128 MiB by default, which
// alone is twice a small limit) and purges freed pages in a background thread. And on Linux, where
// DuckDB bundles jemalloc, the store writes events with the allocator's decay at 0, so the pages a
// write frees go back to the system at once, while queries run at a decay of 30 s (decay.go).
// DUCKDB_JE_MALLOC_CONF in the environment, jemalloc's own configuration, is left to
// rule.
func MemoryLimit(bytes int64) Option { return func(s *settings) { s.memoryLimit = bytes } }

// Logger is where the store reports its own work (warming, rebuilds, background failures); without it,
// slog.Default().
func Logger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// dsn is the connector's DSN: the file path with the settings as query parameters, which DuckDB applies
// as it starts the database, before it caches anything.
func (s settings) dsn(path string) string {
	q := url.Values{}
	if s.memoryLimit > 0 {
		q.Set("memory_limit", strconv.FormatInt(s.memoryLimit, 10)+"B")
		if flush := s.memoryLimit / 8; flush < 128<<20 {
			q.Set("allocator_flush_threshold", strconv.FormatInt(flush, 10)+"B")
		}
		q.Set("allocator_background_threads", "true")
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Open opens (creating when absent) the store file in dataDir and applies pending migrations. An empty
// dataDir opens a private in-memory database, for tests. Options set DuckDB's memory limit and whether
// Open warms DuckDB's cache (WarmCache).
func Open(ctx context.Context, dataDir string, opts ...Option) (*Store, error) {
	var set settings
	for _, o := range opts {
		o(&set)
	}
	if set.memoryLimit < 0 {
		return nil, fmt.Errorf("duckdb: memory limit %d bytes must not be negative (0 keeps DuckDB's default)", set.memoryLimit)
	}
	path := ""
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("duckdb: create data dir %s: %w", dataDir, err)
		}
		path = filepath.Join(dataDir, FileName)
	}
	connector, err := duck.NewConnector(set.dsn(path), nil)
	if err != nil {
		if strings.Contains(err.Error(), "lock") {
			return nil, fmt.Errorf("duckdb: open %s: another process holds the store (only one tributary may open a data dir; stop it or use another --data-dir): %w", path, err)
		}
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	if set.log == nil {
		set.log = slog.Default()
	}
	s := &Store{db: db, connector: connector, path: path, log: set.log,
		leanWrites: set.memoryLimit > 0 && os.Getenv("DUCKDB_JE_MALLOC_CONF") == ""}
	s.touches = touches.New(s, s.log, 0)
	s.Store = sqlmeta.Store{DB: db, Backend: "duckdb", Conflict: isConstraint, Writes: &s.inboxMu}
	if err := db.QueryRowContext(ctx, `SELECT current_setting('threads')`).Scan(&s.threads); err != nil {
		s.Close()
		return nil, fmt.Errorf("duckdb: read threads: %w", err)
	}
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := migrate.Apply(ctx, db, ms, nil); err != nil {
		s.Close()
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	if err := s.fillVisitKeys(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("duckdb: visit keys: %w", err)
	}
	if err := s.repairSessionsOnce(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("duckdb: repair visits: %w", err)
	}
	if err := s.touches.Open(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	if s.leanWrites {
		// The decay is the process's; a failure leaves DuckDB's, which answers the same, only slower after
		// a pause.
		if _, err := setAllocatorDecay(queryDecay); err != nil {
			s.log.Warn("duckdb: allocator decay for queries not set", slog.Any("err", err))
		}
	}
	if set.warm && path != "" {
		budget := int64(defaultWarmBudget)
		if set.memoryLimit > 0 {
			budget = set.memoryLimit / warmShare
		}
		s.warmCache(ctx, budget)
	}
	s.startGroupCommit()
	s.startVisitsByDay()
	return s, nil
}

// DB exposes the database handle for packages that build SQL for this backend (the stats dialect).
func (s *Store) DB() *sql.DB { return s.db }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "embedded store unreachable", Err: err}
	}
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "embedded store unreachable", Err: err}
	}
	return nil
}

// Close releases the file; a checkpoint makes the next start fast.
func (s *Store) Close() error {
	s.stopGroupCommit()
	if s.daysCancel != nil {
		s.daysCancel()
		<-s.daysBuilt
	}
	if s.touches != nil {
		// A clean stop has nothing stale: every write rewrote its touches as it committed.
		s.touches.Close(context.Background())
	}
	s.appendMu.Lock()
	if s.appConn != nil {
		s.appConn.Close()
		s.appConn = nil
	}
	s.appendMu.Unlock()
	if s.path != "" {
		s.db.Exec(`CHECKPOINT`)
	}
	err := s.db.Close()
	if cerr := s.connector.Close(); err == nil {
		err = cerr
	}
	return err
}

// withAppender runs fn with an appender on table, flushing at the end, then (when given) then on the
// same connection, in one transaction with the appended rows. The appender connection is kept for the
// store's life because opening one per batch costs more than the batch.
func (s *Store) withAppender(ctx context.Context, table string, then func(*sql.Conn) error, fn func(a *duck.Appender) error) error {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if s.appConn == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return unavailable("open appender connection", err)
		}
		s.appConn = c
	}
	err := func() error {
		if then != nil {
			if _, err := s.appConn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
				return err
			}
		}
		err := s.appConn.Raw(func(dc any) error {
			a, err := duck.NewAppenderFromConn(dc.(driver.Conn), "", table)
			if err != nil {
				return err
			}
			if err := fn(a); err != nil {
				a.Close()
				return err
			}
			return a.Close()
		})
		if err == nil && then != nil {
			err = then(s.appConn)
		}
		if then != nil {
			if err != nil {
				rollback(ctx, s.appConn)
				return err
			}
			_, err = s.appConn.ExecContext(ctx, `COMMIT`)
		}
		return err
	}()
	if err != nil {
		// A failed appender may leave the connection unusable; start over next time.
		s.appConn.Close()
		s.appConn = nil
	}
	return err
}

// rollback ends the transaction c began with BEGIN. A connection whose ROLLBACK failed is discarded
// rather than returned to the pool, where the next user would find the transaction still open.
func rollback(ctx context.Context, c *sql.Conn) {
	if _, err := c.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); err != nil {
		c.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// mapErr turns driver errors into coded domain errors.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if isConstraint(err) {
		return &tributary.Error{Code: tributary.ECONFLICT, Message: "already exists", Err: fmt.Errorf("duckdb: %s: %w", op, err)}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &tributary.Error{Code: tributary.ENOTFOUND, Message: "not found", Err: err}
	}
	return fmt.Errorf("duckdb: %s: %w", op, err)
}

// isConstraint reports a unique or primary key violation.
func isConstraint(err error) bool {
	var de *duck.Error
	return errors.As(err, &de) && de.Type == duck.ErrorTypeConstraint
}

// notFound is the coded error for a missing row.
var notFound = sqlmeta.NotFound

func unavailable(op string, err error) error {
	return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "store unavailable", Err: fmt.Errorf("duckdb: %s: %w", op, err)}
}

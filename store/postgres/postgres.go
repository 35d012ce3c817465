// Package postgres is the MetaStore on PostgreSQL (pgx v5 through database/sql), chosen by
// --meta-dsn postgres://user:password@host:5432/database?sslmode=verify-full. Several tributary nodes
// share it: the webhook inbox is claimed with FOR UPDATE SKIP LOCKED, so no two nodes process one
// delivery at once; idempotency keys (Stripe and server event ids) are primary keys; API-key token
// buckets live in rate_buckets so a key's limit holds across nodes; migrations take an advisory lock, so
// nodes starting together migrate once.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ratelimit"
	"github.com/tributary/tributary/store/migrate"
	"github.com/tributary/tributary/store/sqlmeta"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL MetaStore.
type Store struct {
	// sqlmeta.Store is the MetaStore this store shares with the embedded one.
	sqlmeta.Store

	db *sql.DB
	// inboxMu orders the shared writes that touch inbox rows, as on the embedded store; PostgreSQL's row
	// locks do the real ordering between nodes.
	inboxMu sync.Mutex
}

var (
	_ tributary.MetaStore = (*Store)(nil)
	_ ratelimit.Limiter   = (*Store)(nil)
)

// migrationLock is the advisory lock key nodes take while migrating ("tributary" in ASCII).
const migrationLock = 0x7472696275746172

// Open connects and applies pending migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, &tributary.Error{Code: tributary.EINVALID, Message: "--meta-dsn is not a PostgreSQL DSN (postgres://user:password@host:5432/db)", Err: err}
	}
	db.SetMaxOpenConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "PostgreSQL unreachable", Err: fmt.Errorf("postgres: connect: %w", err)}
	}
	s := &Store{db: db}
	s.Store = sqlmeta.Store{DB: db, Backend: "postgres", Conflict: isUniqueViolation, Writes: &s.inboxMu}
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, unavailable("migrate", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		db.Close()
		return nil, unavailable("migration lock", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if err := migrate.Apply(ctx, db, ms, nil); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// DB exposes the handle (tests, migrate-store).
func (s *Store) DB() *sql.DB { return s.db }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "PostgreSQL unreachable", Err: err}
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error { return s.db.Close() }

// mapErr turns driver errors into coded domain errors.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if isUniqueViolation(err) {
		return &tributary.Error{Code: tributary.ECONFLICT, Message: "already exists", Err: fmt.Errorf("postgres: %s: %w", op, err)}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &tributary.Error{Code: tributary.ENOTFOUND, Message: "not found", Err: err}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// isUniqueViolation reports SQLSTATE 23505.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func unavailable(op string, err error) error {
	return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "store unavailable", Err: fmt.Errorf("postgres: %s: %w", op, err)}
}

// TakeTokens implements ratelimit.Limiter with the bucket row locked for the read-modify-write, so
// every node sees one bucket per key.
func (s *Store) TakeTokens(ctx context.Context, key string, limit, n int, now time.Time) (ratelimit.Decision, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ratelimit.Decision{}, unavailable("rate limit", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_buckets (key, tokens, last) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
		key, float64(limit), now.UTC()); err != nil {
		return ratelimit.Decision{}, unavailable("rate limit", err)
	}
	var b ratelimit.Bucket
	if err := tx.QueryRowContext(ctx, `SELECT tokens, last FROM rate_buckets WHERE key = $1 FOR UPDATE`, key).Scan(&b.Tokens, &b.Last); err != nil {
		return ratelimit.Decision{}, unavailable("rate limit", err)
	}
	d := ratelimit.Take(&b, limit, n, now.UTC())
	if _, err := tx.ExecContext(ctx, `UPDATE rate_buckets SET tokens = $2, last = $3 WHERE key = $1`, key, b.Tokens, b.Last.UTC()); err != nil {
		return ratelimit.Decision{}, unavailable("rate limit", err)
	}
	if err := tx.Commit(); err != nil {
		return ratelimit.Decision{}, unavailable("rate limit", err)
	}
	return d, nil
}

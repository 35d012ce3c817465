// Package sqlmeta holds the MetaStore queries the embedded store (DuckDB) and the PostgreSQL store share:
// both take $n placeholders, ON CONFLICT and the same column types, so users, login sessions, sites, API
// keys, settings, server events, Stripe state and exchange rates are written once. The inbox (webhooks)
// differs between them and stays in each backend. It also holds what every database/sql store shares:
// the row helpers (Query, Collect, InsertRows) and the scanners of the event tables whose columns the
// DuckDB and ClickHouse stores have in common (ledger, MRR movements, identities).
package sqlmeta

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/tributary/tributary"
)

// Store runs the shared queries on DB. Backends embed it.
type Store struct {
	DB *sql.DB
	// Backend names the driver in wrapped errors ("duckdb", "postgres").
	Backend string
	// Conflict reports whether err is a unique-constraint violation.
	Conflict func(error) bool
	// Writes orders the writes that touch rows the inbox also writes (DuckDB rejects concurrent updates
	// of one row as conflicts; PostgreSQL's row locks make it a formality there).
	Writes sync.Locker
}

func (s *Store) mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.Conflict != nil && s.Conflict(err) {
		return &tributary.Error{Code: tributary.ECONFLICT, Message: "already exists", Err: fmt.Errorf("%s: %s: %w", s.Backend, op, err)}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &tributary.Error{Code: tributary.ENOTFOUND, Message: "not found", Err: err}
	}
	return fmt.Errorf("%s: %s: %w", s.Backend, op, err)
}

func (s *Store) unavailable(op string, err error) error {
	return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "store unavailable", Err: fmt.Errorf("%s: %s: %w", s.Backend, op, err)}
}

package sqlmeta

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// Placeholders returns "$from,$from+1,…" for n arguments (DuckDB and PostgreSQL both number them).
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// InsertRows writes rows (each the same number of columns) in tx with multi-row VALUES statements of at
// most 200 rows: prefix ends with VALUES, suffix may hold an ON CONFLICT clause. DuckDB pays about a
// millisecond per executed statement, so batches of hundreds of rows are written this way.
func InsertRows(ctx context.Context, tx *sql.Tx, prefix, suffix string, rows [][]any) error {
	for start := 0; start < len(rows); start += 200 {
		chunk := rows[start:min(start+200, len(rows))]
		var q strings.Builder
		q.WriteString(prefix)
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for i, r := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(" + Placeholders(len(args)+1, len(r)) + ")")
			args = append(args, r...)
		}
		q.WriteString(suffix)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// Scanner is what a row scanner reads from: a *sql.Row or *sql.Rows.
type Scanner = interface{ Scan(dest ...any) error }

// Collect reads every row of rows with scan, in order, and closes rows. It returns nil and the first
// error (of a scan or of the iteration), unmapped: the caller names the operation.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Query runs q on db (a *sql.DB or *sql.Tx) and collects its rows with scan; errors are returned
// unmapped, as by Collect.
func Query[T any](ctx context.Context, db interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, scan func(Scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, scan)
}

// Value reads a row of one column (for Query over SELECT id …).
func Value[T any](row Scanner) (v T, err error) {
	err = row.Scan(&v)
	return v, err
}

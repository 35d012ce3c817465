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

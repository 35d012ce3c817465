package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sort"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"
)

// conn is what deriving visits needs of the connection whose transaction appends the batch: statements,
// and the driver connection for an Appender (*sql.Conn).
type conn interface {
	querier
	Raw(func(driverConn any) error) error
}

// writePrevs creates the temporary table dst (touched, rid, site_id, session_id, prev_visit and the
// prev_<column> of prevDims) with the prev_* columns as migration 011 defines them (one lag per column
// over the visitor's visits with the column's value, NULL as the empty text; TestPrevColumnsFollowHistory
// checks them against that) for every visit of the table src (touched, rid, site_id, session_id,
// visitor_id, start_ts and the prevDims columns; (site_id, session_id) unique, each visitor's visits all
// there).
//
// A visitor with a single visit has no previous one of any kind and gets NULLs in SQL. The others' visits
// are read into Go, sorted by visitor and the models' order (start, then session id), and walked once,
// each dimension remembering the start of the last visit with each value; their rows go back through an
// Appender. Inside a write the allocator runs at a decay of 0 (leanWrite), where each of DuckDB's
// operators faults its memory in afresh: the same derivation as one window over the visits unfolded into
// a row per dimension took 0.40-0.48 s for 13,500 visits there, against 0.13-0.29 s this way (and
// 1.14-1.59 s against 0.45-0.65 s with a test suite running beside it; docs/benchmarks.md, Memory).
func writePrevs(ctx context.Context, c conn, src, dst string) error {
	cols := []string{"touched BOOLEAN", "rid BIGINT", "site_id VARCHAR", "session_id VARCHAR", "prev_visit TIMESTAMP"}
	none := []string{"NULL"}
	for _, d := range prevDims {
		cols = append(cols, "prev_"+d+" TIMESTAMP")
		none = append(none, "NULL")
	}
	many := `(SELECT site_id, visitor_id FROM ` + src + ` GROUP BY site_id, visitor_id HAVING count(*) > 1) m
		ON s.site_id = m.site_id AND s.visitor_id = m.visitor_id`
	if _, err := c.ExecContext(ctx, `CREATE TEMP TABLE `+dst+` (`+strings.Join(cols, ", ")+`)`); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, `INSERT INTO `+dst+` SELECT touched, rid, site_id, session_id, `+strings.Join(none, ", ")+`
		FROM `+src+` s ANTI JOIN `+many); err != nil {
		return err
	}
	vals := make([]string, len(prevDims))
	for i, d := range prevDims {
		vals[i] = "coalesce(" + d + ", '')"
	}
	rows, err := c.QueryContext(ctx, `SELECT touched, rid, s.site_id, session_id, s.visitor_id, epoch_us(start_ts), `+strings.Join(vals, ", ")+`
		FROM `+src+` s SEMI JOIN `+many)
	if err != nil {
		return err
	}
	var visits []prevVisit
	for rows.Next() {
		var v prevVisit
		dest := []any{&v.touched, &v.rid, &v.site, &v.session, &v.visitor, &v.start}
		for i := range v.vals {
			dest = append(dest, &v.vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		visits = append(visits, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(visits) == 0 {
		return nil
	}
	sort.Slice(visits, func(i, j int) bool { return visits[i].before(&visits[j]) })
	return c.Raw(func(dc any) error {
		a, err := duck.NewAppender(dc.(driver.Conn), "temp", "main", dst)
		if err != nil {
			return err
		}
		// last[d] maps a value of dimension d (0: any visit) to the start of the visitor's last visit
		// with it so far.
		var last [1 + len(prevDims)]map[string]int64
		for d := range last {
			last[d] = map[string]int64{}
		}
		row := make([]driver.Value, 4+len(last))
		for i := range visits {
			v := &visits[i]
			if i == 0 || v.site != visits[i-1].site || v.visitor != visits[i-1].visitor {
				for d := range last {
					// clear costs the most the map ever held: after a visitor of many values, a new map.
					if len(last[d]) > 64 {
						last[d] = map[string]int64{}
					} else {
						clear(last[d])
					}
				}
			}
			row[0], row[1], row[2], row[3] = v.touched, nil, v.site, v.session
			if v.rid.Valid {
				row[1] = v.rid.Int64
			}
			for d := range last {
				val := ""
				if d > 0 {
					val = v.vals[d-1]
				}
				row[4+d] = nil
				if t, ok := last[d][val]; ok {
					row[4+d] = time.UnixMicro(t).UTC()
				}
				last[d][val] = v.start
			}
			if err := a.AppendRow(row...); err != nil {
				a.Close()
				return err
			}
		}
		return a.Close()
	})
}

// prevVisit is a visit as writePrevs reads it: start in µs since 1970, vals the prevDims columns.
type prevVisit struct {
	touched                bool
	rid                    sql.NullInt64
	site, session, visitor string
	start                  int64
	vals                   [len(prevDims)]string
}

// before orders visits by visitor, then as the windows of migration 011 do: by start, then session id
// (DuckDB compares text by its bytes, as Go does).
func (v *prevVisit) before(w *prevVisit) bool {
	switch {
	case v.site != w.site:
		return v.site < w.site
	case v.visitor != w.visitor:
		return v.visitor < w.visitor
	case v.start != w.start:
		return v.start < w.start
	}
	return v.session < w.session
}

package stats

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Statement timelines for the ClickHouse benchmarks: with TRIBUTARY_BENCH_TRACE set, BenchmarkClickHouseLive
// runs one page and one breakdown more through a driver that records when each statement was sent and
// when its last row was read, and prints them in order of start (milliseconds from the page's start, the
// time taken, the rows read, the statement's start). It shows which statements wait on which: the server
// logs each statement's time but not, on 18.16, when within a second it started.

// traceDriver wraps the ClickHouse driver's connections so that their queries are recorded in a trace.
type traceDriver struct {
	driver.Driver
	t *trace
}

func (d traceDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return &traceConn{Conn: c, t: d.t}, nil
}

// traceConn passes every argument through as is, as the ClickHouse driver's own connection does (it
// binds them itself), and records each query's rows.
type traceConn struct {
	driver.Conn
	t *trace
}

func (c *traceConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (c *traceConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	r, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return &traceRows{Rows: r, t: c.t, q: q, start: start}, nil
}

type traceRows struct {
	driver.Rows
	t     *trace
	q     string
	start time.Time
	n     int
}

func (r *traceRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == nil {
		r.n++
	}
	return err
}

func (r *traceRows) Close() error {
	r.t.add(r.start, time.Now(), r.n, r.q)
	return r.Rows.Close()
}

// trace is the statements of one run.
type trace struct {
	mu    sync.Mutex
	begin time.Time
	lines []traceLine
}

type traceLine struct {
	start, end time.Time
	rows       int
	q          string
}

func (t *trace) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.begin, t.lines = time.Now(), nil
}

func (t *trace) add(start, end time.Time, rows int, q string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, traceLine{start, end, rows, q})
}

func (t *trace) print(w io.Writer, title string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	slices.SortFunc(t.lines, func(a, b traceLine) int { return a.start.Compare(b.start) })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Fprintf(w, "%s: %.1f ms, %d statements\n%8s %8s %7s %7s  %s\n", title, ms(time.Since(t.begin)), len(t.lines), "start", "end", "took", "rows", "statement")
	for _, l := range t.lines {
		q := strings.Join(strings.Fields(l.q), " ")
		if len(q) > 100 {
			q = q[:100]
		}
		fmt.Fprintf(w, "%8.1f %8.1f %7.1f %7d  %s\n", ms(l.start.Sub(t.begin)), ms(l.end.Sub(t.begin)), ms(l.end.Sub(l.start)), l.rows, q)
	}
}

// traced opens dsn through a driver recording into a new trace, with the stats engine's read settings
// (store/clickhouse's readSettings, which its handle adds to the DSN's) named in the DSN.
func traced(b *testing.B, dsn string) (*sql.DB, *trace) {
	b.Helper()
	base, err := sql.Open("clickhouse", dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { base.Close() })
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	t := &trace{}
	connector, err := traceDriver{base.Driver(), t}.OpenConnector(dsn + sep + "use_uncompressed_cache=1&merge_tree_max_rows_to_use_cache=16777216")
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(connector)
	b.Cleanup(func() { db.Close() })
	return db, t
}

// OpenConnector lets sql.OpenDB open traced connections without registering a driver name.
func (d traceDriver) OpenConnector(name string) (driver.Connector, error) {
	return traceConnector{d, name}, nil
}

type traceConnector struct {
	d    traceDriver
	name string
}

func (c traceConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.name) }
func (c traceConnector) Driver() driver.Driver                        { return c.d }

package stats

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// resolving is the embedded dialect with a resolve step that records what it was asked and answers a
// dialect marking its statements, so a test sees which dialect each statement was written by.
type resolving struct {
	DuckDB
	mu    *sync.Mutex
	calls *[][2]time.Time
	wrote *atomic.Int64
}

func (r resolving) resolve(_ context.Context, _ *sql.DB, site string, from, to time.Time) (Dialect, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.calls = append(*r.calls, [2]time.Time{from, to})
	return resolved{wrote: r.wrote}, nil
}

// resolved writes the visits relation as DuckDB does, counting the relations it wrote.
type resolved struct {
	DuckDB
	wrote *atomic.Int64
}

func (r resolved) Visits(site, from, to string) string {
	r.wrote.Add(1)
	return DuckDB{}.Visits(site, from, to)
}

// TestResolveOncePerQuery checks that a dialect that resolves (ClickHouse's fresh days) is asked once per
// query, or once per page of queries over one range, over the range and the period it is compared with
// and a margin of days, and that the query's statements are then written by what it answered.
func TestResolveOncePerQuery(t *testing.T) {
	base := scenario(t)
	var mu sync.Mutex
	var calls [][2]time.Time
	var wrote atomic.Int64
	e := NewEngine(base.db, resolving{mu: &mu, calls: &calls, wrote: &wrote})
	parse := func(body string) *Query {
		q, err := ParseQuery([]byte(body), site, now)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := parse(`{"site_id":"s1","metrics":["visitors","revenue"],"date_range":"30d","compare":"previous_period"}`)
	want, err := NewEngine(base.db, DuckDB{}).Run(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Run(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 {
		t.Fatalf("one query resolved %d times, want once", len(calls))
	}
	pf, _ := PreviousPeriod(q.From, q.To, siteLoc(q.Site))
	if !calls[0][0].Before(pf) || !calls[0][1].After(q.To) {
		t.Errorf("resolved over %v, want [%v, %v] and a margin", calls[0], pf, q.To)
	}
	if g, w := jsonOf(t, got.Results), jsonOf(t, want.Results); g != w {
		t.Errorf("resolved answer %s, want %s", g, w)
	}
	if wrote.Load() == 0 {
		t.Error("no statement of the query was written by the resolved dialect")
	}

	calls = nil
	page := []*Query{
		parse(`{"site_id":"s1","metrics":["visitors"],"date_range":"30d","dimensions":["visit:channel"]}`),
		parse(`{"site_id":"s1","metrics":["visitors"],"date_range":"30d","dimensions":["visit:country"]}`),
		parse(`{"site_id":"s1","metrics":["visitors"],"date_range":"30d"}`),
	}
	if _, err := e.RunAll(context.Background(), page, 2); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 {
		t.Errorf("a page of three queries over one range resolved %d times, want once", len(calls))
	}
}

// TestClickHouseResolvedVisits checks the visits relation written with the fresh days read once: the
// days as literals where the statement otherwise names visitsFresh, none of its subqueries left, and a
// day whose neighbours are both fresh listed as one whose rows need not be read.
func TestClickHouseResolvedVisits(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	c := ClickHouse{fresh: &freshDays{days: []freshDay{{d("2026-11-01"), 7}, {d("2026-11-02"), 7}, {d("2026-11-03"), 9}, {d("2026-11-05"), 9}}}}
	sql := c.Visits("$1", "$2", "$3")
	for _, want := range []string{
		"(day, gen) IN ((toDate('2026-11-01'), toUInt64(7)), (toDate('2026-11-02'), toUInt64(7)), (toDate('2026-11-03'), toUInt64(9)), (toDate('2026-11-05'), toUInt64(9)))",
		"NOT IN (toDate('2026-11-01'), toDate('2026-11-02'), toDate('2026-11-03'), toDate('2026-11-05'))",
		"day NOT IN (toDate('2026-11-02'))",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("resolved visits lack %s:\n%s", want, sql)
		}
	}
	for _, gone := range []string{"finished", "visit_days", "visit_day_events"} {
		if strings.Contains(sql, gone) {
			t.Errorf("resolved visits still read %s:\n%s", gone, sql)
		}
	}
	none := ClickHouse{fresh: &freshDays{}}.Visits("$1", "$2", "$3")
	if !strings.Contains(none, "(day, gen) IN ((toDate('1970-01-01'), toUInt64(0)))") || strings.Contains(none, "visit_days") {
		t.Errorf("with no fresh day every day is merged:\n%s", none)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

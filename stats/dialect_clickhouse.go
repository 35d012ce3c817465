package stats

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ClickHouse is the dialect of the scale-out EventStore (store/clickhouse). Every spelling runs on
// Debian's ClickHouse 18.16 and on current releases: no CTEs, window functions, JSONExtract*,
// toStartOfInterval or DateTime64.
//
// The zero value reads which finished days are fresh (visitsFresh) inside every statement that reads
// visits. The engine gives each query a copy that reads them once, when its first statement reading
// visits is written (resolve), since 18.16 works a subquery out again at every place a statement names
// it: four times in a visits relation.
type ClickHouse struct {
	fresh *freshDays
}

// freshDays is a site's fresh finished days and their generations, read once for a query: the days from
// first to last whose finished visits are read from visits_done. Any other day is merged, which is exact
// too, so a statement reading visits outside [first, last] still answers right, only slower.
type freshDays struct {
	once sync.Once
	load func() ([]freshDay, error) // nil when days are given
	days []freshDay
	ok   bool // days are the site's fresh days, to be written in
}

type freshDay struct {
	day time.Time
	gen uint64
}

// read loads the days on the first call, and reports whether the statements name them. A query answered
// from the units, or by no visits at all, never reads them. If they cannot be read, or are too many
// to write in (more than maxFreshDays: about 100 bytes a day, several visits relations a statement, and
// 18.16 refuses statements over 256 KB), the statements work them out, each as it runs, which is as exact.
func (f *freshDays) read() bool {
	f.once.Do(func() {
		if f.load == nil {
			f.ok = true
			return
		}
		days, err := f.load()
		f.days, f.ok = days, err == nil && len(days) <= maxFreshDays
	})
	return f.ok
}

// resolve answers a copy that reads the site's fresh finished days in [from, to] when its first visits
// relation is written, for a query whose statements read visits there: Run asks for its range and the
// period compared with, a day to either side.
func (c ClickHouse) resolve(ctx context.Context, db *sql.DB, site string, from, to time.Time) (Dialect, error) {
	return ClickHouse{fresh: &freshDays{load: func() ([]freshDay, error) {
		rows, err := db.QueryContext(ctx, "SELECT day, g FROM ("+visitsFresh("$1")+") WHERE day >= toDate($2) AND day <= toDate($3) ORDER BY day",
			site, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var days []freshDay
		for rows.Next() {
			var d freshDay
			if err := rows.Scan(&d.day, &d.gen); err != nil {
				return nil, err
			}
			days = append(days, d)
		}
		return days, rows.Err()
	}}}, nil
}

// maxFreshDays is the most fresh days a query's statements are given as literals.
const maxFreshDays = 400

// Placeholder is $n: clickhouse-go binds numbered parameters on the client side, quote-aware, so SQL the
// engine writes with literal $1 runs unchanged too.
func (ClickHouse) Placeholder(n int) string { return fmt.Sprintf("$%d", n) }

func (ClickHouse) CountIf(cond string) string { return "countIf(" + cond + ")" }

func (ClickHouse) Sum(expr string) string { return "toInt64(sum(" + expr + "))" }

func (ClickHouse) SumIf(expr, c string) string { return "toInt64(sumIf(" + expr + ", " + c + "))" }

func (ClickHouse) MinusSeconds(col string, n int64) string { return fmt.Sprintf("(%s - %d)", col, n) }

// LeftJoin is ANY LEFT JOIN: 18.16 knows no join without a strictness, and each right row is unique
// by key in every use. Unmatched right columns read as their type's zero value.
func (ClickHouse) LeftJoin(left, right, key string) string {
	return "(" + left + ") ANY LEFT JOIN (" + right + ") USING " + key
}

// GroupEach reads the source once and pairs each of its rows with every column's value (ARRAY JOIN):
// 18.16 has no CTE and no GROUPING SETS, and a UNION ALL of one SELECT per column works the source out
// once per column (the money of the dashboard's eight panels took 2.7 times as long that way). The
// columns must share one type, as they do in every use (text).
//
// Grouping a page's visits by nine columns at once holds nine columns' distinct counts: at 100M events
// the statement needed 4 to 8 GB, where one panel alone needs under 2 GB (and the CI profile allows 4).
// Past 1 GB the aggregation spills to disk (as the finishing job's does, store/clickhouse), so the
// statement fits in 2 GB there, at 38-42 s against 34 s in memory and about 52 s for the panels one by
// one. At 10M events it stays under 1 GB and never spills.
func (ClickHouse) GroupEach(src string, cols, aggs []string) string {
	pairs := make([]string, len(cols))
	for i, c := range cols {
		pairs[i] = fmt.Sprintf("(toInt64(%d), %s)", i, c)
	}
	return "SELECT each_group.1 AS d, each_group.2 AS v, " + strings.Join(aggs, ", ") + " FROM (" + src + ") ARRAY JOIN [" +
		strings.Join(pairs, ", ") + "] AS each_group GROUP BY d, v SETTINGS max_bytes_before_external_group_by = 1000000000"
}

// LocalBucket passes the zone to the truncating functions themselves. toTimeZone would be the obvious
// route, but formatDateTime on 18.16 prints in the server's zone whatever zone the value carries, so the
// text would shift by the zone's offset; the date functions with a zone argument, rendered by toString,
// give the local wall-clock text on every version. Day, week and month truncate to a Date, which has no
// time of day to print.
func (ClickHouse) LocalBucket(col, unit string, zone Zone) string {
	z := "'" + chQuote(zone.Name) + "'"
	switch unit {
	case "hour":
		return "toString(toStartOfHour(" + col + ", " + z + "), " + z + ")"
	case "week":
		return "concat(toString(toMonday(" + col + ", " + z + ")), ' 00:00:00')"
	case "month":
		return "concat(toString(toStartOfMonth(" + col + ", " + z + ")), ' 00:00:00')"
	default:
		return "concat(toString(toDate(" + col + ", " + z + ")), ' 00:00:00')"
	}
}

// BucketText is the bucket itself: LocalBucket already renders text.
func (ClickHouse) BucketText(expr string) string { return expr }

// KeepsFirsts is false: the visits table holds no prev_* columns (a visit's previous one is only known
// once every partial row of the visitor is merged), so visitors are counted with a distinct count.
func (ClickHouse) KeepsFirsts() bool { return false }

// JoinText concatenates with the separator between the values (ClickHouse reads \x escapes in literals).
func (ClickHouse) JoinText(cols []string) string {
	return "concat(" + strings.Join(cols, ", '\\x1F', ") + ")"
}

// JSONString reads a property. store/clickhouse keeps event props twice: as JSON text in props and as
// the parallel arrays props_keys/props_values, which are what this reads, because 18.16 has no
// JSONExtractString and visitParamExtractString neither decodes \u escapes (Go escapes <, > and &) nor
// tells a key from the same text inside another value. A missing key indexes 0, which yields the empty string. Other
// JSON columns fall back to visitParamExtractString, which is exact for flat objects of plain strings.
func (ClickHouse) JSONString(col, key string) string {
	k := "'" + chQuote(key) + "'"
	if col == "props" {
		return "props_values[indexOf(props_keys, " + k + ")]"
	}
	return "visitParamExtractString(" + col + ", " + k + ")"
}

// Regexp uses match, which is RE2 like the validation in ParseQuery and, like DuckDB's regexp_matches,
// matches anywhere in the value.
func (ClickHouse) Regexp(col, param string) string { return "match(" + col + ", " + param + ")" }

// Contains is true for an empty needle, as DuckDB's contains is.
func (ClickHouse) Contains(col, param string) string {
	return "(position(" + col + ", " + param + ") > 0)"
}

// Trail sorts the group's (second, code) pairs, as 18.16 can (groupArray, arraySort; no window
// functions), and joins them as text.
func (ClickHouse) Trail(ts, code string) string {
	return "arrayStringConcat(arrayMap(x -> concat(toString(x.1), ':', toString(x.2)), arraySort(groupArray((toUInt32(" + ts + "), " + code + ")))), ',')"
}

// Epoch is a timestamp column in seconds since 1970 (DuckDB: epoch(col)).
func (ClickHouse) Epoch(col string) string { return "toUInt32(" + col + ")" }

// Visits is one row per visit with the columns of the embedded store's sessions table, from two tables of
// store/clickhouse: visits_done (migration 006), plain rows of the visits that start on a finished day,
// and visits (migration 003), whose partial rows (aggregate states an insert into events adds to in the
// same statement) are merged for every other day. A finished day's rows are read only while it is fresh
// (visitsFresh): its generation is the newest the store recorded and no event has been written to the
// day, the day before or the day after since that generation was built. Every day that is not fresh is
// merged from visits, which reads the rows of the day before and the day after as well, so a visit's
// start is its true start: a visit is read from visits_done when its start's day is fresh and merged
// otherwise, never both and never neither.
//
// The caller's start_ts condition keeps the visits that start in [from, to); the rows read are narrowed
// first to the UTC days such a visit can touch, which is safe because a visit lasts less than a day
// (visitSpanDays): a visit starting in the range has every row in [day(from), day(to)+1]; one starting
// before it either starts on day(from)-1 or later, and then its first row (which holds its start) is read,
// or has no event at or after from at all, so it cannot pass for one starting in the range. Empty from
// and to read the whole site.
func (c ClickHouse) Visits(site, from, to string) string {
	fresh := visitsFresh(site)
	freshPairs, freshDays, freshAround := "SELECT day, g FROM ("+fresh+")", "SELECT day FROM ("+fresh+")",
		"SELECT x FROM (SELECT arrayJoin([day - 1, day, day + 1]) AS x FROM ("+fresh+")) GROUP BY x HAVING count() = 3"
	if c.fresh != nil && c.fresh.read() {
		freshPairs, freshDays, freshAround = c.fresh.lists()
	}
	done := "site_id = " + site + " AND (day, gen) IN (" + freshPairs + ")"
	where := "site_id = " + site
	having := " HAVING toDate(start_ts, 'UTC') NOT IN (" + freshDays + ")"
	if from != "" && to != "" {
		done += " AND day >= toDate(" + from + ", 'UTC') AND day <= toDate(" + to + ", 'UTC')"
		where += " AND day >= toDate(" + from + ", 'UTC') - " + visitSpanDays + " AND day <= toDate(" + to + ", 'UTC') + " + visitSpanDays
		having += " AND start_ts >= " + from + " AND start_ts < " + to
	}
	// A row's day need not be read when it and both its neighbours are fresh: no visit starting on a day
	// that is merged has a row there, and no visit with a row there starts on a day that is merged.
	where += " AND day NOT IN (" + freshAround + ")"
	return "(SELECT site_id, session_id, " + strings.Join(visitCols, ", ") + " FROM visits_done WHERE " + done +
		" UNION ALL SELECT site_id, session_id, " + visitMerges + " FROM visits WHERE " + where + " GROUP BY site_id, session_id" + having + ")"
}

// lists are the fresh days as literals, in the places Visits names them: the (day, generation) pairs,
// the days, and the days whose neighbours are fresh too. An empty list holds a day no visit has.
func (f *freshDays) lists() (pairs, days, around string) {
	var p, d, a []string
	fresh := map[string]bool{}
	for _, x := range f.days {
		fresh[x.day.Format(time.DateOnly)] = true
	}
	for _, x := range f.days {
		day := "toDate('" + x.day.Format(time.DateOnly) + "')"
		p = append(p, "("+day+", toUInt64("+strconv.FormatUint(x.gen, 10)+"))")
		d = append(d, day)
		if fresh[x.day.AddDate(0, 0, -1).Format(time.DateOnly)] && fresh[x.day.AddDate(0, 0, 1).Format(time.DateOnly)] {
			a = append(a, day)
		}
	}
	none := "toDate('1970-01-01')"
	list := func(l []string, empty string) string {
		if len(l) == 0 {
			return empty
		}
		return strings.Join(l, ", ")
	}
	return list(p, "("+none+", toUInt64(0))"), list(d, none), list(a, none)
}

// visitsFresh is the site's fresh finished days and their generations: the newest generation recorded
// for the day in visit_days, kept only while the events of the day and its two neighbours
// (visit_day_events, counted as events are written) still number what the store read before it built the
// generation. Events are only ever added (a site's deletion removes these tables' rows too), so an equal
// number means the same events.
func visitsFresh(site string) string {
	return "SELECT day, g FROM (SELECT day, max(gen) AS g, argMax(events, gen) AS f FROM visit_days WHERE site_id = " + site + " GROUP BY day)" +
		" ANY INNER JOIN (SELECT x AS day, sum(events) AS w FROM (SELECT arrayJoin([day - 1, day, day + 1]) AS x, events FROM visit_day_events" +
		" WHERE site_id = " + site + ") GROUP BY x) USING day WHERE f = w"
}

// visitSpanDays is how many UTC days a visit's rows reach past its start's: one, as the embedded store
// assumes too (store/duckdb's sessionWindow: a visit ends after 30 idle minutes, a cookieless one with
// its day).
const visitSpanDays = "1"

// visitCols are the columns of one visit, in the order Visits reads them from visits_done and merges them
// from visits (visitMerges); store/clickhouse/visitsdone.go writes visits_done with the same merges.
var visitCols = []string{"visitor_id", "start_ts", "end_ts", "pv", "ev", "entry_page", "exit_page", "channel", "referrer_source", "referrer",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "click_id_platform", "country", "region", "device", "browser", "os"}

// visitMerges are the visits table's states merged into the columns of the embedded store's sessions table.
var visitMerges = func() string {
	cols := []string{
		"argMinMerge(visitor_id_state) AS visitor_id",
		"minMerge(start_ts_state) AS start_ts",
		"maxMerge(end_ts_state) AS end_ts",
		"countIfMerge(pv_state) AS pv",
		"countIfMerge(ev_state) AS ev",
		"argMinIfMerge(entry_page_state) AS entry_page",
		"argMaxIfMerge(exit_page_state) AS exit_page",
	}
	for _, c := range []string{"channel", "referrer_source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
		"click_id_platform", "country", "region", "device", "browser", "os"} {
		cols = append(cols, "argMinMerge("+c+"_state) AS "+c)
	}
	return strings.Join(cols, ", ")
}()

// chQuote escapes s for a single-quoted ClickHouse literal. ClickHouse reads backslash escapes inside
// literals, so doubling the quote (quote, the DuckDB rule) is not enough: a trailing backslash would
// escape the closing quote.
func chQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s)
}

// PayerVisits: the ClickHouse store keeps no copies of the payers' visits.
func (ClickHouse) PayerVisits() string { return "" }

// VisitsByDay: the ClickHouse store keeps no visits by day.
func (ClickHouse) VisitsByDay() string { return "" }

// PaidLinks: the ClickHouse store keeps no paid links; conversions match the links against the ledger.
func (ClickHouse) PaidLinks() string { return "" }

// Picks reads the store's payment_picks (migration 009) with FINAL: each payment's newest pick of the
// model, without the tombstones of models that no longer pick a row.
func (ClickHouse) Picks(site, model string) string {
	return "(SELECT * FROM payment_picks FINAL WHERE site_id = " + site + " AND model = " + model + " AND deleted = 0)"
}

// Touches reads the payment touches' newest rows: a rewrite writes its rows under a new version and
// marks the rows it drops deleted (store/clickhouse/touches.go).
func (ClickHouse) Touches() string {
	return "(SELECT * FROM payment_touches FINAL WHERE deleted = 0)"
}

// LedgerIn reads the store's ledger_entries (migration 009: every ledger fact, sorted by id alone) with
// FINAL, which keeps each entry's largest version (its first write, or that write converted) as the
// ledger view's argMax does, by merging the rows of each id in order rather than grouping every fact of
// the site by its id (a page's money statement at 10M events: 70 against 160 ms). The range applies
// after the merge (FINAL keeps a WHERE outside the sort key for the merged rows; a PREWHERE would not),
// so an entry written twice by racing nodes, dated apart, is in the range by its first write alone.
func (ClickHouse) LedgerIn(site, from, to string) string {
	return "(SELECT * FROM ledger_entries FINAL WHERE site_id = " + site + " AND occurred_at >= " + from + " AND occurred_at < " + to + ")"
}

// Payments reads the ledger's facts, not its view: an entry is written once (store/clickhouse's
// insertLedger skips stored ids; a racing writer's duplicate is the same entry), so every version of an
// entry has its kind and mode, and the view's grouping of every fact only to read two of its columns
// back cost 115-140 ms a statement at 10M events against 17-34 ms.
func (ClickHouse) Payments(site, livemode string) string {
	return "SELECT payment_id FROM ledger_facts WHERE site_id = " + site + " AND livemode = " + livemode + " AND kind = 'payment'"
}

package stats

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tributary/tributary/zone"
)

// Zone is a site's time zone over one query's span (package zone).
type Zone = zone.Zone

// Dialect holds the few SQL spellings that differ between the embedded store (DuckDB) and ClickHouse;
// every report is built once, through it.
type Dialect interface {
	// Placeholder is the n-th (1-based) bind parameter.
	Placeholder(n int) string
	// CountIf counts rows where cond holds.
	CountIf(cond string) string
	// Sum and SumIf sum an integer expression (over the rows where cond holds) as a 64-bit integer (0 for
	// none).
	Sum(expr string) string
	SumIf(expr, cond string) string
	// MinusSeconds is a timestamp column n seconds earlier.
	MinusSeconds(col string, n int64) string
	// LeftJoin is the FROM clause joining two SELECTs on one column they both have; a missing right side
	// reads as NULL or as its type's zero value (ClickHouse), so callers coalesce.
	LeftJoin(left, right, key string) string
	// GroupEach groups the rows of src by each of cols apart, in one statement: rows (d, v, aggs...)
	// where d is the index in cols of the column grouped by and v its value. The statement is whole:
	// nothing may be appended to it (ClickHouse's ends with its settings).
	GroupEach(src string, cols, aggs []string) string
	// LocalBucket truncates the UTC timestamp column to unit (hour, day, week, month) in zone z: the
	// expression a query groups by. BucketText renders such an expression as text "YYYY-MM-DD HH:MM:SS"
	// (applied to the group, so once per bucket rather than once per row).
	LocalBucket(col, unit string, z Zone) string
	BucketText(expr string) string
	// JSONString extracts a string property from the props JSON text column.
	JSONString(col, key string) string
	// Regexp matches col against a regular expression parameter.
	Regexp(col, param string) string
	// Contains tests for a substring parameter.
	Contains(col, param string) string
	// Epoch is a timestamp column in seconds since 1970.
	Epoch(col string) string
	// Visits is the relation of visits (one row per session: site_id, session_id, visitor_id, start_ts,
	// end_ts, pv, ev, entry_page, exit_page and the visit dimensions' columns) for a site whose visits
	// start in [from, to), given as bind parameters; empty from and to give every visit of the site.
	// Both stores keep visits as a table the writer maintains (DuckDB's sessions, ClickHouse's visits).
	Visits(site, from, to string) string
	// PayerVisits is a relation like Visits' holding every visit of the visitors linked to a payment and
	// few others, which conversions read instead of all the range's visits; empty where the store keeps
	// none (conversions are then counted within the visits' own query).
	PayerVisits() string
	// PaidLinks is the store's table of the links of visitors to payments the ledger holds as payments
	// (site_id, ts, visitor_id, payment_id, livemode: the payment's mode), which conversions read instead
	// of matching the range's links against every payment entry; "" when the store keeps none.
	PaidLinks() string
	// VisitsByDay is the store's table of visits summed by local day and dimension value (migration 020 of
	// the embedded store), beside which <name>_zone names the zone each site's rows are in; "" when the
	// store keeps none.
	VisitsByDay() string
	// Picks is the store's relation of each payment's pick under each single-touch model at the default
	// lookback (site_id, model, payment_id and the visit columns; touches.PickModels), holding at least
	// the site's picks under the model (bind parameters; callers still select both), which a money query
	// at that lookback reads instead of the touches; "" when the store keeps none.
	Picks(site, model string) string
	// Payments selects the payment ids of the site's payment entries of one mode (live when the bound
	// livemode is true), which links are matched against: test-mode payers never count as live
	// conversions, nor the other way round.
	Payments(site, livemode string) string
	// LedgerIn is the ledger (one row per entry, its newest version) holding at least every entry of the
	// site dated in [from, to) (bind parameters); callers still select the range. DuckDB's is the ledger
	// table itself.
	LedgerIn(site, from, to string) string
	// Touches is the relation of the payment touches (tributary.PaymentTouch: site_id, payment_id,
	// person, visitor_id, session_id, start_ts and the visit columns), as the store keeps them.
	Touches() string
	// JoinText joins text columns (NULL read as "") into one text, separated by U+001F.
	JoinText(cols []string) string
	// Trail aggregates a group's rows into text "second:code,second:code,…" ordered by the timestamp
	// column ts (whole seconds since 1970; code an integer expression): a visitor's path through a
	// funnel, walked in Go (funnel.go), since ClickHouse 18.16 has no window functions.
	Trail(ts, code string) string
	// KeepsFirsts reports whether the visits relation carries the prev_* columns (the start of the
	// visitor's previous visit, overall and with the same value of each visit dimension), which let
	// distinct visitors be counted without a distinct aggregate (see visitorsExpr).
	KeepsFirsts() bool
}

// resolver is a dialect that reads some of what its SQL depends on once for a query, rather than in each
// statement (ClickHouse: which finished days are fresh). resolve answers a dialect that holds it (or
// reads it when a statement first needs it), for the statements of one query of site reading visits in
// [from, to].
type resolver interface {
	resolve(ctx context.Context, db *sql.DB, site string, from, to time.Time) (Dialect, error)
}

// DuckDB is the embedded store's dialect.
type DuckDB struct{}

func (DuckDB) Placeholder(n int) string   { return fmt.Sprintf("$%d", n) }
func (DuckDB) CountIf(cond string) string { return "count(*) FILTER (WHERE " + cond + ")" }
func (DuckDB) Sum(expr string) string     { return "CAST(coalesce(sum(" + expr + "), 0) AS BIGINT)" }
func (DuckDB) SumIf(expr, c string) string {
	return "CAST(coalesce(sum(" + expr + ") FILTER (WHERE " + c + "), 0) AS BIGINT)"
}
func (DuckDB) MinusSeconds(col string, n int64) string {
	return fmt.Sprintf("(%s - INTERVAL %d SECOND)", col, n)
}
func (DuckDB) LeftJoin(left, right, key string) string {
	return "(" + left + ") l LEFT JOIN (" + right + ") r USING (" + key + ")"
}
func (DuckDB) GroupEach(src string, cols, aggs []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("SELECT %d AS d, %s AS v, %s FROM g GROUP BY %s", i, c, strings.Join(aggs, ", "), c)
	}
	// Materialized: the source is worked out once, not once per column.
	return "WITH g AS MATERIALIZED (" + src + ") " + strings.Join(parts, " UNION ALL ")
}
func (DuckDB) LocalBucket(col, unit string, z Zone) string {
	return fmt.Sprintf("date_trunc('%s', %s)", unit, z.Shifted(col))
}
func (DuckDB) BucketText(expr string) string { return "strftime(" + expr + ", '%Y-%m-%d %H:%M:%S')" }
func (DuckDB) KeepsFirsts() bool             { return true }
func (DuckDB) JoinText(cols []string) string {
	wrapped := make([]string, len(cols))
	for i, c := range cols {
		wrapped[i] = "coalesce(" + c + ", '')"
	}
	return "concat_ws(chr(31), " + strings.Join(wrapped, ", ") + ")"
}
func (DuckDB) JSONString(col, key string) string {
	return fmt.Sprintf("coalesce(json_extract_string(%s, '$.\"%s\"'), '')", col, quote(strings.ReplaceAll(key, `"`, "")))
}
func (DuckDB) Regexp(col, param string) string { return "regexp_matches(" + col + ", " + param + ")" }
func (DuckDB) Trail(ts, code string) string {
	return "string_agg(CAST(CAST(floor(epoch(" + ts + ")) AS BIGINT) AS VARCHAR) || ':' || CAST(" + code + " AS VARCHAR), ',' ORDER BY " + ts + ")"
}
func (DuckDB) Epoch(col string) string { return "epoch(" + col + ")" }

// Visits is the embedded store's sessions table, kept by the store (store/duckdb/visits.go).
func (DuckDB) Visits(_, _, _ string) string { return "sessions" }

// PayerVisits is the embedded store's copies of the payers' visits (store/duckdb/visits.go).
func (DuckDB) PayerVisits() string { return "payer_visits" }

// VisitsByDay is the embedded store's visits_by_day (store/duckdb/visitsbyday.go).
func (DuckDB) VisitsByDay() string { return "visits_by_day" }

// PaidLinks is the embedded store's paid_links (migration 022, written with the links and the ledger).
func (DuckDB) PaidLinks() string { return "paid_links" }

// Payments reads the embedded store's ledger.
func (DuckDB) Payments(site, livemode string) string {
	return "SELECT payment_id FROM ledger WHERE site_id = " + site + " AND livemode = " + livemode + " AND kind = 'payment'"
}

// LedgerIn is the embedded store's ledger.
func (DuckDB) LedgerIn(_, _, _ string) string { return "ledger" }

// Picks is the embedded store's payment_picks (migration 021, written with the touches).
func (DuckDB) Picks(_, _ string) string { return "payment_picks" }

// Touches is the embedded store's payment_touches table (store/duckdb/touches.go).
func (DuckDB) Touches() string                   { return "payment_touches" }
func (DuckDB) Contains(col, param string) string { return "contains(" + col + ", " + param + ")" }

// quote escapes a string for a single-quoted SQL literal.
func quote(s string) string { return strings.ReplaceAll(s, "'", "''") }

package stats

import (
	"fmt"
	"strings"
)

// ClickHouse is the dialect of the scale-out EventStore (store/clickhouse). Every spelling runs on
// Debian's ClickHouse 18.16 and on current releases: no CTEs, window functions, JSONExtract*,
// toStartOfInterval or DateTime64.
type ClickHouse struct{}

// Placeholder is $n: clickhouse-go binds numbered parameters on the client side, quote-aware, so SQL the
// engine writes with literal $1 runs unchanged too.
func (ClickHouse) Placeholder(n int) string { return fmt.Sprintf("$%d", n) }

func (ClickHouse) CountIf(cond string) string { return "countIf(" + cond + ")" }

func (ClickHouse) ArgMin(val, by string) string { return "argMin(" + val + ", " + by + ")" }

func (ClickHouse) ArgMinIf(val, by, c string) string {
	return "argMinIf(" + val + ", " + by + ", " + c + ")"
}

func (ClickHouse) ArgMaxIf(val, by, c string) string {
	return "argMaxIf(" + val + ", " + by + ", " + c + ")"
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

// KeepsFirsts is false: visits are grouped at query time, so visitors are counted with a distinct count.
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

// Visits groups the site's events into visits at query time (the embedded store keeps a table instead).
// A visit belongs to the range it starts in and counts all its events, as on DuckDB, so the whole site is
// grouped and the caller's start_ts condition picks the range's visits; from and to are unused here.
func (ClickHouse) Visits(cols, site, _, _ string) string {
	return "(SELECT site_id, " + cols + " FROM events WHERE site_id = " + site + " GROUP BY site_id, session_id)"
}

// chQuote escapes s for a single-quoted ClickHouse literal. ClickHouse reads backslash escapes inside
// literals, so doubling the quote (quote, the DuckDB rule) is not enough: a trailing backslash would
// escape the closing quote.
func chQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s)
}

// Touches reads the payment touches' newest rows: a rewrite writes its rows under a new version and
// marks the rows it drops deleted (store/clickhouse/touches.go).
func (ClickHouse) Touches() string {
	return "(SELECT * FROM payment_touches FINAL WHERE deleted = 0)"
}

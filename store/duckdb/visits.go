package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// sessionAgg derives visits from events; it must match migration 010.
const sessionAgg = `SELECT site_id, session_id, arg_min(visitor_id, ts), min(ts), max(ts),
	count(*) FILTER (WHERE name = 'pageview'), count(*) FILTER (WHERE name <> 'pageview'),
	arg_min(path, ts) FILTER (WHERE name = 'pageview'), min(ts) FILTER (WHERE name = 'pageview'),
	arg_max(path, ts) FILTER (WHERE name = 'pageview'), max(ts) FILTER (WHERE name = 'pageview'),
	arg_min(channel, ts), arg_min(referrer_source, ts), arg_min(referrer, ts), arg_min(utm_source, ts), arg_min(utm_medium, ts),
	arg_min(utm_campaign, ts), arg_min(utm_term, ts), arg_min(utm_content, ts), arg_min(click_id_platform, ts),
	arg_min(country, ts), arg_min(region, ts), arg_min(device, ts), arg_min(browser, ts), arg_min(os, ts)
	FROM events`

// sessionWindow bounds how far before its new events a visit is read back when it is recomputed: a
// visit ends after 30 idle minutes and a cookieless one with the day, so a day covers every real visit.
const sessionWindow = 24 * time.Hour

// sessionBase are the columns sessionAgg yields, in table order; prevColumns follow them.
var sessionBase = []string{"site_id", "session_id", "visitor_id", "start_ts", "end_ts", "pv", "ev", "entry_page", "entry_ts", "exit_page", "exit_ts",
	"channel", "referrer_source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "click_id_platform",
	"country", "region", "device", "browser", "os"}

// prevDims are the visit dimensions whose prev_<column> holds the start of the visitor's previous visit
// with the same value; prev_visit is the previous visit of any value. A visit whose prev is before a
// range's start (or absent) is the visitor's first of that group in the range, so the stats engine
// counts distinct visitors by counting those visits (stats/engine.go, firstVisit).
var prevDims = [...]string{"channel", "referrer_source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"click_id_platform", "entry_page", "exit_page", "country", "region", "device", "browser", "os"}

func prevColumns() []string {
	out := []string{"prev_visit"}
	for _, c := range prevDims {
		out = append(out, "prev_"+c)
	}
	return out
}

// qualified lists columns as alias.column.
func qualified(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c
	}
	return strings.Join(out, ", ")
}

type visitKey struct{ site, session string }

// sqlString is s as a single-quoted SQL literal, for the few values a statement names.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// querier is what deriving visits needs of a transaction: InsertEvents derives them on the appender's
// connection inside the transaction that appends the batch, so a reader sees a batch's events and its
// visits together or neither (a count is never ahead of, nor behind, the events).
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// deriveVisits recomputes, from the events, every visit a batch of events touched (on q, inside the
// batch's transaction).
func deriveVisits(ctx context.Context, q conn, events []tributary.Event) error {
	pending := map[visitKey]time.Time{}
	for i := range events {
		e := &events[i]
		k := visitKey{e.SiteID, e.SessionID}
		if t, ok := pending[k]; !ok || e.Timestamp.Before(t) {
			pending[k] = e.Timestamp
		}
	}
	keys := make([]visitKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	// In time order, so the table stays in time order (a range query then skips the row groups outside
	// it) and each chunk reads a short stretch of the events.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if ta, tb := pending[a], pending[b]; !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a.site+"\x00"+a.session < b.site+"\x00"+b.session
	})
	const chunk = 20000
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		sites, sessions := make([]string, len(part)), make([]string, len(part))
		for j, k := range part {
			sites[j], sessions[j] = k.site, k.session
		}
		// A visit's events start at its stored start, or at its earliest new event for a new visit
		// (bounded by sessionWindow for an event older than that start): only that stretch of the
		// events is read, minutes for live traffic rather than the day.
		from := time.Time{}
		for _, k := range part {
			if t := pending[k]; from.IsZero() || t.Before(from) {
				from = t
			}
		}
		// Bound as two lists, not written into the statement: DuckDB took 181-205 ms to parse and bind a
		// VALUES list of 15,000 pairs, against 18-45 ms for the lists.
		if err := findVisits(ctx, q, `SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])`, sites, sessions); err != nil {
			return err
		}
		var known sql.NullTime
		if err := q.QueryRowContext(ctx, `SELECT min(start_ts) FROM visit_stored`).Scan(&known); err != nil {
			return err
		}
		if known.Valid && known.Time.Before(from) {
			floor := from.Add(-sessionWindow)
			from = known.Time
			if from.Before(floor) {
				from = floor
			}
		}
		if err := refreshVisits(ctx, q, `ts >= '`+from.UTC().Format("2006-01-02 15:04:05.999999")+`'`); err != nil {
			return err
		}
	}
	return nil
}

// Visits are found by hashed keys (migration 012): session_key = hash(site_id, session_id) and
// visitor_key = hash(site_id, visitor_id). A lookup selects the rows whose key matches and then compares
// the ids of those few rows, so a collision costs a comparison, never a wrong row.
const (
	sessionKeyExpr = "hash(site_id, session_id)"
	visitorKeyExpr = "hash(site_id, visitor_id)"
)

// findVisits stores the (site_id, session_id) pairs of keys (a query, with args) in the temporary table
// visit_keys and their stored visits, with their row ids, in visit_stored, for refreshVisits.
func findVisits(ctx context.Context, tx querier, keys string, args ...any) error {
	for i, q := range []string{
		`CREATE TEMP TABLE visit_keys AS SELECT site_id, session_id, ` + sessionKeyExpr + ` AS skey FROM (SELECT DISTINCT * FROM (` + keys + `) t(site_id, session_id))`,
		// Only what the refresh reads of them: the whole rows were 45 columns held for nothing.
		`CREATE TEMP TABLE visit_stored AS SELECT s.rowid AS rid, s.site_id, s.session_id, s.visitor_id, s.start_ts FROM sessions s
			WHERE s.session_key IN (SELECT skey FROM visit_keys)`,
		`DELETE FROM visit_stored WHERE (site_id, session_id) NOT IN (SELECT site_id, session_id FROM visit_keys)`,
	} {
		var a []any
		if i == 0 {
			a = args
		}
		if _, err := tx.ExecContext(ctx, q, a...); err != nil {
			return err
		}
	}
	return nil
}

// refreshVisits recomputes the visits findVisits found (or did not: new visits) from their events (those
// matching eventCond), and the prev_* columns of every visit of their visitors. A new visit at the live
// edge changes no earlier visit's prev, so usually no other row is written, and the table keeps its time
// order.
func refreshVisits(ctx context.Context, tx conn, eventCond string) error {
	base := strings.Join(sessionBase, ", ")
	prevs := prevColumns()
	// What writePrevs reads.
	prevInput := "site_id, session_id, visitor_id, start_ts, " + strings.Join(prevDims[:], ", ")
	var set, differs, fromPrev []string
	for _, c := range prevs {
		set = append(set, c+" = a."+c)
		differs = append(differs, "p."+c+" IS DISTINCT FROM o."+c)
		fromPrev = append(fromPrev, "p."+c)
	}
	for _, q := range []string{
		`CREATE TEMP TABLE visit_refresh AS SELECT * FROM (` + strings.Replace(sessionAgg, "FROM events",
			"FROM events e SEMI JOIN visit_keys k ON e.site_id = k.site_id AND e.session_id = k.session_id", 1) + ` WHERE ` +
			eventCond + ` GROUP BY site_id, session_id) t(` + base + `)`,
		`CREATE TEMP TABLE visit_who AS SELECT site_id, visitor_id, ` + visitorKeyExpr + ` AS vkey FROM (SELECT site_id, visitor_id FROM visit_stored
			UNION SELECT site_id, visitor_id FROM visit_refresh)`,
		// The visitors' other visits: candidates by key first (a scan of one integer column), then exactly.
		`CREATE TEMP TABLE visit_others AS SELECT s.rowid AS rid, ` + base + `, ` + strings.Join(prevs, ", ") + ` FROM sessions s
			WHERE s.visitor_key IN (SELECT vkey FROM visit_who)`,
		// Every visit of those visitors with only what their prev_* depend on (writePrevs): carried whole,
		// with their old prev_*, the visits were once the write's largest step (docs/benchmarks.md, Memory).
		`CREATE TEMP TABLE visit_prev_in AS SELECT ` + prevInput + `, false AS touched, o.rid FROM visit_others o
				SEMI JOIN visit_who w ON o.site_id = w.site_id AND o.visitor_id = w.visitor_id
				ANTI JOIN visit_keys k ON o.site_id = k.site_id AND o.session_id = k.session_id
			UNION ALL SELECT ` + prevInput + `, true, NULL FROM visit_refresh`,
		"prevs",
		`DROP TABLE visit_prev_in`,
		// Every visit of those visitors as the write leaves them: the recomputed ones (touched) and the
		// others, each with its new prev_*.
		`CREATE TEMP VIEW visit_history AS
			SELECT r.*, ` + strings.Join(fromPrev, ", ") + `, true AS touched, NULL::BIGINT AS rid FROM visit_refresh r
				JOIN visit_prev p ON p.touched AND p.site_id = r.site_id AND p.session_id = r.session_id
			UNION ALL SELECT ` + qualified("o", sessionBase) + `, ` + strings.Join(fromPrev, ", ") + `, false, o.rid FROM visit_others o
				JOIN visit_prev p ON p.rid = o.rid`,
		`CREATE TEMP TABLE visit_moved AS SELECT p.rid, ` + strings.Join(fromPrev, ", ") + ` FROM visit_prev p JOIN visit_others o ON o.rid = p.rid
			WHERE NOT p.touched AND (` + strings.Join(differs, " OR ") + `)`,
		"update",
		`DELETE FROM sessions WHERE rowid IN (SELECT rid FROM visit_stored)`,
		`INSERT INTO sessions (` + base + `, ` + strings.Join(prevs, ", ") + `, session_key, visitor_key) SELECT ` + base + `, ` + strings.Join(prevs, ", ") +
			`, ` + sessionKeyExpr + `, ` + visitorKeyExpr + ` FROM visit_history WHERE touched ORDER BY start_ts`,
		"payers",
		// Dropped before the visits by day are kept, which need only the rest.
		`DROP TABLE visit_keys`,
		`DROP TABLE visit_who`,
		"days",
		`DROP VIEW visit_history`,
		`DROP TABLE visit_refresh`,
		`DROP TABLE visit_prev`,
		`DROP TABLE visit_stored`,
		`DROP TABLE visit_others`,
		`DROP TABLE visit_moved`,
	} {
		switch q {
		case "update":
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM visit_moved`).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			q = `UPDATE sessions SET ` + strings.Join(set, ", ") + ` FROM visit_moved a WHERE sessions.rowid = a.rid`
		case "payers":
			// Every sessions row written above belongs to a visitor of visit_who, and visit_history holds
			// all their visits as written (reading them from sessions again would read the whole table).
			if err := refreshPayerVisits(ctx, tx, `SELECT site_id, visitor_id FROM visit_who`, `visit_history`); err != nil {
				return err
			}
			continue
		case "prevs":
			if err := writePrevs(ctx, tx, "visit_prev_in", "visit_prev"); err != nil {
				return fmt.Errorf("prev columns: %w", err)
			}
			continue
		case "days":
			if err := keepVisitsByDay(ctx, tx); err != nil {
				return fmt.Errorf("visits by day: %w", err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// payerCopyByKey is up to how many payers a link copies by one key lookup each: DuckDB reads only the
// stretches of sessions that hold a single key it compares with a constant, while for a list of keys it
// reads every column of every visit (at 10M events 14 ms of CPU per key against 450 ms for the list).
const payerCopyByKey = 8

// refreshPayerVisits rewrites the payer_visits rows (migration 019) of the visitors in the relation who
// (site_id, visitor_id) that have a payment link; the others have none. visits is a relation holding
// every visit of those visitors as the write leaves them (the derivation's visit_history), or "" to read
// them from sessions. It runs in the transaction that wrote their visits or their links, under the
// events writer's lock, so a visit and a link committed at the same time cannot miss each other.
func refreshPayerVisits(ctx context.Context, tx querier, who, visits string) error {
	cols := strings.Join(append(append([]string{}, sessionBase...), prevColumns()...), ", ")
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE payer_who AS SELECT DISTINCT site_id, visitor_id, `+visitorKeyExpr+` AS vkey FROM (`+who+`) w
		WHERE (site_id, visitor_id) IN (SELECT site_id, visitor_id FROM identities WHERE payment_id <> '' AND visitor_id <> '')`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payer_who`).Scan(&n); err != nil {
		return err
	}
	var copies []string
	switch {
	case n == 0:
	case visits != "":
		copies = append(copies, `INSERT INTO payer_visits (`+cols+`) SELECT `+cols+` FROM `+visits+`
			WHERE (site_id, visitor_id) IN (SELECT site_id, visitor_id FROM payer_who) ORDER BY start_ts`)
	case n <= payerCopyByKey:
		rows, err := tx.QueryContext(ctx, `SELECT site_id, visitor_id, vkey FROM payer_who`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var site, visitor string
			var key uint64
			if err := rows.Scan(&site, &visitor, &key); err != nil {
				rows.Close()
				return err
			}
			copies = append(copies, `INSERT INTO payer_visits (`+cols+`) SELECT `+cols+` FROM sessions WHERE visitor_key = `+strconv.FormatUint(key, 10)+`
				AND site_id = `+sqlString(site)+` AND visitor_id = `+sqlString(visitor)+` ORDER BY start_ts`)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	default:
		copies = append(copies, `INSERT INTO payer_visits (`+cols+`) SELECT `+cols+` FROM sessions WHERE visitor_key IN (SELECT vkey FROM payer_who)
			AND (site_id, visitor_id) IN (SELECT site_id, visitor_id FROM payer_who) ORDER BY start_ts`)
	}
	if n > 0 {
		copies = append([]string{`DELETE FROM payer_visits WHERE (site_id, visitor_id) IN (SELECT site_id, visitor_id FROM payer_who)`}, copies...)
	}
	for _, q := range append(copies, `DROP TABLE payer_who`) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// repairSessionsOnce repairs the visits of a store last written by a build that derived them in the
// background (migration 018 marks it); since then a batch's visits commit with its events, so a start
// has nothing to repair (at 10M events the repair cost seconds at every start).
func (s *Store) repairSessionsOnce(ctx context.Context) error {
	var state string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'visits_repair'`).Scan(&state)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return err
	}
	if state != "pending" {
		return nil
	}
	if err := s.repairSessions(ctx); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM settings WHERE key = 'visits_repair'`)
	return err
}

// repairSessions recomputes from the events the visits of the last day, in case the process stopped
// between storing a batch and merging its visits (a build that merged them in the background).
func (s *Store) repairSessions(ctx context.Context) error {
	// A connection with its own transaction rather than a *sql.Tx: the derivation appends through the
	// connection (writePrevs).
	tx, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer tx.Close()
	if _, err := tx.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			rollback(ctx, tx)
		}
	}()
	since := `ts >= (SELECT coalesce(max(ts), TIMESTAMP '1970-01-01') FROM events) - INTERVAL 1 DAY`
	recent := `SELECT DISTINCT site_id, session_id FROM events WHERE ` + since
	// A visit's earlier events may precede the day; sessionWindow bounds how far back they go.
	// It runs as the store opens, before anyone listens for changes.
	if err := findVisits(ctx, tx, recent); err != nil {
		return err
	}
	if err := refreshVisits(ctx, tx, `ts >= (SELECT coalesce(max(ts), TIMESTAMP '1970-01-01') FROM events) - INTERVAL 2 DAY`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `COMMIT`); err != nil {
		return err
	}
	committed = true
	return nil
}

// fillVisitKeys computes the visits' hashed keys where they are missing (after migration 012), or all of
// them when DuckDB's hash function is not the one that computed them (the settings row visit_key_hash
// keeps a probe value of it): a key computed by another function would find no visit.
func (s *Store) fillVisitKeys(ctx context.Context) error {
	var probe string
	if err := s.db.QueryRowContext(ctx, `SELECT hash('tributary visit keys')::VARCHAR`).Scan(&probe); err != nil {
		return err
	}
	var stored string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'visit_key_hash'`).Scan(&stored)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	where := ` WHERE session_key IS NULL OR visitor_key IS NULL`
	if stored != probe {
		where = ""
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET session_key = `+sessionKeyExpr+`, visitor_key = `+visitorKeyExpr+where); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('visit_key_hash', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, probe); err != nil {
		return err
	}
	return tx.Commit()
}

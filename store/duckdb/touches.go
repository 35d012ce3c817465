package duckdb

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/store/sqlmeta"
	"github.com/tributary/tributary/touches"
)

// The payment touches (migration 016) are kept by a touches.Maintainer the store calls after each write
// of events, identities or ledger entries; these are the reads and writes it asks of the store.
var _ touches.Store = (*Store)(nil)

// touchCols are payment_touches' columns in tributary.PaymentTouch order.
var touchCols = "site_id, " + sqlmeta.TouchCols

// maintain runs the maintainer after a committed write. The facts are stored whatever it answers, so a
// failure is logged, not returned (a caller would retry a write that succeeded): the site keeps its
// stale mark and the next start rebuilds it.
func (s *Store) maintain(what string, err error) {
	if err != nil {
		s.log.Error("payment touches not rewritten; rebuilt at the next start", slog.String("after", what), slog.Any("err", err))
	}
}

// PaymentTimes returns each payment's earliest payment entry time.
func (s *Store) PaymentTimes(ctx context.Context, siteID string, paymentIDs []string) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT payment_id, min(occurred_at) FROM ledger WHERE site_id = $1 AND kind = 'payment'
		AND payment_id IN (SELECT unnest($2::VARCHAR[])) GROUP BY payment_id`, siteID, paymentIDs)
	if err != nil {
		return nil, mapErr("payment times", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var p string
		var t time.Time
		if err := rows.Scan(&p, &t); err != nil {
			return nil, mapErr("payment times", err)
		}
		out[p] = t
	}
	return out, mapErr("payment times", rows.Err())
}

// VisitsOf returns the visitors' visits starting in [from, to], found by their hashed visitor key.
func (s *Store) VisitsOf(ctx context.Context, siteID string, visitorIDs []string, from, to time.Time) ([]tributary.Visit, error) {
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	vals := make([]string, len(tributary.VisitColumns))
	for i, c := range tributary.VisitColumns {
		vals[i] = "coalesce(" + c + ", '')"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT session_id, visitor_id, start_ts, `+strings.Join(vals, ", ")+` FROM sessions
		WHERE visitor_key IN (SELECT hash($1, v) FROM (SELECT unnest($2::VARCHAR[]) AS v)) AND site_id = $1
		AND visitor_id IN (SELECT unnest($2::VARCHAR[])) AND start_ts >= $3 AND start_ts <= $4 ORDER BY start_ts, session_id`,
		siteID, visitorIDs, from.UTC(), to.UTC())
	if err != nil {
		return nil, mapErr("visits of visitors", err)
	}
	defer rows.Close()
	out, err := sqlmeta.Collect(rows, sqlmeta.ScanVisit)
	return out, mapErr("visits of visitors", err)
}

// TouchedPayments returns the payments with a member row of one of the visitors paid at or after
// paidFrom.
func (s *Store) TouchedPayments(ctx context.Context, siteID string, visitorIDs []string, paidFrom time.Time) ([]string, error) {
	return s.strings(ctx, "touched payments", `SELECT DISTINCT payment_id FROM payment_touches WHERE site_id = $1 AND session_id = ''
		AND visitor_id IN (SELECT unnest($2::VARCHAR[])) AND start_ts >= $3 ORDER BY 1`, siteID, visitorIDs, paidFrom.UTC())
}

// TouchVisitors returns the visitors of the site's member rows.
func (s *Store) TouchVisitors(ctx context.Context, siteID string) ([]string, error) {
	return s.strings(ctx, "paying visitors", `SELECT DISTINCT visitor_id FROM payment_touches WHERE site_id = $1 AND session_id = ''`, siteID)
}

// LinkedPayments returns every payment of the site with a link fact.
func (s *Store) LinkedPayments(ctx context.Context, siteID string) ([]string, error) {
	return s.strings(ctx, "linked payments", `SELECT DISTINCT payment_id FROM identities WHERE site_id = $1 AND payment_id <> '' ORDER BY 1`, siteID)
}

func (s *Store) strings(ctx context.Context, op, q string, args ...any) ([]string, error) {
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.Value[string], q, args...)
	return out, mapErr(op, err)
}

// ReplaceTouches replaces the payments' rows in one transaction.
func (s *Store) ReplaceTouches(ctx context.Context, siteID string, paymentIDs []string, touches []tributary.PaymentTouch) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("replace payment touches", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM payment_touches WHERE site_id = $1 AND payment_id IN (SELECT unnest($2::VARCHAR[]))`, siteID, paymentIDs); err != nil {
		return mapErr("replace payment touches", err)
	}
	if len(touches) > 0 {
		rows := make([][]any, len(touches))
		for i := range touches {
			t := &touches[i]
			rows[i] = append([]any{siteID}, sqlmeta.TouchValues(t)...)
		}
		if err := sqlmeta.InsertRows(ctx, tx, `INSERT INTO payment_touches (`+touchCols+`) VALUES `, "", rows); err != nil {
			return mapErr("replace payment touches", err)
		}
	}
	// The picks follow the touches in the same transaction, so a query never reads one without the other.
	if _, err := tx.ExecContext(ctx, `DELETE FROM payment_picks WHERE site_id = $1 AND payment_id IN (SELECT unnest($2::VARCHAR[]))`, siteID, paymentIDs); err != nil {
		return mapErr("replace payment picks", err)
	}
	if len(touches) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_picks (site_id, model, payment_id, `+strings.Join(tributary.VisitColumns[:], ", ")+`) `+
			pickedRows+` AND site_id = $1 AND payment_id IN (SELECT unnest($2::VARCHAR[]))`, siteID, paymentIDs); err != nil {
			return mapErr("replace payment picks", err)
		}
	}
	return mapErr("replace payment touches", tx.Commit())
}

// pickedRows selects payment_picks' rows from payment_touches (migration 021, which fills the table with
// the same condition): the row each single-touch model credits its payment with at the default lookback,
// by the condition the stats engine applies to the touches at any other lookback (stats/moneysql.go). A
// member row has neither flag and is never picked; an unattributed payment's own row is every model's.
// Callers append conditions with AND.
var pickedRows = func() string {
	lookback := strconv.Itoa(attribution.DefaultLookbackDays*24*3600) + " SECOND"
	models := make([]string, len(touches.PickModels))
	for i, m := range touches.PickModels {
		models[i] = "('" + string(m) + "')"
	}
	return `SELECT site_id, m.model, payment_id, ` + strings.Join(tributary.VisitColumns[:], ", ") + `
		FROM payment_touches, (VALUES ` + strings.Join(models, ", ") + `) m(model)
		WHERE ((session_id = '' AND visitor_id = '') OR (session_id <> '' AND start_ts >= paid_ts - INTERVAL ` + lookback + ` AND CASE m.model
			WHEN '` + string(attribution.FirstTouch) + `' THEN prev_ts < paid_ts - INTERVAL ` + lookback + `
			WHEN '` + string(attribution.LastTouch) + `' THEN is_last
			ELSE is_last_nd OR (is_last AND last_nd_ts < paid_ts - INTERVAL ` + lookback + `) END))`
}()

// MarkTouches stores or clears the site's stale mark.
func (s *Store) MarkTouches(ctx context.Context, siteID string, stale bool) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO touch_state (site_id, stale) VALUES ($1, $2) ON CONFLICT (site_id) DO UPDATE SET stale = excluded.stale`, siteID, stale)
	return mapErr("mark payment touches", err)
}

// StaleTouches lists the sites marked stale.
func (s *Store) StaleTouches(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "stale payment touches", `SELECT site_id FROM touch_state WHERE stale ORDER BY 1`)
}

// PaymentTouches returns the rows of the payments (all of the site's with none given), for tests and
// exports.
func (s *Store) PaymentTouches(ctx context.Context, siteID string, paymentIDs []string) ([]tributary.PaymentTouch, error) {
	q := `SELECT ` + sqlmeta.TouchCols + ` FROM payment_touches WHERE site_id = $1`
	args := []any{siteID}
	if paymentIDs != nil {
		q += ` AND payment_id IN (SELECT unnest($2::VARCHAR[]))`
		args = append(args, paymentIDs)
	}
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.ScanTouch, q+` ORDER BY payment_id, session_id, visitor_id`, args...)
	return out, mapErr("payment touches", err)
}

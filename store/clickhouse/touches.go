package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
	"github.com/tributary/tributary/touches"
)

// The payment touches (migration 004) are kept by a touches.Maintainer the store calls after each write
// of events, identities or ledger entries; these are the reads and writes it asks of the store.
var _ touches.Store = (*Store)(nil)

// maintain runs after a committed write: the facts are stored whatever the maintainer answers, so a
// failure is logged, not returned; the site keeps its stale mark and the next start rebuilds it.
func (s *Store) maintain(what string, err error) {
	if err != nil {
		s.log.Error("payment touches not rewritten; rebuilt at the next start", slog.String("after", what), slog.Any("err", err))
	}
}

// placeholders appends list to args and returns their placeholders.
func placeholders(args []any, list []string) ([]any, string) {
	ps := make([]string, len(list))
	for i, v := range list {
		args = append(args, v)
		ps[i] = "$" + strconv.Itoa(len(args))
	}
	return args, strings.Join(ps, ",")
}

// PaymentTimes returns each payment's earliest payment entry time.
func (s *Store) PaymentTimes(ctx context.Context, siteID string, paymentIDs []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(paymentIDs) == 0 {
		return out, nil
	}
	args, in := placeholders([]any{siteID}, paymentIDs)
	rows, err := s.db.QueryContext(ctx, `SELECT payment_id, min(occurred_at) FROM ledger WHERE site_id = $1 AND kind = 'payment'
		AND payment_id IN (`+in+`) GROUP BY payment_id`, args...)
	if err != nil {
		return nil, mapErr("payment times", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var t time.Time
		if err := rows.Scan(&p, &t); err != nil {
			return nil, mapErr("payment times", err)
		}
		out[p] = t.UTC()
	}
	return out, mapErr("payment times", rows.Err())
}

// VisitsOf returns the visitors' visits starting in [from, to], grouped from their events (a visit's
// events lie within a day of its start).
func (s *Store) VisitsOf(ctx context.Context, siteID string, visitorIDs []string, from, to time.Time) ([]tributary.Visit, error) {
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	args, in := placeholders([]any{siteID, from.UTC().Add(-24 * time.Hour), to.UTC().Add(24 * time.Hour), from.UTC(), to.UTC()}, visitorIDs)
	var vals []string
	for _, c := range tributary.VisitColumns {
		switch c {
		case "entry_page":
			vals = append(vals, "argMinIf(path, ts, name = 'pageview')")
		case "exit_page":
			vals = append(vals, "argMaxIf(path, ts, name = 'pageview')")
		default:
			vals = append(vals, "argMin("+c+", ts)")
		}
	}
	// A visit is every event of its session and belongs to the visitor of its first event, as in the
	// embedded store: the sessions the visitors have events in are found first, then grouped whole. No
	// output column is aliased to an input column's name: on 18.16 an alias shadows the column everywhere
	// in the query.
	rows, err := s.db.QueryContext(ctx, `SELECT session_id, argMin(visitor_id, ts), min(ts), `+strings.Join(vals, ", ")+`
		FROM events WHERE site_id = $1 AND ts >= $2 AND ts <= $3 AND session_id IN (
			SELECT DISTINCT session_id FROM events WHERE site_id = $1 AND ts >= $2 AND ts <= $3 AND visitor_id IN (`+in+`))
		GROUP BY session_id HAVING min(ts) >= $4 AND min(ts) <= $5 AND argMin(visitor_id, ts) IN (`+in+`) ORDER BY min(ts), session_id`, args...)
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
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	args, in := placeholders([]any{siteID, paidFrom.UTC()}, visitorIDs)
	return s.strings(ctx, "touched payments", `SELECT DISTINCT payment_id FROM payment_touches FINAL WHERE site_id = $1 AND session_id = ''
		AND deleted = 0 AND start_ts >= $2 AND visitor_id IN (`+in+`) ORDER BY payment_id`, args...)
}

// TouchVisitors returns the visitors of the site's member rows.
func (s *Store) TouchVisitors(ctx context.Context, siteID string) ([]string, error) {
	return s.strings(ctx, "paying visitors", `SELECT DISTINCT visitor_id FROM payment_touches FINAL WHERE site_id = $1 AND session_id = '' AND deleted = 0`, siteID)
}

// LinkedPayments returns every payment of the site with a link fact.
func (s *Store) LinkedPayments(ctx context.Context, siteID string) ([]string, error) {
	return s.strings(ctx, "linked payments", `SELECT DISTINCT payment_id FROM identities WHERE site_id = $1 AND payment_id != '' ORDER BY payment_id`, siteID)
}

func (s *Store) strings(ctx context.Context, op, q string, args ...any) ([]string, error) {
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.Value[string], q, args...)
	return out, mapErr(op, err)
}

// ReplaceTouches writes the payments' rows under a new version, with the rows they no longer have marked
// deleted, in one block: a reader sees the old rows or the new ones. Their picks follow in a second
// block under the same version (replacePicks), so a money statement, which reads the picks alone at the
// default lookback and the touches alone at any other, also sees the old attribution or the new one.
func (s *Store) ReplaceTouches(ctx context.Context, siteID string, paymentIDs []string, rows []tributary.PaymentTouch) error {
	if len(paymentIDs) == 0 {
		return nil
	}
	old, err := s.PaymentTouches(ctx, siteID, paymentIDs)
	if err != nil {
		return err
	}
	type key struct{ payment, session, visitor string }
	keep := map[key]bool{}
	for _, r := range rows {
		keep[key{r.PaymentID, r.SessionID, r.VisitorID}] = true
	}
	all := make([]tributary.PaymentTouch, 0, len(rows)+len(old))
	all = append(all, rows...)
	deleted := len(rows)
	for _, o := range old {
		if !keep[key{o.PaymentID, o.SessionID, o.VisitorID}] {
			all = append(all, o)
		}
	}
	if len(all) == 0 {
		return nil
	}
	ver := s.seq()
	err = s.batch(ctx, "replace payment touches", `INSERT INTO payment_touches (site_id, `+sqlmeta.TouchCols+`, deleted, ver)`, len(all), func(i int) []any {
		t := &all[i]
		r := append([]any{siteID}, sqlmeta.TouchValues(t)...)
		for k := len(r) - 2; k < len(r); k++ { // is_last, is_last_nd: UInt8
			if r[k].(bool) {
				r[k] = uint8(1)
			} else {
				r[k] = uint8(0)
			}
		}
		var del uint8
		if i >= deleted {
			del = 1
		}
		return append(r, del, ver)
	})
	if err != nil {
		return err
	}
	return s.replacePicks(ctx, siteID, paymentIDs, rows, ver)
}

// replacePicks writes the payments' picks (migration 009) from their new touches, under the touches'
// version: a pick per model that credits a row, a tombstone for each that credits none. Written after the
// touches, so a money statement reads the old picks or the new ones; if this write fails, the caller
// keeps the site's stale mark and the next start writes the touches and their picks again.
func (s *Store) replacePicks(ctx context.Context, siteID string, paymentIDs []string, rows []tributary.PaymentTouch, ver uint64) error {
	byPayment := map[string][]tributary.PaymentTouch{}
	for _, r := range rows {
		byPayment[r.PaymentID] = append(byPayment[r.PaymentID], r)
	}
	var picks [][]any
	for _, p := range slices.Compact(slices.Sorted(slices.Values(paymentIDs))) {
		for _, m := range touches.PickModels {
			r := []any{siteID, string(m), p}
			var vals tributary.VisitValues
			del := uint8(1)
			if i, ok := touches.Pick(byPayment[p], m); ok {
				vals, del = byPayment[p][i].Values, 0
			}
			for _, v := range vals {
				r = append(r, v)
			}
			picks = append(picks, append(r, del, ver))
		}
	}
	return s.batch(ctx, "replace payment picks", `INSERT INTO payment_picks (site_id, model, payment_id, `+strings.Join(tributary.VisitColumns[:], ", ")+`, deleted, ver)`,
		len(picks), func(i int) []any { return picks[i] })
}

// MarkTouches stores this process's stale mark, or clears every mark of the site (after a rebuild or a
// clean stop).
func (s *Store) MarkTouches(ctx context.Context, siteID string, stale bool) error {
	nodes := []string{s.node}
	if !stale {
		var err error
		if nodes, err = s.strings(ctx, "payment touch marks", `SELECT DISTINCT node FROM touch_state FINAL WHERE site_id = $1 AND stale = 1`, siteID); err != nil {
			return err
		}
	}
	var flag uint8
	if stale {
		flag = 1
	}
	ver := s.seq()
	return s.batch(ctx, "mark payment touches", `INSERT INTO touch_state (site_id, node, stale, ver)`, len(nodes), func(i int) []any {
		return []any{siteID, nodes[i], flag, ver}
	})
}

// StaleTouches lists the sites with a stale mark.
func (s *Store) StaleTouches(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "stale payment touches", `SELECT DISTINCT site_id FROM touch_state FINAL WHERE stale = 1 ORDER BY site_id`)
}

// PaymentTouches returns the newest rows of the payments (all of the site's with none given).
func (s *Store) PaymentTouches(ctx context.Context, siteID string, paymentIDs []string) ([]tributary.PaymentTouch, error) {
	q := `SELECT ` + sqlmeta.TouchCols + ` FROM payment_touches FINAL WHERE site_id = $1 AND deleted = 0`
	args := []any{siteID}
	if paymentIDs != nil {
		if len(paymentIDs) == 0 {
			return nil, nil
		}
		var in string
		args, in = placeholders(args, paymentIDs)
		q += ` AND payment_id IN (` + in + `)`
	}
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.ScanTouch, q+` ORDER BY payment_id, session_id, visitor_id`, args...)
	return out, mapErr("payment touches", err)
}

// newNode names this process in touch_state.
func newNode() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// InsertEvents appends events in one block, then rewrites the payment touches they can change.
func (s *Store) InsertEvents(ctx context.Context, events []tributary.Event) error {
	if err := s.touches.Prepare(ctx, sqlmeta.SitesOf(events, func(e *tributary.Event) string { return e.SiteID })...); err != nil {
		return err
	}
	if err := s.insertEvents(ctx, events); err != nil {
		return err
	}
	s.maintain("events", s.touches.Events(ctx, events))
	return nil
}

// InsertIdentities appends identity facts, then rewrites the payment touches they can change.
func (s *Store) InsertIdentities(ctx context.Context, ids []tributary.Identity) error {
	if err := s.touches.Prepare(ctx, sqlmeta.SitesOf(ids, func(i *tributary.Identity) string { return i.SiteID })...); err != nil {
		return err
	}
	if err := s.insertIdentities(ctx, ids); err != nil {
		return err
	}
	s.maintain("identities", s.touches.Identities(ctx, ids))
	return nil
}

// InsertLedger writes the entries whose id is new, then rewrites the touches of the payments that got a
// payment entry.
func (s *Store) InsertLedger(ctx context.Context, entries []tributary.LedgerEntry) (int, error) {
	if err := s.touches.Prepare(ctx, sqlmeta.SitesOf(entries, func(e *tributary.LedgerEntry) string { return e.SiteID })...); err != nil {
		return 0, err
	}
	n, err := s.insertLedger(ctx, entries)
	if err != nil || n == 0 {
		return n, err
	}
	s.maintain("ledger", s.touches.Ledger(ctx, entries))
	return n, nil
}

// DeleteSiteData removes the site's facts, its touches and their marks.
func (s *Store) DeleteSiteData(ctx context.Context, siteID string) error {
	defer s.touches.Reset(siteID)
	return s.deleteSiteData(ctx, siteID)
}

package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
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

type visitKey struct{ site, session string }

// noteVisits records the visits a stored batch touched; SyncVisits recomputes them. Ingest only pays
// for a map update: recomputing per batch would cost more than writing the batch.
func (s *Store) noteVisits(events []tributary.Event) {
	s.visitMu.Lock()
	defer s.visitMu.Unlock()
	if s.visitPending == nil {
		s.visitPending = map[visitKey]time.Time{}
	}
	for i := range events {
		e := &events[i]
		k := visitKey{e.SiteID, e.SessionID}
		if t, ok := s.visitPending[k]; !ok || e.Timestamp.Before(t) {
			s.visitPending[k] = e.Timestamp
		}
	}
}

// SyncVisits brings the sessions table up to date with every stored event: it recomputes, from the
// events, each visit touched since the last sync. The stats engine calls it before each query (so
// answers are exact) and a background loop every few seconds (so that call is usually free).
func (s *Store) SyncVisits(ctx context.Context) error {
	s.visitSync.Lock()
	defer s.visitSync.Unlock()
	s.visitMu.Lock()
	pending := s.visitPending
	s.visitPending = nil
	s.visitMu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	keys := make([]visitKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].site+"\x00"+keys[i].session < keys[j].site+"\x00"+keys[j].session })
	err := func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		const chunk = 20000
		for i := 0; i < len(keys); i += chunk {
			part := keys[i:min(i+chunk, len(keys))]
			var list strings.Builder
			for j, k := range part {
				if j > 0 {
					list.WriteByte(',')
				}
				list.WriteString("('" + strings.ReplaceAll(k.site, "'", "''") + "','" + strings.ReplaceAll(k.session, "'", "''") + "')")
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
			var known sql.NullTime
			if err := tx.QueryRowContext(ctx, `SELECT min(start_ts) FROM sessions WHERE (site_id, session_id) IN (`+list.String()+`)`).Scan(&known); err != nil {
				return err
			}
			if known.Valid && known.Time.Before(from) {
				floor := from.Add(-sessionWindow)
				from = known.Time
				if from.Before(floor) {
					from = floor
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE (site_id, session_id) IN (`+list.String()+`)`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sessions `+sessionAgg+` WHERE ts >= $1 AND (site_id, session_id) IN (`+
				list.String()+`) GROUP BY site_id, session_id`, from.UTC()); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		// Put the visits back so the next sync retries them.
		s.visitMu.Lock()
		if s.visitPending == nil {
			s.visitPending = map[visitKey]time.Time{}
		}
		for k, t := range pending {
			if old, ok := s.visitPending[k]; !ok || t.Before(old) {
				s.visitPending[k] = t
			}
		}
		s.visitMu.Unlock()
		return fmt.Errorf("duckdb: sync visits: %w", err)
	}
	return nil
}

// visitLoop syncs visits in the background until the store closes.
func (s *Store) visitLoop() {
	defer close(s.visitDone)
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.visitStop:
			return
		case <-t.C:
			s.SyncVisits(context.Background()) // a failure is retried on the next tick or query
		}
	}
}

// repairSessions recomputes from the events the visits of the last day, in case the process stopped
// between storing a batch and merging its visits.
func (s *Store) repairSessions(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	recent := `(site_id, session_id) IN (SELECT site_id, session_id FROM events WHERE ts >= (SELECT coalesce(max(ts), TIMESTAMP '1970-01-01') FROM events) - INTERVAL 1 DAY)`
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE `+recent); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions `+sessionAgg+` WHERE `+recent+` GROUP BY site_id, session_id`); err != nil {
		return err
	}
	return tx.Commit()
}

package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tributary/tributary"
)

const eventCols = `site_id, ts, name, source, visitor_id, session_id, hostname, path, referrer, referrer_source, channel,
	utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_platform, click_id, country, region, browser, os, device,
	screen_width, props, props_keys, props_values, click_id_param, fbp`

// batch sends rows as one native INSERT block: the driver collects the rows of a prepared INSERT inside
// a transaction and sends them at commit (ClickHouse has no transactions; nothing else is atomic).
func (s *Store) batch(ctx context.Context, op, insert string, n int, row func(i int) []any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(op, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insert)
	if err != nil {
		return mapErr(op, err)
	}
	defer stmt.Close()
	for i := 0; i < n; i++ {
		if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
			return mapErr(op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return mapErr(op, err)
	}
	return nil
}

// insertEvents appends events in one block.
func (s *Store) insertEvents(ctx context.Context, events []tributary.Event) error {
	if len(events) == 0 {
		return nil
	}
	type propCols struct {
		json         string
		keys, values []string
	}
	props := make([]propCols, len(events))
	for i := range events {
		p := propCols{json: "{}", keys: []string{}, values: []string{}}
		if m := events[i].Props; len(m) > 0 {
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("clickhouse: insert events: props: %w", err)
			}
			p.json = string(b)
			for k := range m {
				p.keys = append(p.keys, k)
			}
			sort.Strings(p.keys)
			for _, k := range p.keys {
				p.values = append(p.values, m[k])
			}
		}
		props[i] = p
	}
	return s.batch(ctx, "insert events", `INSERT INTO events (`+eventCols+`)`, len(events), func(i int) []any {
		e := &events[i]
		return []any{e.SiteID, e.Timestamp.UTC(), e.Name, e.Source, e.VisitorID, e.SessionID, e.Hostname, e.Path, e.Referrer,
			e.ReferrerSource, e.Channel, e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent, e.ClickIDPlatform, e.ClickID,
			e.Country, e.Region, e.Browser, e.OS, e.Device, int32(e.ScreenWidth), props[i].json, props[i].keys, props[i].values, e.ClickIDParam, e.FBP}
	})
}

// CountEvents counts a site's events in [from, to).
func (s *Store) CountEvents(ctx context.Context, siteID string, from, to time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count() FROM events WHERE site_id = $1 AND ts >= $2 AND ts < $3`, siteID, from.UTC(), to.UTC()).Scan(&n)
	return n, mapErr("count events", err)
}

// RecentVisitors counts distinct visitors since a time.
func (s *Store) RecentVisitors(ctx context.Context, siteID string, since time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT uniqExact(visitor_id) FROM events WHERE site_id = $1 AND ts >= $2`, siteID, since.UTC()).Scan(&n)
	return n, mapErr("recent visitors", err)
}

// EventNames aggregates the site's event names.
func (s *Store) EventNames(ctx context.Context, siteID string) ([]tributary.CatalogEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, count() AS n, countIf(source = 'browser'), countIf(source = 'server'), max(ts)
		FROM events WHERE site_id = $1 GROUP BY name ORDER BY n DESC, name`, siteID)
	if err != nil {
		return nil, mapErr("event names", err)
	}
	defer rows.Close()
	var out []tributary.CatalogEntry
	for rows.Next() {
		var c tributary.CatalogEntry
		if err := rows.Scan(&c.Name, &c.Count, &c.Browser, &c.Server, &c.LastSeen); err != nil {
			return nil, mapErr("event names", err)
		}
		out = append(out, c)
	}
	return out, mapErr("event names", rows.Err())
}

// factTables are the tables DeleteSiteData empties (the views read the facts tables; visits and the
// finished visits' tables are derived from events, and are emptied with them).
var factTables = []string{"events", "visits", "visit_day_events", "visits_done", "visit_days", "visits_by_day", "visit_day_sums",
	"visits_open", "visits_by_day_open", "visit_open_runs", "visits_paid", "visit_paid_marks", "ledger_facts", "ledger_entries", "identities",
	"mrr_movement_facts", "payment_touches", "payment_picks", "touch_state"}

// deleteSiteData removes the site's facts. ALTER … DELETE is an asynchronous mutation and 18.16 has no
// mutations_sync setting, so the call waits until the server reports the mutations done: a caller that
// deletes a site and counts again must see nothing.
func (s *Store) deleteSiteData(ctx context.Context, siteID string) error {
	// Not while this process finishes visits: a job that read the site before the deletion would record
	// its days after it.
	s.finishMu.Lock()
	defer s.finishMu.Unlock()
	for _, table := range factTables {
		if _, err := s.db.ExecContext(ctx, `ALTER TABLE `+table+` DELETE WHERE site_id = $1`, siteID); err != nil {
			return mapErr("delete site data from "+table, err)
		}
	}
	return s.waitMutations(ctx, "wait for site data deletion")
}

// waitMutations returns once the database has no mutation left to apply.
func (s *Store) waitMutations(ctx context.Context, op string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var pending uint64
		err := s.db.QueryRowContext(ctx, `SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0`).Scan(&pending)
		if err != nil {
			return mapErr(op, err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return unavailable(op, ctx.Err())
		case <-tick.C:
		}
	}
}

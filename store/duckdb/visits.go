package duckdb

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// sessionAgg derives a visit from its events; it must match migration 010 and stats' session columns.
const sessionAgg = `SELECT site_id, session_id, arg_min(visitor_id, ts), min(ts), max(ts),
	count(*) FILTER (WHERE name = 'pageview'), count(*) FILTER (WHERE name <> 'pageview'),
	arg_min(path, ts) FILTER (WHERE name = 'pageview'), arg_max(path, ts) FILTER (WHERE name = 'pageview'),
	arg_min(channel, ts), arg_min(referrer_source, ts), arg_min(referrer, ts), arg_min(utm_source, ts), arg_min(utm_medium, ts),
	arg_min(utm_campaign, ts), arg_min(utm_term, ts), arg_min(utm_content, ts), arg_min(click_id_platform, ts),
	arg_min(country, ts), arg_min(region, ts), arg_min(device, ts), arg_min(browser, ts), arg_min(os, ts)
	FROM events`

// sessionWindow bounds how far back a visit's earlier events are looked for when it is recomputed: a
// visit ends after 30 idle minutes and a cookieless one with the day, so a day covers every real visit
// while keeping the scan to recent row groups.
const sessionWindow = 24 * time.Hour

// refreshSessions recomputes the visits touched by a batch of events from the events table (the source
// of truth), so the result is right whatever order batches arrive in and however often it runs.
func (s *Store) refreshSessions(ctx context.Context, events []tributary.Event) error {
	type key struct{ site, session string }
	seen := map[key]bool{}
	var from time.Time
	for i := range events {
		e := &events[i]
		seen[key{e.SiteID, e.SessionID}] = true
		if from.IsZero() || e.Timestamp.Before(from) {
			from = e.Timestamp
		}
	}
	keys := make([]key, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].site+keys[i].session < keys[j].site+keys[j].session })
	const chunk = 2000
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		var list strings.Builder
		for j, k := range part {
			if j > 0 {
				list.WriteByte(',')
			}
			list.WriteString("('" + strings.ReplaceAll(k.site, "'", "''") + "','" + strings.ReplaceAll(k.session, "'", "''") + "')")
		}
		q := `INSERT OR REPLACE INTO sessions ` + sessionAgg + ` WHERE ts >= $1 AND (site_id, session_id) IN (` + list.String() + `) GROUP BY site_id, session_id`
		if _, err := s.db.ExecContext(ctx, q, from.Add(-sessionWindow).UTC()); err != nil {
			return err
		}
	}
	return nil
}

// repairSessions recomputes the visits of the last day of events, in case the process stopped between
// storing a batch and refreshing its visits.
func (s *Store) repairSessions(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO sessions `+sessionAgg+`
		WHERE ts >= (SELECT coalesce(max(ts), TIMESTAMP '1970-01-01') FROM events) - INTERVAL 1 DAY
		AND (site_id, session_id) IN (SELECT site_id, session_id FROM events WHERE ts >= (SELECT coalesce(max(ts), TIMESTAMP '1970-01-01') FROM events) - INTERVAL 1 DAY)
		GROUP BY site_id, session_id`)
	return err
}

package clickhouse

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// VisitorVisits implements tributary.VisitReader from the visits table (migration 003): each
// session's attributes come from its first event, the landing page from its first pageview. The rows read
// are narrowed to the days a visit starting in [from, to) can touch, as stats.ClickHouse.Visits does, and
// the visitor is the visit's (its first event's). No output column is aliased to an input column's name:
// on 18.16 an alias shadows the column everywhere in the query.
func (s *Store) VisitorVisits(ctx context.Context, siteID string, visitorIDs []string, from, to time.Time) ([]tributary.VisitSummary, error) {
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	args := []any{siteID, from.UTC(), to.UTC()}
	ph := make([]string, len(visitorIDs))
	for i, v := range visitorIDs {
		args = append(args, v)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT session_id, argMinMerge(visitor_id_state) AS visitor, minMerge(start_ts_state) AS start,
		maxMerge(end_ts_state), countIfMerge(pv_state), argMinMerge(channel_state), argMinMerge(referrer_source_state),
		argMinMerge(utm_source_state), argMinMerge(utm_medium_state), argMinMerge(utm_campaign_state), argMinIfMerge(entry_page_state),
		argMinMerge(country_state), argMinMerge(device_state)
		FROM visits WHERE site_id = $1 AND day >= toDate($2, 'UTC') - 1 AND day <= toDate($3, 'UTC') + 1
		GROUP BY session_id HAVING start >= $2 AND start < $3 AND visitor IN (`+strings.Join(ph, ",")+`) ORDER BY start, session_id`, args...)
	if err != nil {
		return nil, mapErr("visitor sessions", err)
	}
	defer rows.Close()
	var out []tributary.VisitSummary
	for rows.Next() {
		var x tributary.VisitSummary
		var pv uint64
		if err := rows.Scan(&x.SessionID, &x.VisitorID, &x.Start, &x.End, &pv, &x.Channel, &x.Source, &x.UTMSource, &x.UTMMedium,
			&x.UTMCampaign, &x.LandingPage, &x.Country, &x.Device); err != nil {
			return nil, mapErr("visitor sessions", err)
		}
		x.Pageviews = int64(pv)
		x.Start, x.End = x.Start.UTC(), x.End.UTC()
		out = append(out, x)
	}
	return out, mapErr("visitor sessions", rows.Err())
}

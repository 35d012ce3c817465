package clickhouse

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// VisitorSessions implements tributary.SessionReader: each session's attributes come from its first
// event, the landing page from its first pageview. No output column is aliased to an input column's
// name: on 18.16 an alias shadows the column everywhere in the query.
func (s *Store) VisitorSessions(ctx context.Context, siteID string, visitorIDs []string, from, to time.Time) ([]tributary.SessionSummary, error) {
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	args := []any{siteID, from.UTC(), to.UTC()}
	ph := make([]string, len(visitorIDs))
	for i, v := range visitorIDs {
		args = append(args, v)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT session_id, argMin(visitor_id, ts), min(ts), max(ts), countIf(name = 'pageview'),
		argMin(channel, ts), argMin(referrer_source, ts), argMin(utm_source, ts), argMin(utm_medium, ts), argMin(utm_campaign, ts),
		argMinIf(path, ts, name = 'pageview'), argMin(country, ts), argMin(device, ts)
		FROM (SELECT * FROM events WHERE site_id = $1 AND visitor_id IN (`+strings.Join(ph, ",")+`))
		GROUP BY session_id HAVING min(ts) >= $2 AND min(ts) < $3 ORDER BY min(ts), session_id`, args...)
	if err != nil {
		return nil, mapErr("visitor sessions", err)
	}
	defer rows.Close()
	var out []tributary.SessionSummary
	for rows.Next() {
		var x tributary.SessionSummary
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

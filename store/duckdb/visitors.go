package duckdb

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// VisitorVisits implements tributary.VisitReader: each session's attributes come from its first
// event, the landing page from its first pageview.
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
	out, err := sqlmeta.Query(ctx, s.db, func(row sqlmeta.Scanner) (x tributary.VisitSummary, err error) {
		err = row.Scan(&x.SessionID, &x.VisitorID, &x.Start, &x.End, &x.Pageviews, &x.Channel, &x.Source, &x.UTMSource, &x.UTMMedium,
			&x.UTMCampaign, &x.LandingPage, &x.Country, &x.Device)
		return x, err
	}, `SELECT session_id, arg_min(visitor_id, ts), min(ts) AS start, max(ts), count(*) FILTER (WHERE name = 'pageview'),
		arg_min(channel, ts), arg_min(referrer_source, ts), arg_min(utm_source, ts), arg_min(utm_medium, ts), arg_min(utm_campaign, ts),
		coalesce(arg_min(path, ts) FILTER (WHERE name = 'pageview'), ''), arg_min(country, ts), arg_min(device, ts)
		FROM events WHERE site_id = $1 AND visitor_id IN (`+strings.Join(ph, ",")+`)
		GROUP BY session_id HAVING min(ts) >= $2 AND min(ts) < $3 ORDER BY start, session_id`, args...)
	return out, mapErr("visitor sessions", err)
}

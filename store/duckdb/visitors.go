package duckdb

import (
	"context"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// VisitorVisits implements tributary.VisitReader from the visits the writer keeps (the sessions table):
// each visit is its whole session, belongs to its first event's visitor, and lands on its first
// pageview; found by the hashed visitor key, as the touches are.
func (s *Store) VisitorVisits(ctx context.Context, siteID string, visitorIDs []string, from, to time.Time) ([]tributary.VisitSummary, error) {
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	out, err := sqlmeta.Query(ctx, s.db, func(row sqlmeta.Scanner) (x tributary.VisitSummary, err error) {
		err = row.Scan(&x.SessionID, &x.VisitorID, &x.Start, &x.End, &x.Pageviews, &x.Channel, &x.Source, &x.UTMSource, &x.UTMMedium,
			&x.UTMCampaign, &x.LandingPage, &x.Country, &x.Device)
		return x, err
	}, `SELECT session_id, visitor_id, start_ts, end_ts, pv, channel, referrer_source, utm_source, utm_medium, utm_campaign,
		coalesce(entry_page, ''), country, device FROM sessions
		WHERE visitor_key IN (SELECT hash($1, v) FROM (SELECT unnest($2::VARCHAR[]) AS v)) AND site_id = $1
		AND visitor_id IN (SELECT unnest($2::VARCHAR[])) AND start_ts >= $3 AND start_ts < $4 ORDER BY start_ts, session_id`,
		siteID, visitorIDs, from.UTC(), to.UTC())
	return out, mapErr("visitor visits", err)
}

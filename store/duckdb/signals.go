package duckdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// SignalEvents returns one visitor's events with a click id, a Meta browser id (fbp) or a consent call,
// oldest first (the destinations' sender reads them: click ids and fbp to send, consent to respect).
func (s *Store) SignalEvents(ctx context.Context, siteID, visitorID string, from, to time.Time) ([]tributary.Event, error) {
	out, err := sqlmeta.Query(ctx, s.db, func(row sqlmeta.Scanner) (tributary.Event, error) {
		e := tributary.Event{SiteID: siteID}
		var props string
		if err := row.Scan(&e.Timestamp, &e.Name, &e.VisitorID, &e.SessionID, &e.Hostname, &e.Path, &e.ClickIDPlatform, &e.ClickID, &e.ClickIDParam, &e.FBP, &props); err != nil {
			return e, err
		}
		e.Timestamp = e.Timestamp.UTC()
		if props != "" && props != "{}" {
			if err := json.Unmarshal([]byte(props), &e.Props); err != nil {
				return e, fmt.Errorf("props: %w", err)
			}
		}
		return e, nil
	}, `SELECT ts, name, visitor_id, session_id, hostname, path, click_id_platform, click_id, click_id_param, fbp, props FROM events
		WHERE site_id = $1 AND visitor_id = $2 AND ts >= $3 AND ts < $4 AND (click_id <> '' OR fbp <> '' OR name = $5) ORDER BY ts, session_id`,
		siteID, visitorID, from.UTC(), to.UTC(), tributary.ConsentEventName)
	return out, mapErr("signal events", err) // a props error reads "signal events: props: …"
}

// IdentityKeys returns the identity graph's rows (visitor, person, customer, e-mail) of a site.
func (s *Store) IdentityKeys(ctx context.Context, siteID string) ([][4]string, error) {
	out, err := sqlmeta.Query(ctx, s.db, func(row sqlmeta.Scanner) (r [4]string, err error) {
		err = row.Scan(&r[0], &r[1], &r[2], &r[3])
		return r, err
	}, `SELECT DISTINCT visitor_id, person_id, customer_id, email FROM identities WHERE site_id = $1 AND visitor_id != ''
		AND (person_id != '' OR customer_id != '' OR email != '') ORDER BY visitor_id, person_id, customer_id, email`, siteID)
	return out, mapErr("identity keys", err)
}

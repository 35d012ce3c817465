package sqlmeta

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tributary/tributary"
)

// SignalEvents answers tributary.VisitorEventReader.SignalEvents on an events table both SQL event stores
// (DuckDB, ClickHouse) share: one visitor's events with a click id, a Meta browser id (fbp) or a consent
// call, oldest first. A props decode error reads "props: …".
func SignalEvents(ctx context.Context, db *sql.DB, siteID, visitorID string, from, to time.Time) ([]tributary.Event, error) {
	return Query(ctx, db, func(row Scanner) (tributary.Event, error) {
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
		WHERE site_id = $1 AND visitor_id = $2 AND ts >= $3 AND ts < $4 AND (click_id != '' OR fbp != '' OR name = $5) ORDER BY ts, session_id`,
		siteID, visitorID, from.UTC(), to.UTC(), tributary.ConsentEventName)
}

// IdentityKeys answers tributary.VisitorEventReader.IdentityKeys on the shared identities table: the
// identity graph's rows (visitor, person, customer, e-mail) of a site.
func IdentityKeys(ctx context.Context, db *sql.DB, siteID string) ([][4]string, error) {
	return Query(ctx, db, func(row Scanner) (r [4]string, err error) {
		err = row.Scan(&r[0], &r[1], &r[2], &r[3])
		return r, err
	}, `SELECT DISTINCT visitor_id, person_id, customer_id, email FROM identities WHERE site_id = $1 AND visitor_id != ''
		AND (person_id != '' OR customer_id != '' OR email != '') ORDER BY visitor_id, person_id, customer_id, email`, siteID)
}

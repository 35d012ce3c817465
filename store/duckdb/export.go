package duckdb

import (
	"context"
	"encoding/json"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// ExportEvents streams a site's events in time order, batch events at a time, to fn (for
// tributary migrate-store).
func (s *Store) ExportEvents(ctx context.Context, siteID string, batch int, fn func([]tributary.Event) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, ts, name, source, visitor_id, session_id, hostname, path, referrer, referrer_source,
		channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_platform, click_id, country, region, browser, os,
		device, screen_width, props, click_id_param, fbp FROM events WHERE site_id = $1 ORDER BY ts`, siteID)
	if err != nil {
		return mapErr("export events", err)
	}
	defer rows.Close()
	buf := make([]tributary.Event, 0, batch)
	for rows.Next() {
		var e tributary.Event
		var props string
		var width int32
		if err := rows.Scan(&e.SiteID, &e.Timestamp, &e.Name, &e.Source, &e.VisitorID, &e.SessionID, &e.Hostname, &e.Path, &e.Referrer,
			&e.ReferrerSource, &e.Channel, &e.UTMSource, &e.UTMMedium, &e.UTMCampaign, &e.UTMTerm, &e.UTMContent, &e.ClickIDPlatform,
			&e.ClickID, &e.Country, &e.Region, &e.Browser, &e.OS, &e.Device, &width, &props, &e.ClickIDParam, &e.FBP); err != nil {
			return mapErr("export events", err)
		}
		e.ScreenWidth = int(width)
		if props != "" && props != "{}" {
			if err := json.Unmarshal([]byte(props), &e.Props); err != nil {
				return mapErr("export events: props", err)
			}
		}
		buf = append(buf, e)
		if len(buf) == batch {
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return mapErr("export events", err)
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}

// ExportIdentities returns a site's identity facts in write order.
func (s *Store) ExportIdentities(ctx context.Context, siteID string) ([]tributary.Identity, error) {
	return s.identities(ctx, "export identities", `SELECT `+sqlmeta.IdentityCols+` FROM identities WHERE site_id = $1 ORDER BY ts, rowid`, siteID)
}

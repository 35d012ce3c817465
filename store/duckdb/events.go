package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// InsertEvents appends a batch through the Appender, which is an order of magnitude faster than INSERTs.
func (s *Store) InsertEvents(ctx context.Context, events []tributary.Event) error {
	if len(events) == 0 {
		return nil
	}
	return s.leanWrite(func() error { return s.insertEvents(ctx, events) })
}

func (s *Store) insertEvents(ctx context.Context, events []tributary.Event) error {
	if err := s.touches.Prepare(ctx, sqlmeta.SitesOf(events, func(e *tributary.Event) string { return e.SiteID })...); err != nil {
		return unavailable("insert events", err)
	}
	derive := func(c *sql.Conn) error {
		return oneThread(ctx, c, s.threads, func() error { return deriveVisits(ctx, c, events) })
	}
	err := s.withAppender(ctx, "events", derive, func(a *duck.Appender) error {
		for i := range events {
			e := &events[i]
			props := "{}"
			if len(e.Props) > 0 {
				b, err := json.Marshal(e.Props)
				if err != nil {
					return err
				}
				props = string(b)
			}
			if err := a.AppendRow(e.SiteID, e.Timestamp.UTC(), e.Name, e.Source, e.VisitorID, e.SessionID,
				e.Hostname, e.Path, e.Referrer, e.ReferrerSource, e.Channel,
				e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent,
				e.ClickIDPlatform, e.ClickID, e.Country, e.Region, e.Browser, e.OS, e.Device,
				int32(e.ScreenWidth), props, e.ClickIDParam, e.FBP); err != nil {
				return err
			}
		}
		return nil
	})
	// DuckDB's own structures (the parsed statements of the visits derivation and its catalog entries)
	// come from the C library's malloc, which keeps what they freed: 30 MB after a few writes of 30,000
	// events, when the batch's keys were still written into the statements; given back in 2–4 ms
	// (docs/benchmarks.md).
	trimCHeap()
	if err != nil {
		return appendErr("insert events", err)
	}
	// The batch and its visits are stored; the touches they feed are derived now, so a query never
	// writes. A failure leaves the facts stored (an error would make the writer store them again): the
	// touches are rebuilt at the next start.
	s.maintain("events", s.touches.Events(ctx, events))
	return nil
}

// oneThread runs fn with DuckDB limited to one thread, then sets threads back to n (the store's, read
// when it opened: after a restore that failed, the next write restores it rather than reading 1). The
// visits derivation builds temporary tables with CREATE TABLE AS, and each DuckDB thread fills a
// collection of its own (a block per column): with two threads a write of 30,000 events peaked at
// 216 MB of DuckDB's allocator, with one at 172 MB, and was no slower (docs/benchmarks.md). The
// setting is the database's, so a query running meanwhile gets one thread as well until fn returns.
func oneThread(ctx context.Context, c *sql.Conn, n int, fn func() error) error {
	if n > 1 {
		if _, err := c.ExecContext(ctx, `SET threads = 1`); err != nil {
			return err
		}
		defer c.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`SET threads = %d`, n))
	}
	return fn()
}

// appendErr codes an Appender failure: a row the table refuses (a NOT NULL or CHECK constraint, a
// value that does not convert) is EINVALID, so the ingest writer drops that event alone instead of
// retrying its batch; anything else is the store failing (EUNAVAILABLE).
func appendErr(op string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "IO Error") || strings.Contains(msg, "Out of Memory") || strings.Contains(msg, "database has been invalidated") {
		return unavailable(op, err) // the store failing, whatever the Appender wrapped it in
	}
	for _, data := range []string{"Failed to append", "constraint failed", "Conversion Error", "Invalid Input Error", "invalid unicode", "Invalid unicode"} {
		if strings.Contains(msg, data) {
			return &tributary.Error{Code: tributary.EINVALID, Message: "the store refused the row", Err: fmt.Errorf("duckdb: %s: %w", op, err)}
		}
	}
	return unavailable(op, err)
}

// CountEvents counts a site's events in [from, to).
func (s *Store) CountEvents(ctx context.Context, siteID string, from, to time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE site_id = $1 AND ts >= $2 AND ts < $3`, siteID, from.UTC(), to.UTC()).Scan(&n)
	return n, mapErr("count events", err)
}

// DeleteSiteData removes the site's facts. It holds the events writer's lock, so a write of the site's
// events cannot leave visits_by_day counting visits that are gone, and paidMu, so a payment entry cannot
// leave paid links of the site.
func (s *Store) DeleteSiteData(ctx context.Context, siteID string) error {
	defer s.touches.Reset(siteID)
	// paidMu first, as every holder of both takes them: a payment entry written meanwhile could
	// otherwise add paid links of the site after their delete.
	s.paidMu.Lock()
	defer s.paidMu.Unlock()
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	for _, table := range []string{"events", "sessions", "payer_visits", "visits_by_day", "visits_by_day_zone", "ledger", "identities", "mrr_movements", "payment_touches", "payment_picks", "paid_links", "touch_state"} {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE site_id = $1`, siteID); err != nil {
			return mapErr("delete site data from "+table, err)
		}
	}
	return nil
}

// RecentVisitors counts distinct visitors since a time.
func (s *Store) RecentVisitors(ctx context.Context, siteID string, since time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT visitor_id) FROM events WHERE site_id = $1 AND ts >= $2`, siteID, since.UTC()).Scan(&n)
	return n, mapErr("recent visitors", err)
}

package clickhouse

import (
	"context"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// SignalEvents returns one visitor's events with a click id, a Meta browser id (fbp) or a consent call,
// oldest first (the destinations' sender reads them: click ids and fbp to send, consent to respect).
func (s *Store) SignalEvents(ctx context.Context, siteID, visitorID string, from, to time.Time) ([]tributary.Event, error) {
	out, err := sqlmeta.SignalEvents(ctx, s.db, siteID, visitorID, from, to)
	return out, mapErr("signal events", err) // a props error reads "signal events: props: …"
}

// IdentityKeys returns the identity graph's rows (visitor, person, customer, e-mail) of a site.
func (s *Store) IdentityKeys(ctx context.Context, siteID string) ([][4]string, error) {
	out, err := sqlmeta.IdentityKeys(ctx, s.db, siteID)
	return out, mapErr("identity keys", err)
}

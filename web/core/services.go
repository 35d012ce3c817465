package core

import (
	"context"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/s2s"
	"github.com/tributary/tributary/sites"
	"github.com/tributary/tributary/stats"
)

// The services the handlers call, as WTF Dial does: main builds each implementation once over the
// stores and passes it in Options, so a handler never assembles one per request and tests may put any
// implementation in its place.

// CollectService runs a browser event through ingest (ingest.Pipeline): it answers the reason the
// event was dropped, or "" when it was kept.
type CollectService interface {
	Process(ctx context.Context, j *ingest.Job) (string, error)
}

// ServerEventService records one server-to-server event of a site (s2s.Processor).
type ServerEventService interface {
	Process(ctx context.Context, site *tributary.Site, raw []byte) (s2s.Result, error)
}

// CustomerService lists a site's paying customers and tells one's payments and journey
// (customers.Service).
type CustomerService interface {
	List(ctx context.Context, site *tributary.Site, q customers.Query) ([]customers.Customer, int, error)
	Get(ctx context.Context, site *tributary.Site, id string, test bool) (*customers.Detail, error)
}

// StatsService answers queries (stats.Engine); RunAll runs several with at most workers at a time.
type StatsService interface {
	Run(ctx context.Context, q *stats.Query) (*stats.Result, error)
	RunAll(ctx context.Context, qs []*stats.Query, workers int) ([]*stats.Result, error)
}

// IntakeService is the webhook intake (inbox.Intake): endpoints, deliveries committed durably before
// Stripe gets its 2xx, and replays; it wakes the inbox's worker when they leave work for it.
type IntakeService interface {
	Endpoint(ctx context.Context, id string) (*tributary.StripeEndpoint, error)
	Record(ctx context.Context, d *tributary.Delivery) (duplicate bool, err error)
	Replay(ctx context.Context, siteID, id string) error
	ReplayFailed(ctx context.Context, siteID string) (int, error)
}

// SiteService keeps sites (sites.Service): records in the MetaStore, and on deletion the site's facts
// in the EventStore as well.
type SiteService interface {
	Site(ctx context.Context, id string) (*tributary.Site, error)
	Sites(ctx context.Context) ([]*tributary.Site, error)
	CreateSite(ctx context.Context, s *tributary.Site) error
	UpdateSite(ctx context.Context, s *tributary.Site) error
	DeleteSite(ctx context.Context, id string) error
}

// Compile-time checks that the implementations main passes fit.
var (
	_ CollectService     = (*ingest.Pipeline)(nil)
	_ ServerEventService = (*s2s.Processor)(nil)
	_ CustomerService    = (*customers.Service)(nil)
	_ StatsService       = (*stats.Engine)(nil)
	_ IntakeService      = (*inbox.Intake)(nil)
	_ SiteService        = (*sites.Service)(nil)
)

package tributary

import (
	"context"
	"time"
)

// Event kinds in the catalog.
const (
	KindConversion = "conversion" // counts towards conversions and conversion rate
	KindGoal       = "goal"       // reported, not a conversion
	KindIgnored    = "ignored"    // hidden from reports
	// KindUnclassified is a name without a kind (the default): reported as a custom event, not a
	// conversion. Setting it removes the name's classification.
	KindUnclassified = "unclassified"
)

// Amount units of a revenue event.
const (
	UnitMinor = "minor" // 4999 means 49.99 USD (Stripe style); the default
	UnitMajor = "major" // 49.99 means 49.99 USD
)

// PaymentIDProp is the property a server event that became a payment keeps its ledger payment id in,
// so reports can tell which goal brought which money (event:goal's revenue).
const PaymentIDProp = "tributary_payment_id"

// RevenueEvent says that events of Name carry money and where the value is.
type RevenueEvent struct {
	SiteID string `json:"site_id"`
	Name   string `json:"event_name"`
	// AmountPath is a dot path into the event body, e.g. "metadata.amount" (default) or "amount".
	AmountPath string `json:"amount_path"`
	// Unit is minor or major.
	Unit string `json:"unit"`
	// CurrencyPath is where the currency code is; empty or missing in the event → the site's currency.
	CurrencyPath string    `json:"currency_path"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// CatalogEntry is one event name seen for a site.
type CatalogEntry struct {
	Name     string    `json:"name"`
	Count    int64     `json:"count"`
	Browser  int64     `json:"browser_count"`
	Server   int64     `json:"server_count"`
	LastSeen time.Time `json:"last_seen"`
	Kind     string    `json:"kind"`
}

// APISubscription is the state of a subscription reported through the server-to-server API, kept so
// upgrades, downgrades and cancellations become MRR movements.
type APISubscription struct {
	SiteID         string
	SubscriptionID string
	CustomerID     string
	MRR            int64
	Currency       string
	Active         bool
	UpdatedAt      time.Time
}

// ServerEventStore is the part of the MetaStore behind the server-to-server API.
type ServerEventStore interface {
	// ClaimServerEventID records event_id for the site and reports whether it was new; concurrent claims
	// of one id yield exactly one true.
	ClaimServerEventID(ctx context.Context, siteID, eventID string, at time.Time) (bool, error)
	// ReleaseServerEventID forgets a claim whose processing failed, so the client's retry is processed.
	ReleaseServerEventID(ctx context.Context, siteID, eventID string) error

	RevenueEvents(ctx context.Context, siteID string) ([]RevenueEvent, error)
	PutRevenueEvent(ctx context.Context, r RevenueEvent) error
	DeleteRevenueEvent(ctx context.Context, siteID, name string) error

	// EventKinds returns the classification of event names; names absent are unclassified.
	EventKinds(ctx context.Context, siteID string) (map[string]string, error)
	// SetEventKind classifies an event name; kind "" removes the classification (unclassified).
	SetEventKind(ctx context.Context, siteID, name, kind string) error

	APISubscription(ctx context.Context, siteID, subscriptionID string) (*APISubscription, error)
	PutAPISubscription(ctx context.Context, s *APISubscription) error
}

package tributary

import (
	"context"
	"time"
)

// Destination types: where paid conversions are sent back (issue 22, docs/ad-platforms.md).
const (
	DestinationMeta      = "meta"       // Meta Conversions API
	DestinationGoogleAds = "google_ads" // Google Ads click conversions and conversion adjustments
	DestinationTikTok    = "tiktok"     // TikTok Events API
	DestinationWebhook   = "webhook"    // a signed generic webhook
)

// DestinationTypes lists every destination type.
var DestinationTypes = []string{DestinationMeta, DestinationGoogleAds, DestinationTikTok, DestinationWebhook}

// Destination is one place a site's conversions are sent to. Config holds the settings that are not
// secret (pixel id, conversion action, test event code, API base URL…); the credential is kept only
// sealed (secretbox, purpose "destination:<id>") and never leaves the server.
type Destination struct {
	ID        string            `json:"id"`
	SiteID    string            `json:"site_id"`
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Config    map[string]string `json:"config"`
	Enabled   bool              `json:"enabled"`
	CreatedAt time.Time         `json:"created_at"`
	// SealedSecret is the sealed credential (access token, developer token, signing secret).
	SealedSecret string `json:"-"`
}

// DeliverySubscription is the kind of an outbox row that reports an MRR movement (the webhook's
// subscription events); its EntryID is "mrr:" + the movement id and its PaymentID the subscription id.
const DeliverySubscription = "subscription"

// Outbox delivery states.
const (
	OutboxPending = "pending" // waiting for its next attempt
	OutboxSent    = "sent"    // accepted by the platform
	OutboxFailed  = "failed"  // given up (refused for good, or retried past the deadline); replayable
	OutboxSkipped = "skipped" // nothing to send (no click id, consent declined, test money without a test facility…)
)

// DestinationDelivery is one outbox row: one ledger entry that one destination may need to hear about,
// written before the entry itself is appended (ledger.Recorder.BeforeAppend). It is unique by
// (destination, entry).
type DestinationDelivery struct {
	ID            string    `json:"id"`
	SiteID        string    `json:"site_id"`
	DestinationID string    `json:"destination_id"`
	EntryID       string    `json:"entry_id"`
	PaymentID     string    `json:"payment_id"` // the subscription id for a DeliverySubscription row
	Kind          string    `json:"kind"`       // the ledger entry's kind, or DeliverySubscription
	Livemode      bool      `json:"livemode"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	LastError     string    `json:"last_error,omitempty"`
	// Request is the last body sent (JSON), Response the platform's status code (0 when none).
	Request   string     `json:"request,omitempty"`
	Response  int        `json:"response,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// DeliveryCount is the number of outbox rows of one destination in one state (the /metrics gauges).
type DeliveryCount struct {
	DestinationID string
	Type          string
	Status        string
	Count         int64
}

// DestinationStore keeps destinations and their outbox (MetaStore).
type DestinationStore interface {
	CreateDestination(ctx context.Context, d *Destination) error
	Destination(ctx context.Context, siteID, id string) (*Destination, error)
	// Destinations returns a site's destinations, oldest first.
	Destinations(ctx context.Context, siteID string) ([]*Destination, error)
	// UpdateDestination stores a destination's name, config, credential and switch; ENOTFOUND when gone.
	UpdateDestination(ctx context.Context, d *Destination) error
	DeleteDestination(ctx context.Context, siteID, id string) error

	// EnqueueOutbox inserts the rows whose (destination, entry) is new and skips the others; it
	// returns how many were new.
	EnqueueOutbox(ctx context.Context, ds []DestinationDelivery) (int, error)
	// ClaimOutbox returns up to limit pending rows due at now that no live claim holds, oldest first,
	// and claims each until now+lease, so another sender does not take it meanwhile (UpdateOutbox ends
	// the claim).
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]DestinationDelivery, error)
	// ReleaseOutboxLeases ends every claim (the embedded store at start); it returns how many there were.
	ReleaseOutboxLeases(ctx context.Context) (int, error)
	// UpdateOutbox stores a row's state after an attempt (status, attempts, next attempt, error,
	// request, response, sent time).
	UpdateOutbox(ctx context.Context, d *DestinationDelivery) error
	DestinationDelivery(ctx context.Context, siteID, destinationID, id string) (*DestinationDelivery, error)
	// DestinationDeliveries returns a destination's newest rows first, at most limit.
	DestinationDeliveries(ctx context.Context, siteID, destinationID string, limit int) ([]DestinationDelivery, error)
	// CountOutbox counts rows per destination and state.
	CountOutbox(ctx context.Context) ([]DeliveryCount, error)

	// ConsentRequired reads the site-wide switch: when on, conversions are sent only for visitors who
	// granted consent (tributary.consent(true)); when off, for all but those who declined.
	ConsentRequired(ctx context.Context, siteID string) (bool, error)
	SetConsentRequired(ctx context.Context, siteID string, on bool) error
	// AttributionModel reads the model that picks a payment's credited visit for the site's destinations
	// ("" when never set: the default model).
	AttributionModel(ctx context.Context, siteID string) (string, error)
	SetAttributionModel(ctx context.Context, siteID, model string) error
}

// ConsentEventName is the custom event the tracker's tributary.consent(granted) records, with the prop
// "granted" = "true" or "false".
const ConsentEventName = "consent"

// VisitorEventReader is implemented by event stores that can read back one visitor's events that
// matter to destinations: those with a click id (and the parameter that carried it) or a Meta browser
// id (fbp), and consent events.
type VisitorEventReader interface {
	// SignalEvents returns the visitor's events in [from, to) that carry a click id or an fbp or are
	// named ConsentEventName, oldest first.
	SignalEvents(ctx context.Context, siteID, visitorID string, from, to time.Time) ([]Event, error)
	// IdentityKeys returns the site's distinct (visitor, person id, customer id, e-mail) of identity facts
	// that name a visitor and at least one key: the identity graph that joins a person's visitors.
	IdentityKeys(ctx context.Context, siteID string) ([][4]string, error)
}

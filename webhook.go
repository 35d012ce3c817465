package tributary

import (
	"context"
	"time"
)

// Stripe modes. An endpoint has one mode; test money never mixes with live money.
const (
	ModeLive = "live"
	ModeTest = "test"
)

// StripeEndpoint receives one site's Stripe webhooks in one mode at /stripe/webhook/{ID}. ID is
// unguessable. Secrets holds the active signing secrets, newest first; two during a rotation.
type StripeEndpoint struct {
	ID        string    `json:"id"`
	SiteID    string    `json:"site_id"`
	Mode      string    `json:"mode"`
	Secrets   []string  `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Delivery statuses. A delivery is one POST from Stripe; accepted ones carry the raw body and are the
// durable inbox until processed.
const (
	DeliveryPending    = "pending"    // committed, waiting for the processor
	DeliveryProcessing = "processing" // claimed by a processor until its lease ends
	DeliveryProcessed  = "processed"
	DeliveryIgnored    = "ignored"   // an event type Tributary does not use
	DeliveryFailed     = "failed"    // processing failed; Error says why; replayable
	DeliveryDuplicate  = "duplicate" // the event id was already received; nothing stored again
	DeliveryRejected   = "rejected"  // bad signature, stale, malformed or wrong mode; Error says why
)

// Delivery is one webhook delivery in the log.
type Delivery struct {
	ID           string     `json:"id"`
	SiteID       string     `json:"site_id"`
	EndpointID   string     `json:"endpoint_id"`
	ReceivedAt   time.Time  `json:"received_at"`
	EventID      string     `json:"event_id"`
	Type         string     `json:"type"`
	APIVersion   string     `json:"api_version"`
	Livemode     bool       `json:"livemode"`
	EventCreated time.Time  `json:"event_created"`
	Status       string     `json:"status"`
	Error        string     `json:"error,omitempty"`
	Attempts     int        `json:"attempts"`
	ProcessedAt  *time.Time `json:"processed_at"`
	ProcessingMS int64      `json:"processing_ms"`
	Payload      []byte     `json:"-"`
	LeaseUntil   *time.Time `json:"-"`
}

// InboxBacklog is how far webhook processing is behind acknowledging.
type InboxBacklog struct {
	// Waiting counts deliveries acknowledged but not yet processed (pending or processing).
	Waiting int64 `json:"waiting"`
	// Oldest is when the oldest of them was received; zero when none wait.
	Oldest time.Time `json:"oldest,omitempty"`
}

// DeliveryOutcome is the result of processing one delivery.
type DeliveryOutcome struct {
	ID, Status, Error string
	ProcessingMS      int64
	At                time.Time
}

// DeliveryFilter narrows the delivery log.
type DeliveryFilter struct {
	SiteID string
	Status string
	Type   string
	From   time.Time // inclusive; zero = no bound
	To     time.Time // exclusive; zero = no bound
	Limit  int
	// Before pages backwards: the deliveries after this one (an id of the site's log) in the log's
	// newest-first order; an unknown id is EINVALID on field "before".
	Before string
}

// WebhookStore is the part of the MetaStore that holds Stripe endpoints and the webhook inbox.
type WebhookStore interface {
	CreateStripeEndpoint(ctx context.Context, e *StripeEndpoint) error
	StripeEndpoint(ctx context.Context, id string) (*StripeEndpoint, error)
	StripeEndpoints(ctx context.Context, siteID string) ([]*StripeEndpoint, error)
	UpdateStripeEndpoint(ctx context.Context, e *StripeEndpoint) error
	DeleteStripeEndpoint(ctx context.Context, siteID, id string) error

	// RecordDelivery commits a delivery. For a delivery with status pending it first claims the
	// (site, event id) pair: when the event was already received the delivery is stored with status
	// duplicate, without its payload, and duplicate is true. Rejected deliveries are stored as given.
	RecordDelivery(ctx context.Context, d *Delivery) (duplicate bool, err error)
	// ClaimDeliveries marks up to limit pending deliveries (and processing ones whose lease ended,
	// left by a crash) as processing until leaseUntil and returns them with payloads, oldest first.
	ClaimDeliveries(ctx context.Context, limit int, now, leaseUntil time.Time) ([]*Delivery, error)
	// FinishDeliveries records the outcomes of a processed batch in one transaction.
	FinishDeliveries(ctx context.Context, os []DeliveryOutcome) error
	// FinishDelivery records the outcome of processing.
	FinishDelivery(ctx context.Context, id, status, errMsg string, processingMS int64, at time.Time) error
	Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// Delivery returns one delivery with its payload.
	Delivery(ctx context.Context, siteID, id string) (*Delivery, error)
	// ReplayDelivery puts an accepted delivery back to pending; ReplayFailed does it for every failed
	// delivery of the site and returns how many.
	ReplayDelivery(ctx context.Context, siteID, id string) error
	ReplayFailed(ctx context.Context, siteID string) (int, error)
	// InboxBacklog counts a site's deliveries not yet processed (every site's when siteID is "").
	InboxBacklog(ctx context.Context, siteID string) (InboxBacklog, error)
	// ReleaseLeases puts every delivery in processing back to pending. Only a process that owns the
	// store alone may call it (the embedded store at start, after a crash); shared stores rely on leases.
	ReleaseLeases(ctx context.Context) (int, error)
}

// StripeObject is the newest snapshot of one Stripe object (or a derived alias) of a site.
type StripeObject struct {
	SiteID       string
	ID           string
	Type         string
	Livemode     bool
	EventCreated time.Time
	Data         []byte
}

// Payment statuses shown in the UI.
const (
	PaymentSucceeded         = "succeeded"
	PaymentPartiallyRefunded = "partially_refunded"
	PaymentRefunded          = "refunded"
	PaymentDisputed          = "disputed"
	PaymentFailed            = "failed"
	PaymentPending           = "pending"
	// PaymentMerged marks a record found to describe the same money as another payment (MergedInto of
	// the reconciliation): its entries are reversed and the other record stands for the money.
	PaymentMerged = "merged"
	// PaymentOtherSite marks a payment of a shared provider account that belongs to another site (its
	// metadata names that site, or it names none and this site is not the account's default).
	PaymentOtherSite = "other_site"
)

// Payment is the mutable record of one payment identity (a checkout session, its payment intent, its
// charge and its invoice are one payment): what the UI lists and what reports group by. The money
// itself is in the append-only ledger; this record only describes it.
type Payment struct {
	SiteID            string            `json:"site_id"`
	ID                string            `json:"id"`
	Livemode          bool              `json:"livemode"`
	Status            string            `json:"status"`
	Amount            int64             `json:"amount"`
	Refunded          int64             `json:"refunded"`
	Currency          string            `json:"currency"`
	DisputeStatus     string            `json:"dispute_status,omitempty"`
	CustomerID        string            `json:"customer_id,omitempty"`
	Email             string            `json:"email,omitempty"`
	Created           time.Time         `json:"created"`
	SubscriptionID    string            `json:"subscription_id,omitempty"`
	InvoiceID         string            `json:"invoice_id,omitempty"`
	CheckoutSessionID string            `json:"checkout_session_id,omitempty"`
	ChargeID          string            `json:"charge_id,omitempty"`
	Product           string            `json:"product,omitempty"`
	BillingReason     string            `json:"billing_reason,omitempty"`
	ClientReferenceID string            `json:"client_reference_id,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	Source            string            `json:"source"`
	MergedInto        string            `json:"merged_into,omitempty"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// StripeStateStore keeps Stripe object snapshots and payment records.
type StripeStateStore interface {
	StripeObject(ctx context.Context, siteID, id string) (*StripeObject, error)
	// StripeObjectsOfType returns every snapshot of one type of a site (the upgrade to reconciled state).
	StripeObjectsOfType(ctx context.Context, siteID, typ string) ([]*StripeObject, error)
	// StripeObjects returns the snapshots of the ids that exist, by id.
	StripeObjects(ctx context.Context, siteID string, ids []string) (map[string]*StripeObject, error)
	PutStripeObject(ctx context.Context, o *StripeObject) error
	// PutStripeObjects upserts many snapshots in one transaction (a reconciliation batch's state).
	PutStripeObjects(ctx context.Context, os []*StripeObject) error
	Payment(ctx context.Context, siteID, id string) (*Payment, error)
	PutPayment(ctx context.Context, p *Payment) error
	// PutPayments upserts many payment records in one transaction.
	PutPayments(ctx context.Context, ps []*Payment) error
	Payments(ctx context.Context, siteID string, limit int) ([]*Payment, error)
	PaymentRecords
}

// PaymentRecords reads payment records in batches (the stats engine's products, the customers pages).
type PaymentRecords interface {
	// PaymentsByID returns the records of the ids that have one, by id.
	PaymentsByID(ctx context.Context, siteID string, ids []string) (map[string]*Payment, error)
}

package tributary

import "time"

// Event sources.
const (
	SourceBrowser = "browser" // POST /api/event from the tracker
	SourceServer  = "server"  // POST /api/v1/events from a site's backend
)

// PageviewName is the event name of a pageview; every other name is a custom event.
const PageviewName = "pageview"

// Event is one enriched pageview or custom event, as stored in EventStore.events. The client IP and the
// raw user agent are never stored.
type Event struct {
	SiteID    string    `json:"site_id"`
	Timestamp time.Time `json:"timestamp"`
	Name      string    `json:"name"`
	Source    string    `json:"source"`
	VisitorID string    `json:"visitor_id"`
	SessionID string    `json:"session_id"`

	Hostname string `json:"hostname"`
	Path     string `json:"path"`

	Referrer       string `json:"referrer"`        // referrer host + path, without query
	ReferrerSource string `json:"referrer_source"` // e.g. "Google", "Hacker News", "example.org"
	Channel        string `json:"channel"`         // GA4-style default channel group

	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
	UTMTerm     string `json:"utm_term"`
	UTMContent  string `json:"utm_content"`

	ClickIDPlatform string `json:"click_id_platform"` // e.g. "google_ads" for gclid
	ClickID         string `json:"click_id"`
	// ClickIDParam is the landing-page parameter the click id came from (gclid, gbraid, wbraid…);
	// "" in events stored before it was kept.
	ClickIDParam string `json:"click_id_param,omitempty"`
	// FBP is Meta's browser id (the _fbp cookie), on pageviews of visitors who did not decline consent
	// (tracker) and only for the Meta destination.
	FBP string `json:"fbp,omitempty"`

	Country string `json:"country"` // ISO 3166-1 alpha-2
	Region  string `json:"region"`
	Browser string `json:"browser"`
	OS      string `json:"os"`
	Device  string `json:"device"` // desktop, mobile, tablet

	ScreenWidth int               `json:"screen_width"`
	Props       map[string]string `json:"props,omitempty"`
}

// Identity is a fact that links identifiers of one person at a time: a visitor to a person (identify),
// a Stripe or API customer to a person or email, or a payment to the visitor and session it is
// attributed to (PaymentID set, with the link method). Identities are append-only; the newest fact wins.
type Identity struct {
	SiteID     string    `json:"site_id"`
	At         time.Time `json:"at"`
	VisitorID  string    `json:"visitor_id,omitempty"`
	SessionID  string    `json:"session_id,omitempty"`
	PersonID   string    `json:"person_id,omitempty"` // the identify() value: a user id or a lower-cased email
	CustomerID string    `json:"customer_id,omitempty"`
	Email      string    `json:"email,omitempty"`
	PaymentID  string    `json:"payment_id,omitempty"`
	LinkMethod string    `json:"link_method,omitempty"`
	Source     string    `json:"source,omitempty"` // browser, server, stripe

	// For an unattributed payment link (no visitor): the synthetic session's source, from any
	// referrer/utm fields the payment carried, else Channel "Direct" and ReferrerSource "".
	Channel        string `json:"channel,omitempty"`
	ReferrerSource string `json:"referrer_source,omitempty"`
	UTMSource      string `json:"utm_source,omitempty"`
	UTMMedium      string `json:"utm_medium,omitempty"`
	UTMCampaign    string `json:"utm_campaign,omitempty"`
}

// Link methods: how a payment was linked to a visitor (DESIGN §3.6).
const (
	LinkMetadata          = "metadata"
	LinkClientReferenceID = "client_reference_id"
	LinkCustomer          = "customer"
	LinkEmail             = "email"
	LinkUnattributed      = "unattributed"
	// LinkBeforeTracking marks a payment made before the site's first tracked event (an imported
	// history): counted in revenue, MRR and LTV, in its own "Before tracking" channel, never a conversion.
	LinkBeforeTracking = "before_tracking"
)

// ChannelBeforeTracking is the channel of payments made before the site's first tracked event.
const ChannelBeforeTracking = "Before tracking"

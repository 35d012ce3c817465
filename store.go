package tributary

import (
	"context"
	"time"
)

// MetaStore holds mutable, small state: users, sessions, sites, API keys and (in later issues) Stripe
// endpoints, the webhook inbox, object snapshots and settings. Implementations return coded errors:
// ENOTFOUND for a missing object, ECONFLICT for a duplicate, EUNAVAILABLE when the store cannot be reached.
type MetaStore interface {
	WebhookStore
	ServerEventStore
	StripeStateStore
	DestinationStore

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	Close() error

	// CreateOwner stores the first user. It fails with ECONFLICT when any user exists, so two concurrent
	// setup requests cannot both create an owner.
	CreateOwner(ctx context.Context, u *User) error
	HasUsers(ctx context.Context) (bool, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByID(ctx context.Context, id string) (*User, error)
	// SetPassword replaces a user's password hash and ends every login session of the user except
	// keepSession ("" ends them all); ENOTFOUND for an unknown user.
	SetPassword(ctx context.Context, userID, hash, keepSession string) error

	CreateSession(ctx context.Context, s *Session) error
	SessionByID(ctx context.Context, id string) (*Session, error)
	DeleteSession(ctx context.Context, id string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) error

	CreateSite(ctx context.Context, s *Site) error
	Site(ctx context.Context, id string) (*Site, error)
	Sites(ctx context.Context) ([]*Site, error)
	UpdateSite(ctx context.Context, s *Site) error
	// DeleteSite removes the site with its API keys, Stripe endpoints and webhook deliveries.
	DeleteSite(ctx context.Context, id string) error

	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKeys(ctx context.Context, siteID string) ([]*APIKey, error)
	// APIKeyByHash returns the key whose hash matches, revoked or not.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	RevokeAPIKey(ctx context.Context, siteID, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// PutExchangeRates stores rates, replacing those of the same date and currency; it returns how many
	// were written.
	PutExchangeRates(ctx context.Context, rates []ExchangeRate) (int, error)
	// ExchangeRates returns every stored rate.
	ExchangeRates(ctx context.Context) ([]ExchangeRate, error)

	// Setting returns a server-wide setting, ENOTFOUND when unset.
	Setting(ctx context.Context, key string) (string, error)
	// SetSettingIfAbsent stores value under key unless a value exists, and returns the stored value,
	// so concurrent first starts agree on one value.
	SetSettingIfAbsent(ctx context.Context, key, value string) (string, error)
	// PutSetting stores value under key, replacing any value; an empty value removes the key. Per-site
	// settings use keys named by SiteSettingKey.
	PutSetting(ctx context.Context, key, value string) error
}

// SiteSettingKey is the settings key of a site's own setting name (e.g. "referrer_exclude").
func SiteSettingKey(siteID, name string) string { return "site:" + siteID + ":" + name }

// EventStore holds the append-only facts: events, ledger entries and identities, and answers the
// aggregate queries over them.
type EventStore interface {
	VisitReader

	Ping(ctx context.Context) error
	Close() error

	// InsertEvents appends events in one batch.
	InsertEvents(ctx context.Context, events []Event) error
	// InsertIdentities appends identity facts.
	InsertIdentities(ctx context.Context, ids []Identity) error
	// InsertLedger appends entries whose id is new for their site and skips the others; it returns how
	// many were new. Ids are unique per site: one provider account may feed several sites.
	InsertLedger(ctx context.Context, entries []LedgerEntry) (int, error)
	// LedgerForPayment returns the entries of one payment.
	LedgerForPayment(ctx context.Context, siteID, paymentID string) ([]LedgerEntry, error)
	// LedgerForPayments returns the entries of several payments (a reconciliation batch's).
	LedgerForPayments(ctx context.Context, siteID string, paymentIDs []string) ([]LedgerEntry, error)
	// InsertMRRMovements appends movements whose id is new and skips the others.
	InsertMRRMovements(ctx context.Context, ms []MRRMovement) (int, error)
	// MRRMovements returns the site's movements ordered by time then id.
	MRRMovements(ctx context.Context, siteID string) ([]MRRMovement, error)
	// MRRMovementsOf returns one subscription's movements ordered by time then id.
	MRRMovementsOf(ctx context.Context, siteID, subscriptionID string) ([]MRRMovement, error)
	// Ledger returns the site's entries ordered by occurred_at then id (for the UI, exports and tests).
	Ledger(ctx context.Context, siteID string) ([]LedgerEntry, error)
	// RecentLedger returns the site's newest entries first (occurred_at, then id, descending), at most
	// limit of them (the revenue page).
	RecentLedger(ctx context.Context, siteID string, limit int) ([]LedgerEntry, error)
	// PaymentLink returns the newest link fact of a payment, ENOTFOUND when it has none.
	PaymentLink(ctx context.Context, siteID, paymentID string) (*Identity, error)
	// PaymentLinks returns the newest link fact of each of the payments that has one, by payment id.
	PaymentLinks(ctx context.Context, siteID string, paymentIDs []string) (map[string]*Identity, error)
	// PaymentsToReview lists the payments whose newest link is unattributed, newest first, at most limit
	// of them (the revenue page's review list; unlike UnattributedPayments, whether or not they carry
	// a customer or e-mail to match later).
	PaymentsToReview(ctx context.Context, siteID string, limit int) ([]Identity, error)
	// VisitorByCustomer finds the visitor of the newest fact linking customerID to a visitor (an earlier
	// linked payment or an identify with that customer id) at or before `before`; ENOTFOUND when none.
	VisitorByCustomer(ctx context.Context, siteID, customerID string, before time.Time) (*LinkTarget, error)
	// NewestVisitorFacts returns, for each of the customers and e-mails that has one, the newest fact
	// VisitorByCustomer / VisitorByEmail would find with no time bound: linking a batch of payments asks
	// once instead of once per payment.
	NewestVisitorFacts(ctx context.Context, siteID string, customers, emails []string) (byCustomer, byEmail map[string]*LinkTarget, err error)
	// UnattributedPaymentsOf is UnattributedPayments restricted to the payments of the given customers.
	UnattributedPaymentsOf(ctx context.Context, siteID string, customers []string, limit int) ([]Identity, error)
	// VisitorByEmail finds the visitor of the newest identify of email (lower case); ENOTFOUND when none.
	VisitorByEmail(ctx context.Context, siteID, email string, before time.Time) (*LinkTarget, error)
	// UnattributedPayments lists payment ids whose newest link is unattributed but that carry a customer
	// id or e-mail, so they can be linked again when the visitor's identify arrives later.
	UnattributedPayments(ctx context.Context, siteID string, limit int) ([]Identity, error)
	// EventNames returns per-name counts and last-seen times of the site's events.
	EventNames(ctx context.Context, siteID string) ([]CatalogEntry, error)
	// RecentVisitors counts distinct visitors with an event since `since` (the realtime card).
	RecentVisitors(ctx context.Context, siteID string, since time.Time) (int64, error)
	// CountEvents returns how many events the site has between from (inclusive) and to (exclusive).
	CountEvents(ctx context.Context, siteID string, from, to time.Time) (int64, error)
	// DeleteSiteData removes every event, ledger entry and identity of the site.
	DeleteSiteData(ctx context.Context, siteID string) error
	// PaymentTouches returns the payment touches of the payments (every payment of the site with nil):
	// the rows attribution credits money over, kept by the store as facts are written (touches/).
	PaymentTouches(ctx context.Context, siteID string, paymentIDs []string) ([]PaymentTouch, error)
	// ConvertPending reads the site's ledger entries and MRR movements stored without an exchange rate
	// (Converted false), lets convert fill their reporting fields, and stores the reporting amount,
	// currency, rate, rate date and converted flag of those it converted — the one update the ledger
	// allows: the original amount and currency are the facts and never change. It reports what changed.
	ConvertPending(ctx context.Context, siteID string, convert func([]LedgerEntry) error) (Conversion, error)
}

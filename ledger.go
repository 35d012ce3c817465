package tributary

import "time"

// Ledger entry kinds.
const (
	EntryPayment           = "payment"            // gross money in
	EntryRefund            = "refund"             // negative
	EntryDisputeWithdrawn  = "dispute_withdrawn"  // negative: funds taken by a dispute
	EntryDisputeReinstated = "dispute_reinstated" // positive: funds returned after a won dispute
	EntryPaymentFailed     = "payment_failed"     // an attempt; amount recorded, no revenue
)

// LedgerEntry is one append-only money fact. ID is deterministic, derived from the source object ids and
// the change recorded, so writing the same fact twice yields one entry.
type LedgerEntry struct {
	ID         string    `json:"id"`
	SiteID     string    `json:"site_id"`
	Livemode   bool      `json:"livemode"`
	Kind       string    `json:"kind"`
	PaymentID  string    `json:"payment_id"` // the payment identity this entry belongs to
	OccurredAt time.Time `json:"occurred_at"`

	Amount   int64  `json:"amount"`   // original amount, minor units, signed
	Currency string `json:"currency"` // original currency, upper case

	// Amount in the site's reporting currency. Converted is false when no rate was available; then
	// ReportingAmount is 0 and reports show the entry apart.
	ReportingAmount   int64  `json:"reporting_amount"`
	ReportingCurrency string `json:"reporting_currency"`
	Rate              string `json:"rate,omitempty"`      // decimal string, original → reporting
	RateDate          string `json:"rate_date,omitempty"` // YYYY-MM-DD
	Converted         bool   `json:"converted"`

	CustomerID     string `json:"customer_id,omitempty"`
	Email          string `json:"email,omitempty"`
	SubscriptionID string `json:"subscription_id,omitempty"`
	Product        string `json:"product,omitempty"`
	Source         string `json:"source"`           // stripe or api
	Detail         string `json:"detail,omitempty"` // e.g. dispute status "lost", billing reason
}

// MRR movement kinds.
const (
	MRRNew          = "new"
	MRRExpansion    = "expansion"
	MRRContraction  = "contraction"
	MRRChurn        = "churn"
	MRRReactivation = "reactivation"
)

// MRRMovement is one change of a subscription's monthly recurring revenue. ID is deterministic, so a
// movement derived twice is stored once. Delta is signed, in minor units of Currency; the reporting
// fields follow the same rules as LedgerEntry.
type MRRMovement struct {
	ID                string    `json:"id"`
	SiteID            string    `json:"site_id"`
	Livemode          bool      `json:"livemode"`
	SubscriptionID    string    `json:"subscription_id"`
	CustomerID        string    `json:"customer_id,omitempty"`
	At                time.Time `json:"at"`
	Kind              string    `json:"kind"`
	Delta             int64     `json:"delta"`
	Currency          string    `json:"currency"`
	ReportingDelta    int64     `json:"reporting_delta"`
	ReportingCurrency string    `json:"reporting_currency"`
	Converted         bool      `json:"converted"`
	Source            string    `json:"source"` // stripe or api
}

// ExchangeRate is one ECB-style reference rate: how many units of Currency one euro buys on Date.
type ExchangeRate struct {
	Date     string `json:"date"` // YYYY-MM-DD
	Currency string `json:"currency"`
	PerEUR   string `json:"per_eur"` // exact decimal as published
}

// LinkTarget is the visitor and session a payment is attributed to, found from an earlier fact.
type LinkTarget struct {
	VisitorID string
	SessionID string
	At        time.Time
}

package tributary

import "time"

// VisitColumns are the columns of a visit's dimension values, as the visits table names them, in
// VisitValues order.
var VisitColumns = [...]string{"channel", "referrer_source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"click_id_platform", "country", "region", "device", "browser", "os", "entry_page", "exit_page"}

// VisitValues are a visit's dimension values, indexed as VisitColumns.
type VisitValues [len(VisitColumns)]string

// Visit is one visit (a session of the tracker: events sharing a session id) as attribution reads it.
type Visit struct {
	SessionID string
	VisitorID string
	Start     time.Time
	Values    VisitValues
}

// PaymentTouch is a row of the payment touches, attribution's table kept at write time: for each
// payment linked to a visitor, one member row per visitor of the paying person (SessionID "", Start the
// payment time) and one row per visit of those visitors in the longest lookback before the payment; for
// a payment linked without a visitor (unattributed), one row of its own (VisitorID and SessionID "")
// holding the visit values its link carried (the synthetic visit: the link's channel, else Direct, its
// referrer source and campaign). Each model's credit is computed over the rows inside the query's
// lookback.
type PaymentTouch struct {
	PaymentID string
	// Person is the paying person's key: the smallest visitor id of the person's group.
	Person string
	Visit
	TouchOrder
}

// TouchOrder places a visit row among its payment's visits, ordered by start then session id (the order
// the attribution models read them in), so that a single-touch model's pick for any lookback is a
// condition on one row: with from = Paid − lookback, the first touch is the row with Start ≥ from and
// Prev < from; the last touch the Last row with Start ≥ from; the last non-direct touch the LastNonDirect
// row with Start ≥ from, else the Last row with Start ≥ from when LastNonDirectStart < from. Member and
// unattributed rows carry Paid only.
type TouchOrder struct {
	Paid time.Time // the payment time the rows were chosen by (its first payment entry, else its link's)
	// Prev is the start of the payment's visit before this one (the zero time, stored as 1970, for the first).
	Prev time.Time
	// LastNonDirectStart is the start of the payment's last non-direct visit (the zero time when none).
	LastNonDirectStart time.Time
	Last               bool // the payment's last visit
	LastNonDirect      bool // the payment's last visit that is not direct
}

// UnattributedValues are the visit values a payment linked without a visitor is counted in: the
// channel, referrer source and campaign its link carried (Direct without a channel). A payment with no
// link at all counts as Direct (nil).
func UnattributedValues(l *Identity) VisitValues {
	var v VisitValues
	v[0] = "Direct"
	if l != nil {
		if l.Channel != "" {
			v[0] = l.Channel
		}
		v[1], v[3], v[4], v[5] = l.ReferrerSource, l.UTMSource, l.UTMMedium, l.UTMCampaign
	}
	return v
}

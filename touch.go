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
// payment time) and one row per visit of those visitors in the longest lookback before the payment.
// Each model's credit is computed over the rows inside the query's lookback.
type PaymentTouch struct {
	PaymentID string
	// Person is the paying person's key: the smallest visitor id of the person's group.
	Person string
	Visit
}

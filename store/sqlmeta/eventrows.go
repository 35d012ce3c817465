package sqlmeta

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// The event stores that speak SQL through database/sql (DuckDB and ClickHouse) keep the ledger, MRR
// movements and identity facts in tables of the same columns; these are the column lists and the row
// scanners they share.

// LedgerCols are the columns ScanLedgerEntry reads, in order.
const LedgerCols = `id, site_id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_amount, reporting_currency,
	rate, rate_date, converted, customer_id, email, subscription_id, product, source, detail`

// ScanLedgerEntry reads one row of LedgerCols.
func ScanLedgerEntry(row Scanner) (e tributary.LedgerEntry, err error) {
	err = row.Scan(&e.ID, &e.SiteID, &e.Livemode, &e.Kind, &e.PaymentID, &e.OccurredAt, &e.Amount, &e.Currency,
		&e.ReportingAmount, &e.ReportingCurrency, &e.Rate, &e.RateDate, &e.Converted, &e.CustomerID, &e.Email,
		&e.SubscriptionID, &e.Product, &e.Source, &e.Detail)
	return e, err
}

// MovementCols are the columns ScanMovement reads, in order.
const MovementCols = `id, site_id, livemode, subscription_id, customer_id, ts, kind, delta, currency, reporting_delta, reporting_currency,
	converted, source`

// ScanMovement reads one row of MovementCols.
func ScanMovement(row Scanner) (m tributary.MRRMovement, err error) {
	err = row.Scan(&m.ID, &m.SiteID, &m.Livemode, &m.SubscriptionID, &m.CustomerID, &m.At, &m.Kind, &m.Delta, &m.Currency,
		&m.ReportingDelta, &m.ReportingCurrency, &m.Converted, &m.Source)
	return m, err
}

// IdentityCols are the columns ScanIdentity reads, in order.
const IdentityCols = `site_id, ts, visitor_id, session_id, person_id, customer_id, email, payment_id, link_method, source,
	channel, referrer_source, utm_source, utm_medium, utm_campaign`

// ScanIdentity reads one row of IdentityCols.
func ScanIdentity(row Scanner) (i tributary.Identity, err error) {
	err = row.Scan(&i.SiteID, &i.At, &i.VisitorID, &i.SessionID, &i.PersonID, &i.CustomerID, &i.Email, &i.PaymentID, &i.LinkMethod,
		&i.Source, &i.Channel, &i.ReferrerSource, &i.UTMSource, &i.UTMMedium, &i.UTMCampaign)
	return i, err
}

// TouchCols are the payment touches' columns ScanTouch reads and TouchValues gives, in
// tributary.PaymentTouch order.
var TouchCols = "payment_id, person, visitor_id, session_id, start_ts, " + strings.Join(tributary.VisitColumns[:], ", ") +
	", paid_ts, prev_ts, last_nd_ts, is_last, is_last_nd"

// ScanTouch reads one payment touch of TouchCols.
func ScanTouch(row Scanner) (t tributary.PaymentTouch, err error) {
	dest := []any{&t.PaymentID, &t.Person, &t.VisitorID, &t.SessionID, &t.Start}
	for i := range t.Values {
		dest = append(dest, &t.Values[i])
	}
	var last, lastND uint8Bool
	dest = append(dest, &t.Paid, &t.Prev, &t.LastNonDirectStart, &last, &lastND)
	err = row.Scan(dest...)
	t.Start, t.Paid, t.Prev, t.LastNonDirectStart = t.Start.UTC(), t.Paid.UTC(), fromEpoch(t.Prev), fromEpoch(t.LastNonDirectStart)
	t.Last, t.LastNonDirect = bool(last), bool(lastND)
	return t, err
}

// TouchValues are t's values of TouchCols (without the site).
func TouchValues(t *tributary.PaymentTouch) []any {
	r := make([]any, 0, 5+len(t.Values)+5)
	r = append(r, t.PaymentID, t.Person, t.VisitorID, t.SessionID, t.Start.UTC())
	for _, v := range t.Values {
		r = append(r, v)
	}
	return append(r, t.Paid.UTC(), toEpoch(t.Prev), toEpoch(t.LastNonDirectStart), t.Last, t.LastNonDirect)
}

// The zero time is stored as 1970-01-01 (ClickHouse's DateTime starts there), which sorts before every
// visit, as the conditions over prev_ts and last_nd_ts need.
var epoch = time.Unix(0, 0).UTC()

func toEpoch(t time.Time) time.Time {
	if t.IsZero() {
		return epoch
	}
	return t.UTC()
}

func fromEpoch(t time.Time) time.Time {
	if t.Equal(epoch) {
		return time.Time{}
	}
	return t.UTC()
}

// uint8Bool scans a boolean column that ClickHouse stores as UInt8 and DuckDB as BOOLEAN.
type uint8Bool bool

func (b *uint8Bool) Scan(v any) error {
	switch x := v.(type) {
	case bool:
		*b = uint8Bool(x)
	case uint8:
		*b = x != 0
	case int64:
		*b = x != 0
	default:
		return fmt.Errorf("sqlmeta: boolean column of type %T", v)
	}
	return nil
}

// ScanVisit reads one visit: session, visitor, start and the visit columns.
func ScanVisit(row Scanner) (v tributary.Visit, err error) {
	dest := []any{&v.SessionID, &v.VisitorID, &v.Start}
	for i := range v.Values {
		dest = append(dest, &v.Values[i])
	}
	err = row.Scan(dest...)
	v.Start = v.Start.UTC()
	return v, err
}

// SitesOf lists the distinct sites of items (the sites a batch writes to).
func SitesOf[T any](items []T, site func(*T) string) []string {
	var out []string
	for i := range items {
		if id := site(&items[i]); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

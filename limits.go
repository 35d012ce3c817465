package tributary

import "time"

// MaxAmountMinor is the largest amount one payment, refund or subscription price may carry, in the
// currency's minor unit (10^12: Stripe's own ceiling is 8 digits for most currencies and 12 for a few,
// such as IDR). Bounding every entry keeps sums far from int64's limit: converted into any reporting
// currency (rates up to 10^5 between minor units) an entry stays below 10^17, so tens of such entries
// and millions of ordinary ones add up without overflow. Entry points (the server-to-server API,
// webhooks, imports) refuse larger amounts with EINVALID.
const MaxAmountMinor int64 = 1_000_000_000_000

// EarliestEventTime is the oldest time an event, payment or webhook may carry: Stripe started in 2010
// and Tributary keeps no earlier history. Times before it (year 1, 1900, a zero Unix time) are refused
// with EINVALID instead of being counted.
var EarliestEventTime = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckAmount validates a payment-side amount in minor units: not negative (refunds are their own
// kind) and at most MaxAmountMinor. field names the input in the error.
func CheckAmount(field string, amount int64) error {
	if amount < 0 {
		return FieldError(field, "%s must not be negative (send a refund as its own event with a positive amount)", field)
	}
	if amount > MaxAmountMinor {
		return FieldError(field, "%s is larger than %d minor units, the most one payment may carry", field, MaxAmountMinor)
	}
	return nil
}

// CheckEventTime validates the time of an event against the accepted window: not before
// EarliestEventTime and not later than now + future. field names the input in the error.
func CheckEventTime(field string, t, now time.Time, future time.Duration) error {
	if t.Before(EarliestEventTime) {
		return FieldError(field, "%s %s is before %s, the earliest time Tributary accepts", field, t.UTC().Format(time.RFC3339), EarliestEventTime.Format("2006-01-02"))
	}
	if t.After(now.Add(future)) {
		return FieldError(field, "%s %s is more than %s in the future", field, t.UTC().Format(time.RFC3339), future)
	}
	return nil
}

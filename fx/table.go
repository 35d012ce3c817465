package fx

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// MaxFallbackDays is how far back Convert looks for a rate when the day has none. The ECB publishes on
// TARGET working days only; seven days covers weekends and the longest holiday run (Easter) without
// letting a stale rate pass for a current one.
const MaxFallbackDays = 7

// RateDigits is how many significant digits Conversion.Rate keeps when the exact rate does not end
// (most cross rates, e.g. USD→EUR = 1/1.0543). The ECB publishes five or six, so twelve never hide
// anything; the amount itself is always computed from the exact rational, not from this string.
const RateDigits = 12

// Conversion is an amount converted for a ledger entry, with what is needed to audit it.
type Conversion struct {
	Amount   int64  // minor units of the target currency
	Rate     string // units of the target currency per unit of the source currency, as a decimal
	RateDate string // YYYY-MM-DD of the ECB rates used
}

// Table holds ECB rates in memory. It is immutable once built and safe for concurrent use.
type Table struct {
	days   map[int64]map[string]*big.Rat // civil day number → currency → units per EUR
	latest int64
}

var one = big.NewRat(1, 1)

// NewTable indexes rates for Convert. A later rate for the same date and currency replaces an earlier one,
// so a fresh daily file can be appended to the history. A malformed date, code or rate, or a EUR rate
// other than 1, is an EINVALID error.
func NewTable(rates []Rate) (*Table, error) {
	t := &Table{days: make(map[int64]map[string]*big.Rat), latest: math.MinInt64}
	for i, r := range rates {
		d, err := time.Parse(isoDate, r.Date)
		if err != nil {
			return nil, fmt.Errorf("fx: new table: %w", tributary.Errorf(tributary.EINVALID, "rate %d: date %q is not YYYY-MM-DD", i, clip(r.Date)))
		}
		if !isCode(r.Currency) {
			return nil, fmt.Errorf("fx: new table: %w", tributary.Errorf(tributary.EINVALID, "rate %d: %q is not a three-letter currency code", i, clip(r.Currency)))
		}
		v, ok := new(big.Rat).SetString(r.PerEUR)
		if !isDecimal(r.PerEUR) || !ok {
			return nil, fmt.Errorf("fx: new table: %w", tributary.Errorf(tributary.EINVALID, "rate %d: %s rate %q is not a positive decimal", i, r.Currency, clip(r.PerEUR)))
		}
		if r.Currency == "EUR" {
			if v.Cmp(one) != 0 {
				return nil, fmt.Errorf("fx: new table: %w", tributary.Errorf(tributary.EINVALID, "rate %d: EUR per EUR is 1, not %s", i, r.PerEUR))
			}
			continue
		}
		n := dayNumber(d)
		m := t.days[n]
		if m == nil {
			m = make(map[string]*big.Rat)
			t.days[n] = m
		}
		m[r.Currency] = v
		t.latest = max(t.latest, n)
	}
	return t, nil
}

// Latest returns the newest date the table has a rate for, "" when it is empty.
func (t *Table) Latest() string {
	if len(t.days) == 0 {
		return ""
	}
	return time.Unix(t.latest*86400, 0).UTC().Format(isoDate)
}

// Convert converts amount, in minor units of from, into minor units of to with the rates of day's
// calendar date (in day's own location: pass the payment time in the site's time zone or UTC), or of the
// nearest earlier date within MaxFallbackDays on which the ECB published both currencies; both legs of a
// cross rate always come from that one date. The cross rate to/from is computed exactly from the two
// euro rates as a big.Rat, and so is amount·rate scaled between the two currencies' minor units
// (tributary.CurrencyDecimals); only the final minor unit is rounded, half to even, so that rounding
// errors do not drift one way over many ledger entries.
//
// The same currency on both sides converts to itself at rate "1" dated day, always. Otherwise ok is false
// when a currency is unknown to the table, no date in range has both rates, or the result overflows
// int64: the caller records the entry as unconverted, never as 0 or 1:1.
func (t *Table) Convert(amount int64, from, to string, day time.Time) (Conversion, bool) {
	from = strings.ToUpper(strings.TrimSpace(from))
	to = strings.ToUpper(strings.TrimSpace(to))
	y, mo, d := day.Date()
	n := dayNumber(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC))
	if from == to {
		return Conversion{Amount: amount, Rate: "1", RateDate: fmt.Sprintf("%04d-%02d-%02d", y, mo, d)}, true
	}
	for back := range int64(MaxFallbackDays + 1) {
		m := t.days[n-back]
		if m == nil {
			continue
		}
		fr, ok1 := perEUR(m, from)
		tr, ok2 := perEUR(m, to)
		if !ok1 || !ok2 {
			continue
		}
		return convert(amount, from, to, fr, tr, n-back)
	}
	return Conversion{}, false
}

func perEUR(m map[string]*big.Rat, c string) (*big.Rat, bool) {
	if c == "EUR" {
		return one, true
	}
	r, ok := m[c]
	return r, ok
}

// convert computes amount · (tr/fr) · 10^dTo / 10^dFrom and rounds it half to even.
func convert(amount int64, from, to string, fr, tr *big.Rat, n int64) (Conversion, bool) {
	rate := new(big.Rat).Quo(tr, fr)
	num := new(big.Int).Mul(big.NewInt(amount), rate.Num())
	den := new(big.Int).Set(rate.Denom())
	dFrom, dTo := tributary.CurrencyDecimals(from), tributary.CurrencyDecimals(to)
	if dTo > dFrom {
		num.Mul(num, pow10(dTo-dFrom))
	} else if dFrom > dTo {
		den.Mul(den, pow10(dFrom-dTo))
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int)) // truncated toward zero; r has num's sign
	r.Abs(r).Lsh(r, 1)
	if c := r.Cmp(den); c > 0 || (c == 0 && q.Bit(0) == 1) {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return Conversion{}, false
	}
	return Conversion{
		Amount:   q.Int64(),
		Rate:     formatRate(rate),
		RateDate: time.Unix(n*86400, 0).UTC().Format(isoDate),
	}, true
}

var pow10s = func() [4]*big.Int {
	var p [4]*big.Int
	for i := range p {
		p[i] = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(i)), nil)
	}
	return p
}()

func pow10(k int) *big.Int {
	if k < len(pow10s) {
		return pow10s[k]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
}

// formatRate writes a positive rate exactly when its decimal expansion ends within 30 digits (every
// EUR→X rate does), else rounded half to even to RateDigits significant digits; trailing zeros are
// dropped.
func formatRate(r *big.Rat) string {
	if k, ok := terminatingDigits(r.Denom()); ok && k <= 30 {
		return trimZeros(r.FloatString(k)) // exact: r·10^k is an integer
	}
	// e = floor(log10 r), found by float and made exact by comparison.
	f, _ := r.Float64()
	e := int(math.Floor(math.Log10(f)))
	for ; tenPow(e).Cmp(r) > 0; e-- {
	}
	for ; tenPow(e+1).Cmp(r) <= 0; e++ {
	}
	decimals := max(0, RateDigits-1-e)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(decimals)))
	q, rem := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int))
	rem.Lsh(rem, 1)
	if c := rem.Cmp(scaled.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
		q.Add(q, big.NewInt(1))
	}
	s := q.String()
	if decimals == 0 {
		return s
	}
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	return trimZeros(s[:len(s)-decimals] + "." + s[len(s)-decimals:])
}

// terminatingDigits reports whether 1/d has a finite decimal expansion and how many digits it takes.
func terminatingDigits(d *big.Int) (int, bool) {
	x := new(big.Int).Set(d)
	twos := int(x.TrailingZeroBits())
	x.Rsh(x, uint(twos))
	fives := 0
	five, q, r := big.NewInt(5), new(big.Int), new(big.Int)
	for x.Sign() > 0 {
		q.QuoRem(x, five, r)
		if r.Sign() != 0 {
			break
		}
		x.Set(q)
		fives++
	}
	return max(twos, fives), x.IsInt64() && x.Int64() == 1
}

func tenPow(e int) *big.Rat {
	if e >= 0 {
		return new(big.Rat).SetInt(pow10(e))
	}
	return new(big.Rat).SetFrac(big.NewInt(1), pow10(-e))
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// dayNumber counts civil days since 1970-01-01 for a UTC midnight.
func dayNumber(t time.Time) int64 {
	return t.Unix() / 86400
}

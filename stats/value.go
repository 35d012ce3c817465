package stats

import (
	"math"
	"math/big"
	"strconv"

	"github.com/tributary/tributary"
)

// Value is one metric's value in a result, typed until it is written out: a count or whole seconds as an
// integer, a percentage or ratio as a float at the answer's two decimals, money as an exact fraction of
// minor units with its currency (a money ratio is rounded half-even to the minor unit only when read or
// written). String and MarshalJSON write the query API's text (a bare JSON number); the accessors give
// the same number typed, so nothing parses our own text back.
type Value struct {
	unit Unit
	i    int64    // Count, Seconds
	f    float64  // Percent, Ratio: already rounded to two decimals
	rat  *big.Rat // Money: minor units, exact; nil is zero; never modified once set
	cur  string   // Money: the currency
}

// NewValue is metric's value v in the unit people read: money in the currency's major unit (rounded
// half-even to its minor unit), percentages as 12.5 for 12.5 %, durations in seconds. An unknown metric
// is a count. It is for numbers a caller makes itself (a chart's ticks); results carry their Values.
func NewValue(metric string, v float64, currency string) Value {
	u := metricDefs[metric].Unit
	if u != Money {
		return numberValue(u, v)
	}
	r := new(big.Rat)
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		r.SetFloat64(v)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(tributary.CurrencyDecimals(currency))), nil)))
	return moneyValue(r, currency)
}

// numberValue is a metric of unit u (not money) from its computed value v, rounded as the answer is:
// counts truncated, seconds to the nearest whole, percentages and ratios to two decimals.
func numberValue(u Unit, v float64) Value {
	switch u {
	case Percent, Ratio:
		return Value{unit: u, f: float64(int64(v*100+0.5)) / 100}
	case Seconds:
		return Value{unit: u, i: int64(v + 0.5)}
	}
	return Value{unit: Count, i: int64(v)}
}

// countValue is a count.
func countValue(n int64) Value { return Value{unit: Count, i: n} }

// moneyValue is an amount of minor units of currency, exact; r is kept, not copied.
func moneyValue(r *big.Rat, currency string) Value { return Value{unit: Money, rat: r, cur: currency} }

// Unit is how the value is written.
func (v Value) Unit() Unit { return v.unit }

// Currency is a money value's currency ("" for other units).
func (v Value) Currency() string { return v.cur }

// Rat is a money value's exact amount in minor units, before rounding (a copy); for other units, Float64
// exactly.
func (v Value) Rat() *big.Rat {
	switch {
	case v.unit != Money:
		return new(big.Rat).SetFloat64(v.Float64())
	case v.rat == nil:
		return new(big.Rat)
	}
	return new(big.Rat).Set(v.rat)
}

// Minor is a money value in minor units, rounded half-even as it is written; other units give Int64.
func (v Value) Minor() int64 {
	if v.unit != Money {
		return v.Int64()
	}
	if v.rat == nil {
		return 0
	}
	return tributary.RoundHalfEven(v.rat)
}

// Float64 is the value as written: money in major units (exactly the nearest float to its text).
func (v Value) Float64() float64 {
	switch v.unit {
	case Money:
		return float64(v.Minor()) / math.Pow10(tributary.CurrencyDecimals(v.cur))
	case Percent, Ratio:
		return v.f
	}
	return float64(v.i)
}

// Int64 is a count or duration; percentages, ratios and money (in major units) truncated toward zero.
func (v Value) Int64() int64 {
	switch v.unit {
	case Count, Seconds:
		return v.i
	}
	return int64(v.Float64())
}

// IsZero reports whether the value is written as zero (a money ratio under half a minor unit is).
func (v Value) IsZero() bool {
	switch v.unit {
	case Money:
		return v.Minor() == 0
	case Percent, Ratio:
		return v.f == 0
	}
	return v.i == 0
}

// String is the query API's text of the value: money in major units with the currency's decimals
// ("49.99", JPY "5000", BHD "1.250"), percentages and ratios with up to two decimals ("66.67", "1.2",
// "80"), counts and seconds as integers.
func (v Value) String() string {
	switch v.unit {
	case Money:
		return tributary.FormatMinor(v.Minor(), v.cur)
	case Percent, Ratio:
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	}
	return strconv.FormatInt(v.i, 10)
}

// MarshalJSON writes the value as a bare JSON number, the text of String.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(v.String()), nil }

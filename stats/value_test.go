package stats

import (
	"encoding/json"
	"math"
	"math/big"
	"testing"
)

// TestValueFormats: each unit writes the query API's text and reads back the same number typed.
func TestValueFormats(t *testing.T) {
	money := func(num, den int64, cur string) Value { return moneyValue(big.NewRat(num, den), cur) }
	tests := []struct {
		name  string
		v     Value
		text  string
		f     float64
		i     int64
		minor int64
		zero  bool
	}{
		{"count", countValue(3), "3", 3, 3, 3, false},
		{"count truncates its float", numberValue(Count, 3.9), "3", 3, 3, 3, false},
		{"zero count", numberValue(Count, 0), "0", 0, 0, 0, true},
		{"seconds round to the nearest", numberValue(Seconds, 35.5), "36", 36, 36, 36, false},
		{"seconds round down", numberValue(Seconds, 35.4), "35", 35, 35, 35, false},
		{"percent two decimals", numberValue(Percent, 200.0/3), "66.67", 66.67, 66, 66, false},
		{"percent whole", numberValue(Percent, 80), "80", 80, 80, 80, false},
		{"percent half up", numberValue(Percent, 0.005), "0.01", 0.01, 0, 0, false},
		{"percent under half a hundredth", numberValue(Percent, 0.004), "0", 0, 0, 0, true},
		{"ratio", numberValue(Ratio, 6.0/5), "1.2", 1.2, 1, 1, false},
		{"ratio of thirds", numberValue(Ratio, 4.0/3), "1.33", 1.33, 1, 1, false},
		{"money", money(4999, 1, "USD"), "49.99", 49.99, 49, 4999, false},
		{"negative money", money(-1050, 1, "EUR"), "-10.50", -10.5, -10, -1050, false},
		{"negative under one major unit", money(-5, 1, "EUR"), "-0.05", -0.05, 0, -5, false},
		{"zero-decimal currency", money(5000, 1, "JPY"), "5000", 5000, 5000, 5000, false},
		{"three-decimal currency", money(1250, 1, "KWD"), "1.250", 1.25, 1, 1250, false},
		{"three-decimal minor unit", money(1, 1, "BHD"), "0.001", 0.001, 0, 1, false},
		{"zero money keeps its decimals", money(0, 1, "USD"), "0.00", 0, 0, 0, true},
		{"absent money", Value{unit: Money, cur: "USD"}, "0.00", 0, 0, 0, true},
		{"money ratio rounds half-even to the minor unit", money(17000, 3, "USD"), "56.67", 56.67, 56, 5667, false},
		{"a half rounds to even, down", money(5, 2, "USD"), "0.02", 0.02, 0, 2, false},
		{"a half rounds to even, up", money(7, 2, "USD"), "0.04", 0.04, 0, 4, false},
		{"a negative half rounds to even", money(-5, 2, "USD"), "-0.02", -0.02, 0, -2, false},
		{"under half a minor unit is zero", money(1, 3, "USD"), "0.00", 0, 0, 0, true},
		{"a half of a yen rounds to even", money(1, 2, "JPY"), "0", 0, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			if got := v.String(); got != tc.text {
				t.Errorf("String() = %q, want %q", got, tc.text)
			}
			if b, err := json.Marshal(v); err != nil || string(b) != tc.text {
				t.Errorf("json = %s (%v), want %s", b, err, tc.text)
			}
			// Float64 is exactly the number the text says, as parsing it did.
			var n json.Number = json.Number(tc.text)
			if want, _ := n.Float64(); v.Float64() != want || want != tc.f {
				t.Errorf("Float64() = %v, want %v (parsed %v)", v.Float64(), tc.f, want)
			}
			if got := v.Int64(); got != tc.i {
				t.Errorf("Int64() = %d, want %d", got, tc.i)
			}
			if got := v.Minor(); got != tc.minor {
				t.Errorf("Minor() = %d, want %d", got, tc.minor)
			}
			if got := v.IsZero(); got != tc.zero {
				t.Errorf("IsZero() = %v, want %v", got, tc.zero)
			}
		})
	}
}

// TestValueRatIsExactAndACopy: a money value keeps its fraction unrounded, and no reader can change it.
func TestValueRatIsExactAndACopy(t *testing.T) {
	v := moneyValue(big.NewRat(17000, 3), "USD")
	r := v.Rat()
	if r.Cmp(big.NewRat(17000, 3)) != 0 || v.Unit() != Money || v.Currency() != "USD" {
		t.Fatalf("Rat() = %v, unit %v, currency %q", r, v.Unit(), v.Currency())
	}
	r.SetInt64(1)
	if v.String() != "56.67" {
		t.Fatalf("changing Rat()'s answer changed the value: %s", v)
	}
	if got := numberValue(Percent, 12.5).Rat(); got.Cmp(big.NewRat(25, 2)) != 0 {
		t.Fatalf("a percentage's Rat() = %v", got)
	}
}

// TestNewValue: values a caller makes from a float (a chart's ticks) are rounded and written as results are.
func TestNewValue(t *testing.T) {
	tests := []struct {
		metric, currency string
		v                float64
		want             string
		unit             Unit
	}{
		{"revenue", "EUR", 12.3, "12.30", Money},
		{"revenue", "EUR", 12.34, "12.34", Money},
		{"revenue", "EUR", 0.125, "0.12", Money}, // 0.125 is exact in binary: a tie, to even
		{"mrr", "EUR", -2.5, "-2.50", Money},
		{"revenue", "JPY", 2.5, "2", Money},
		{"revenue", "JPY", 5000, "5000", Money},
		{"arpu", "KWD", 1.25, "1.250", Money},
		{"revenue", "USD", math.NaN(), "0.00", Money},
		{"conversion_rate", "", 12.5, "12.5", Percent},
		{"bounce_rate", "", 100.0 / 3, "33.33", Percent},
		{"views_per_visit", "", 1.999, "2", Ratio},
		{"visit_duration", "", 59.5, "60", Seconds},
		{"visitors", "", 40, "40", Count},
		{"dropoff", "", 7, "7", Count}, // not in the catalog: a count
	}
	for _, tc := range tests {
		v := NewValue(tc.metric, tc.v, tc.currency)
		if v.String() != tc.want || v.Unit() != tc.unit {
			t.Errorf("NewValue(%q, %v, %q) = %s (unit %v), want %s (unit %v)", tc.metric, tc.v, tc.currency, v, v.Unit(), tc.want, tc.unit)
		}
	}
}

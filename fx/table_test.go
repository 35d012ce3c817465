package fx

import (
	"bytes"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

func historyTable(t testing.TB, extra ...Rate) *Table {
	t.Helper()
	rates, err := ParseECB(bytes.NewReader(readFile(t, "eurofxref-hist.csv")))
	if err != nil {
		t.Fatal(err)
	}
	// The ECB does not quote BHD; this is its USD peg (0.376) applied to the day's USD rate.
	tab, err := NewTable(append(rates, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d.Add(15 * time.Hour)
}

// Expected amounts and rates were computed outside Go with Python's fractions and decimal modules.
func TestConvert(t *testing.T) {
	tab := historyTable(t, Rate{"2019-04-10", "BHD", "0.42409"})
	tests := []struct {
		name     string
		amount   int64
		from, to string
		day      string
		want     Conversion
	}{
		{"USD→EUR", 10000, "USD", "EUR", "2019-04-10", Conversion{8866, "0.886603422289", "2019-04-10"}},
		{"EUR→USD exact rate", 123456789, "EUR", "USD", "2019-04-10", Conversion{139246912, "1.1279", "2019-04-10"}},
		{"EUR→JPY", 10000, "EUR", "JPY", "2019-04-10", Conversion{12538, "125.38", "2019-04-10"}},
		{"JPY→USD", 5000, "JPY", "USD", "2019-04-10", Conversion{4498, "0.00899585260807", "2019-04-10"}},
		{"JPY→USD earlier day", 5000, "JPY", "USD", "2019-04-09", Conversion{4492, "0.00898494143893", "2019-04-09"}},
		{"BHD→USD", 1000, "BHD", "USD", "2019-04-10", Conversion{266, "2.65957697659", "2019-04-10"}},
		{"USD→BHD", 4999, "USD", "BHD", "2019-04-10", Conversion{18796, "0.375999645359", "2019-04-10"}},
		{"JPY→BHD", 1, "JPY", "BHD", "2019-04-10", Conversion{3, "0.00338243739033", "2019-04-10"}},
		{"refund GBP→JPY", -1234, "GBP", "JPY", "2019-04-10", Conversion{-1797, "145.650128364", "2019-04-10"}},
		{"lower case codes", 10000, " eur", "jpy ", "2019-04-10", Conversion{12538, "125.38", "2019-04-10"}},
		{"zero", 0, "USD", "JPY", "2019-04-10", Conversion{0, "111.162337087", "2019-04-10"}},
		{"Saturday → Wednesday", 10000, "EUR", "JPY", "2019-04-13", Conversion{12538, "125.38", "2019-04-10"}},
		{"7 days later", 10000, "EUR", "JPY", "2019-04-17", Conversion{12538, "125.38", "2019-04-10"}},
		{"BHD only on the 10th: both legs from that date", 1000, "BHD", "USD", "2019-04-12", Conversion{266, "2.65957697659", "2019-04-10"}},
		{"same currency, no rate needed", 4999, "XYZ", "xyz", "1999-01-01", Conversion{4999, "1", "1999-01-01"}},
		{"same currency", -5, "JPY", "JPY", "2019-04-10", Conversion{-5, "1", "2019-04-10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tab.Convert(tc.amount, tc.from, tc.to, day(tc.day))
			if !ok || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
}

func TestConvertNoRate(t *testing.T) {
	tab := historyTable(t, Rate{"2019-04-10", "BHD", "0.42409"})
	tests := []struct {
		name     string
		from, to string
		day      string
	}{
		{"8 days after the last rate", "EUR", "JPY", "2019-04-18"},
		{"before the first rate", "EUR", "USD", "2019-04-07"},
		{"unknown currency", "USD", "XYZ", "2019-04-10"},
		{"retired currency, N/A", "CYP", "EUR", "2019-04-10"},
		{"BHD missing on the 9th", "BHD", "USD", "2019-04-09"},
		{"empty code", "", "USD", "2019-04-10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := tab.Convert(10000, tc.from, tc.to, day(tc.day)); ok || got != (Conversion{}) {
				t.Errorf("got %+v, %v; want no conversion", got, ok)
			}
		})
	}
	if _, ok := tab.Convert(1<<62, "EUR", "IDR", day("2019-04-10")); ok {
		t.Error("an overflowing result converted")
	}
}

// The date is the calendar date of the time as given, in its own location.
func TestConvertDayInLocation(t *testing.T) {
	tab := historyTable(t)
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2019, 4, 9, 23, 30, 0, 0, time.UTC) // already the 10th in Tokyo
	for _, tc := range []struct {
		when time.Time
		want string
	}{{at, "2019-04-09"}, {at.In(tokyo), "2019-04-10"}} {
		got, ok := tab.Convert(100, "EUR", "USD", tc.when)
		if !ok || got.RateDate != tc.want {
			t.Errorf("%v: got %+v, want rate date %s", tc.when, got, tc.want)
		}
	}
}

func TestConvertHalfEven(t *testing.T) {
	tab, err := NewTable([]Rate{
		{"2026-11-20", "USD", "1.5"},   // 1 EUR cent = 1.5 US cents
		{"2026-11-20", "JPY", "300"},   // 1 JPY = 0.5 US cents
		{"2026-11-20", "KWD", "0.375"}, // 1 EUR cent = 3.75 fils
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		amount   int64
		from, to string
		want     int64
	}{
		{1, "EUR", "USD", 2},   // 1.5 → 2
		{3, "EUR", "USD", 4},   // 4.5 → 4
		{5, "EUR", "USD", 8},   // 7.5 → 8
		{-1, "EUR", "USD", -2}, // −1.5 → −2
		{-3, "EUR", "USD", -4}, // −4.5 → −4
		{1, "JPY", "USD", 0},   // 0.5 → 0
		{3, "JPY", "USD", 2},   // 1.5 → 2
		{5, "JPY", "USD", 2},   // 2.5 → 2
		{7, "JPY", "USD", 4},   // 3.5 → 4
		{-5, "JPY", "USD", -2}, // −2.5 → −2
		{2, "EUR", "KWD", 8},   // 7.5 → 8
		{6, "EUR", "KWD", 22},  // 22.5 → 22
		{1, "EUR", "KWD", 4},   // 3.75 → 4: not a tie
		{1, "USD", "JPY", 2},   // 2 yen per cent exactly
	}
	for _, tc := range tests {
		got, ok := tab.Convert(tc.amount, tc.from, tc.to, day("2026-11-22"))
		if !ok || got.Amount != tc.want {
			t.Errorf("%d %s→%s: got %+v, %v; want %d", tc.amount, tc.from, tc.to, got, ok, tc.want)
		}
	}
}

func TestFormatRate(t *testing.T) {
	tab, err := NewTable([]Rate{
		{"2026-11-20", "USD", "3"},
		{"2026-11-20", "JPY", "0.0000003"},
		{"2026-11-20", "IDR", "17000000000000"},
		{"2026-11-20", "CHF", "0.9999999999996"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"USD", "EUR", "0.333333333333"},
		{"EUR", "JPY", "0.0000003"},            // exact, not cut to 12 digits
		{"USD", "JPY", "0.0000001"},            // 3e-7/3 is exact
		{"JPY", "USD", "10000000"},             // exact integer
		{"EUR", "IDR", "17000000000000"},       // beyond 12 digits but exact
		{"USD", "IDR", "5666666666667"},        // past 12 integer digits: rounded to an integer
		{"EUR", "CHF", "0.9999999999996"},      // exact 13 digits
		{"CHF", "EUR", "1"},                    // 1.0000000000004… rounds to 1.00000000000
		{"JPY", "IDR", "56666666666666666667"}, // integer digits are never cut
	} {
		got, ok := tab.Convert(0, tc.from, tc.to, day("2026-11-20"))
		if !ok || got.Rate != tc.want {
			t.Errorf("%s→%s: got %q, want %q", tc.from, tc.to, got.Rate, tc.want)
		}
	}
}

func TestNewTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Rate
	}{
		{"bad date", Rate{"20 November 2026", "USD", "1.05"}},
		{"bad code", Rate{"2026-11-20", "usd", "1.05"}},
		{"bad rate", Rate{"2026-11-20", "USD", "1/2"}},
		{"zero rate", Rate{"2026-11-20", "USD", "0"}},
		{"EUR not 1", Rate{"2026-11-20", "EUR", "1.01"}},
	} {
		if _, err := NewTable([]Rate{tc.r}); tributary.ErrorCode(err) != tributary.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", tc.name, err)
		}
	}
	tab, err := NewTable([]Rate{{"2026-11-20", "EUR", "1.000"}, {"2026-11-20", "USD", "1.05"}, {"2026-11-21", "USD", "1.06"}, {"2026-11-20", "USD", "1.07"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tab.Convert(100, "EUR", "USD", day("2026-11-20")); got.Rate != "1.07" {
		t.Errorf("a later rate did not replace the earlier one: %+v", got)
	}
	if got := tab.Latest(); got != "2026-11-21" {
		t.Errorf("Latest() = %q", got)
	}
	if got := (&Table{}).Latest(); got != "" {
		t.Errorf("empty Latest() = %q", got)
	}
}

func BenchmarkConvert(b *testing.B) {
	tab := historyTable(b)
	for _, bc := range []struct{ name, from, to, day string }{
		{"EUR→USD", "EUR", "USD", "2019-04-10"},
		{"JPY→USD", "JPY", "USD", "2019-04-10"},
		{"JPY→USD weekend", "JPY", "USD", "2019-04-13"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			when := day(bc.day)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := tab.Convert(5000, bc.from, bc.to, when); !ok {
					b.Fatal("no rate")
				}
			}
		})
	}
}

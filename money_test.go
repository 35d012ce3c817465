package tributary

import (
	"math/big"
	"testing"
)

func TestCurrencyDecimals(t *testing.T) {
	for cur, want := range map[string]int{"USD": 2, "eur": 2, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "BHD": 3, "KWD": 3, "TND": 3, "jod": 3, "OMR": 3} {
		if got := CurrencyDecimals(cur); got != want {
			t.Errorf("%s: %d decimals, want %d", cur, got, want)
		}
	}
	if _, ok := NormalizeCurrency("XYZ"); ok {
		t.Error("XYZ accepted as a currency")
	}
	if c, ok := NormalizeCurrency(" usd "); !ok || c != "USD" {
		t.Errorf("usd → %q %v", c, ok)
	}
}

func TestFormatAndParseMoney(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		major string
	}{
		{4999, "USD", "49.99"}, {5, "USD", "0.05"}, {-1234, "EUR", "-12.34"}, {0, "USD", "0.00"},
		{5000, "JPY", "5000"}, {-1, "KRW", "-1"}, {1250, "BHD", "1.250"}, {1, "KWD", "0.001"},
		{9223372036854775807, "USD", "92233720368547758.07"},
	}
	for _, tc := range tests {
		if got := FormatMinor(tc.minor, tc.cur); got != tc.major {
			t.Errorf("FormatMinor(%d, %s) = %s, want %s", tc.minor, tc.cur, got, tc.major)
		}
		back, err := ParseMajor(tc.major, tc.cur)
		if err != nil || back != tc.minor {
			t.Errorf("ParseMajor(%s, %s) = %d, %v", tc.major, tc.cur, back, err)
		}
	}
	for _, bad := range []struct{ s, cur string }{{"49.999", "USD"}, {"1.5", "JPY"}, {"abc", "USD"}, {"", "USD"}, {"1e3", "USD"}, {"99999999999999999999", "USD"}} {
		if _, err := ParseMajor(bad.s, bad.cur); ErrorCode(err) != EINVALID {
			t.Errorf("ParseMajor(%q, %s) = %v, want a coded invalid error (never a rounding)", bad.s, bad.cur, err)
		}
	}
	if v, err := ParseMajor("49.990", "USD"); err != nil || v != 4999 {
		t.Errorf("trailing zeros: %d %v", v, err)
	}
}

func TestRoundHalfEven(t *testing.T) {
	tests := []struct {
		num, den int64
		want     int64
	}{{5, 2, 2}, {7, 2, 4}, {-5, 2, -2}, {-7, 2, -4}, {10, 3, 3}, {20, 3, 7}, {-20, 3, -7}, {1, 1, 1}, {0, 5, 0}}
	for _, tc := range tests {
		if got := RoundHalfEven(big.NewRat(tc.num, tc.den)); got != tc.want {
			t.Errorf("%d/%d → %d, want %d", tc.num, tc.den, got, tc.want)
		}
	}
}

func TestSiteNormalize(t *testing.T) {
	s := &Site{Domain: "https://www.Example.COM/pricing?x=1", Currency: "eur", Timezone: "Europe/Berlin"}
	if err := s.Normalize(); err != nil || s.Domain != "example.com" || s.Name != "example.com" || s.Currency != "EUR" {
		t.Fatalf("%+v %v", s, err)
	}
	d := &Site{Domain: "shop.example"}
	if err := d.Normalize(); err != nil || d.Currency != "USD" || d.Timezone != "UTC" {
		t.Fatalf("defaults: %+v %v", d, err)
	}
	for _, bad := range []Site{{Domain: ""}, {Domain: "exa mple.com"}, {Domain: "a.com", Currency: "DOLLARS"}, {Domain: "a.com", Timezone: "Mars/Base"}, {Domain: "a.com", Timezone: "Local"}} {
		b := bad
		if err := b.Normalize(); ErrorCode(err) != EINVALID || ErrorField(err) == "" {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorCode(errPlain{}) != EINTERNAL || ErrorMessage(errPlain{}) != "internal error" {
		t.Fatal("uncoded errors must be internal and never leak their text")
	}
	e := FieldError("currency", "bad %s", "XYZ")
	if ErrorCode(e) != EINVALID || ErrorField(e) != "currency" || ErrorMessage(e) != "bad XYZ" {
		t.Fatalf("%v", e)
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "secret detail" }

package numfmt_test

import (
	"strings"
	"testing"

	"github.com/tributary/tributary"
	. "github.com/tributary/tributary/numfmt"
)

// The expectations are what browsers' Intl.NumberFormat (CLDR) prints, with U+00A0 and U+202F spelled
// as "_" and "^" so the table stays readable.
func TestMoney(t *testing.T) {
	tests := []struct {
		locale   string
		minor    int64
		currency string
		want     string
	}{
		{"en-US", 123456, "USD", "$1,234.56"},
		{"en-US", -500, "USD", "-$5.00"},
		{"en-US", 0, "USD", "$0.00"},
		{"en-US", 1234, "JPY", "¥1,234"},
		{"en-US", 1234567, "BHD", "BHD_1,234.567"},
		{"en-US", 123456, "EUR", "€1,234.56"},
		{"en-GB", 123456, "GBP", "£1,234.56"},
		{"en-IN", 123456789, "INR", "₹12,34,567.89"},
		{"en-CA", 123456, "CAD", "$1,234.56"},
		{"en-CA", 123456, "USD", "US$1,234.56"},
		{"de-DE", 123456, "EUR", "1.234,56_€"},
		{"de-DE", -123456, "EUR", "-1.234,56_€"},
		{"de-DE", 123456789, "USD", "1.234.567,89_$"},
		{"de-CH", 123456, "CHF", "CHF_1’234.56"},
		{"fr-FR", 123456, "EUR", "1^234,56_€"},
		{"nl-NL", 123456, "EUR", "€_1.234,56"},
		{"ja-JP", 123456, "JPY", "￥123,456"},
		{"sv-SE", 123456, "SEK", "1_234,56_kr"},
		{"sv-SE", 123456, "NOK", "1_234,56_NOK"},
		{"pt-BR", 123456, "BRL", "R$_1.234,56"},
		{"en-US", 999, "XYZ", "XYZ_9.99"},
	}
	for _, tc := range tests {
		got := Get(tc.locale).Money(tributary.FormatMinor(tc.minor, tc.currency), tc.currency)
		got = strings.NewReplacer("\u00a0", "_", "\u202f", "^").Replace(got)
		if got != tc.want {
			t.Errorf("%s %d %s = %q, want %q", tc.locale, tc.minor, tc.currency, got, tc.want)
		}
	}
}

func TestNumbersAndPercent(t *testing.T) {
	tests := []struct {
		locale string
		got    func(Locale) string
		want   string
	}{
		{"en-US", func(l Locale) string { return l.Int(1234567) }, "1,234,567"},
		{"en-US", func(l Locale) string { return l.Int(999) }, "999"},
		{"en-US", func(l Locale) string { return l.Int(-1000) }, "-1,000"},
		{"de-DE", func(l Locale) string { return l.Int(1234567) }, "1.234.567"},
		{"fr-FR", func(l Locale) string { return l.Int(1234567) }, "1^234^567"},
		{"en-IN", func(l Locale) string { return l.Int(1234567) }, "12,34,567"},
		{"en-US", func(l Locale) string { return l.Percent(12.5, 1) }, "12.5%"},
		{"de-DE", func(l Locale) string { return l.Percent(12.5, 1) }, "12,5_%"},
		{"de-DE", func(l Locale) string { return l.Float(1234.5, 2) }, "1.234,50"},
	}
	for _, tc := range tests {
		got := strings.NewReplacer("\u00a0", "_", "\u202f", "^").Replace(tc.got(Get(tc.locale)))
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.locale, got, tc.want)
		}
	}
}

func TestCanonicalAndFallback(t *testing.T) {
	for in, want := range map[string]string{"de_de": "de-DE", "DE-de": "de-DE", "de": "de-DE", "en-gb": "en-GB", " fr-FR ": "fr-FR"} {
		if got, ok := Canonical(in); !ok || got != want {
			t.Errorf("Canonical(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "xx", "en-ZZ", "klingon"} {
		if got, ok := Canonical(bad); ok {
			t.Errorf("Canonical(%q) = %q, want unsupported", bad, got)
		}
	}
	if Get("en-NZ").Tag != "en-US" || Get("de-LU").Tag != "de-DE" || Get("").Tag != DefaultLocale {
		t.Error("fallback to the language's locale, then en-US, broken")
	}
	for _, tag := range Supported() {
		if got, ok := Canonical(tag); !ok || got != tag || Get(tag).Tag != tag {
			t.Errorf("supported locale %q does not resolve to itself", tag)
		}
	}
}

func FuzzMoneyKeepsDigits(f *testing.F) {
	f.Add(int64(123456), "EUR", "de-DE")
	f.Add(int64(-1), "BHD", "en-IN")
	digits := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	f.Fuzz(func(t *testing.T, minor int64, cur, loc string) {
		got := Get(loc).Money(tributary.FormatMinor(minor, strings.ToUpper(cur)), cur)
		// Grouping and symbols never drop or add a digit of the exact amount.
		if want := digits(tributary.FormatMinor(minor, strings.ToUpper(cur))); digits(got) != want+digits(Symbol(cur, Get(loc).Tag)) && digits(got) != digits(Symbol(cur, Get(loc).Tag))+want {
			t.Fatalf("%d %s %s: %q has digits %q, want %q", minor, cur, loc, got, digits(got), want)
		}
	})
}

// Package numfmt formats counts, percentages and money for people, in a site's locale: digit grouping,
// decimal mark and where the currency symbol goes. Money arrives as the exact decimal text of integer
// minor units, never through a float, so what the dashboard shows is what the ledger holds.
//
// The locale table covers the languages of the markets Tributary's users sell in; its conventions follow
// CLDR (the data behind browsers' Intl.NumberFormat). An unknown locale falls back to its language, then
// to en-US.
package numfmt

import (
	"sort"
	"strconv"
	"strings"
)

// Locale holds one locale's number conventions.
type Locale struct {
	// Tag is the BCP 47 tag, e.g. "de-DE".
	Tag string
	// Group separates thousands; Decimal is the decimal mark.
	Group, Decimal string
	// Indian groups by two digits above the thousands (12,34,567).
	Indian bool
	// SymbolAfter puts the currency symbol after the number; Space puts a (no-break) space between them.
	SymbolAfter, Space bool
	// PercentSpace puts a no-break space before the percent sign.
	PercentSpace bool
}

const (
	nbsp       = "\u00a0"
	narrowNbsp = "\u202f"
)

var locales = map[string]Locale{
	"en-US": {Tag: "en-US", Group: ",", Decimal: "."},
	"en-GB": {Tag: "en-GB", Group: ",", Decimal: "."},
	"en-CA": {Tag: "en-CA", Group: ",", Decimal: "."},
	"en-AU": {Tag: "en-AU", Group: ",", Decimal: "."},
	"en-IN": {Tag: "en-IN", Group: ",", Decimal: ".", Indian: true},
	"en-IE": {Tag: "en-IE", Group: ",", Decimal: "."},
	"de-DE": {Tag: "de-DE", Group: ".", Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"de-AT": {Tag: "de-AT", Group: nbsp, Decimal: ",", Space: true, PercentSpace: true},
	"de-CH": {Tag: "de-CH", Group: "’", Decimal: ".", Space: true},
	"fr-FR": {Tag: "fr-FR", Group: narrowNbsp, Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"fr-CA": {Tag: "fr-CA", Group: nbsp, Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"es-ES": {Tag: "es-ES", Group: ".", Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"es-MX": {Tag: "es-MX", Group: ",", Decimal: "."},
	"it-IT": {Tag: "it-IT", Group: ".", Decimal: ",", SymbolAfter: true, Space: true},
	"nl-NL": {Tag: "nl-NL", Group: ".", Decimal: ",", Space: true},
	"pt-BR": {Tag: "pt-BR", Group: ".", Decimal: ",", Space: true},
	"pt-PT": {Tag: "pt-PT", Group: nbsp, Decimal: ",", SymbolAfter: true, Space: true},
	"sv-SE": {Tag: "sv-SE", Group: nbsp, Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"da-DK": {Tag: "da-DK", Group: ".", Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"nb-NO": {Tag: "nb-NO", Group: nbsp, Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"fi-FI": {Tag: "fi-FI", Group: nbsp, Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"pl-PL": {Tag: "pl-PL", Group: nbsp, Decimal: ",", SymbolAfter: true, Space: true},
	"cs-CZ": {Tag: "cs-CZ", Group: nbsp, Decimal: ",", SymbolAfter: true, Space: true, PercentSpace: true},
	"ja-JP": {Tag: "ja-JP", Group: ",", Decimal: "."},
	"zh-CN": {Tag: "zh-CN", Group: ",", Decimal: "."},
	"ko-KR": {Tag: "ko-KR", Group: ",", Decimal: "."},
	"tr-TR": {Tag: "tr-TR", Group: ".", Decimal: ","},
}

// languageDefault maps a bare language to the locale used for it.
var languageDefault = map[string]string{
	"en": "en-US", "de": "de-DE", "fr": "fr-FR", "es": "es-ES", "it": "it-IT", "nl": "nl-NL", "pt": "pt-BR",
	"sv": "sv-SE", "da": "da-DK", "nb": "nb-NO", "no": "nb-NO", "fi": "fi-FI", "pl": "pl-PL", "cs": "cs-CZ",
	"ja": "ja-JP", "zh": "zh-CN", "ko": "ko-KR", "tr": "tr-TR",
}

// DefaultLocale is used when a site has none.
const DefaultLocale = "en-US"

// Supported lists the locale tags, sorted, for settings forms and validation messages.
func Supported() []string {
	out := make([]string, 0, len(locales))
	for t := range locales {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Canonical returns the supported tag for tag ("de_de" → "de-DE", "de" → "de-DE") and whether it is
// supported.
func Canonical(tag string) (string, bool) {
	tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	lang, region, _ := strings.Cut(tag, "-")
	lang = strings.ToLower(lang)
	if region != "" {
		t := lang + "-" + strings.ToUpper(region)
		if _, ok := locales[t]; ok {
			return t, true
		}
		return "", false
	}
	if t, ok := languageDefault[lang]; ok {
		return t, true
	}
	return "", false
}

// Get returns the locale for tag, falling back to the language's default and then to en-US.
func Get(tag string) Locale {
	if t, ok := Canonical(tag); ok {
		return locales[t]
	}
	lang, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	if t, ok := languageDefault[strings.ToLower(lang)]; ok {
		return locales[t]
	}
	return locales[DefaultLocale]
}

// groupDigits inserts the group separator into a run of digits.
func (l Locale) groupDigits(digits string) string {
	n := len(digits)
	if n <= 3 {
		return digits
	}
	var cuts []int // positions before which a separator goes
	if l.Indian {
		for p := n - 3; p > 0; p -= 2 {
			cuts = append(cuts, p)
		}
	} else {
		for p := n - 3; p > 0; p -= 3 {
			cuts = append(cuts, p)
		}
	}
	var b strings.Builder
	next := len(cuts) - 1
	for i := 0; i < n; i++ {
		if next >= 0 && i == cuts[next] {
			b.WriteString(l.Group)
			next--
		}
		b.WriteByte(digits[i])
	}
	return b.String()
}

// Number formats an exact decimal text ("-1234.5") with the locale's marks.
func (l Locale) Number(text string) string {
	neg := strings.HasPrefix(text, "-")
	text = strings.TrimPrefix(text, "-")
	intPart, frac, hasFrac := strings.Cut(text, ".")
	out := l.groupDigits(intPart)
	if hasFrac {
		out += l.Decimal + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// Int formats a count.
func (l Locale) Int(n int64) string { return l.Number(strconv.FormatInt(n, 10)) }

// Float formats a ratio or duration with prec decimals.
func (l Locale) Float(f float64, prec int) string {
	return l.Number(strconv.FormatFloat(f, 'f', prec, 64))
}

// Percent formats a percentage already multiplied by 100 (12.5 → "12.5%").
func (l Locale) Percent(pct float64, prec int) string {
	return l.PercentText(strconv.FormatFloat(pct, 'f', prec, 64))
}

// PercentText formats a percentage given as decimal text ("12.5" → "12.5%" or "12,5 %").
func (l Locale) PercentText(text string) string {
	if l.PercentSpace {
		return l.Number(text) + nbsp + "%"
	}
	return l.Number(text) + "%"
}

// Money formats an exact decimal amount of currency in major units (tributary.FormatMinor's text, such
// as "-1234.50"), with the currency's symbol placed per the locale. Taking text rather than a number
// keeps every digit of the ledger's amount.
func (l Locale) Money(amount, currency string) string {
	currency = strings.ToUpper(currency)
	num := l.Number(amount)
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	sym := Symbol(currency, l.Tag)
	sp := ""
	if l.Space || len(sym) == 3 && sym == currency {
		sp = nbsp
	}
	var out string
	if l.SymbolAfter {
		out = num + sp + sym
	} else {
		out = sym + sp + num
	}
	if neg {
		return "-" + out
	}
	return out
}

// symbols are the currency signs people expect; a currency not listed shows its ISO code. Dollars other
// than the locale's own keep a prefix (US$, CA$…) so a USD amount shown to a Canadian is not mistaken.
var symbols = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "INR": "₹", "KRW": "₩", "BRL": "R$",
	"CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "MXN": "MX$", "CHF": "CHF", "SEK": "kr", "NOK": "kr", "DKK": "kr.",
	"PLN": "zł", "CZK": "Kč", "TRY": "₺", "ILS": "₪", "HKD": "HK$", "SGD": "SGD", "ZAR": "ZAR", "BHD": "BHD",
}

// localCurrency is the currency whose plain "$" or "kr" a locale means.
var localCurrency = map[string]string{
	"en-US": "USD", "en-CA": "CAD", "fr-CA": "CAD", "en-AU": "AUD", "es-MX": "MXN", "sv-SE": "SEK", "nb-NO": "NOK", "da-DK": "DKK",
}

// Symbol returns the sign of currency as shown in locale tag.
func Symbol(currency, tag string) string {
	currency = strings.ToUpper(currency)
	if localCurrency[tag] == currency {
		switch currency {
		case "CAD", "AUD", "MXN":
			return "$"
		}
	}
	switch currency {
	case "USD":
		if tag != "en-US" && tag != "es-MX" && localCurrency[tag] != "" {
			return "US$"
		}
	case "SEK", "NOK", "DKK":
		if localCurrency[tag] != currency {
			return currency
		}
	case "JPY":
		if tag == "ja-JP" {
			return "￥"
		}
	}
	if s, ok := symbols[currency]; ok {
		return s
	}
	return currency
}

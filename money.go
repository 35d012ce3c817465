package tributary

import (
	"math/big"
	"strconv"
	"strings"
)

// Money is an amount in a currency's minor unit (cents for USD, yen for JPY, fils for BHD) with its
// upper-case ISO 4217 code. Money is never a float.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// zeroDecimal and threeDecimal follow Stripe's currency table
// (https://docs.stripe.com/currencies#zero-decimal, #three-decimal). Every other valid ISO 4217 code has
// two decimals.
var zeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true, "KRW": true, "MGA": true,
	"PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

var threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}

// iso4217 lists the active ISO 4217 currency codes that can be used as a site's reporting currency or
// appear on a payment.
var iso4217 = func() map[string]bool {
	codes := strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
	BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
	GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
	KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO
	NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
	SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD
	XCG XOF XPF YER ZAR ZMW ZWG ZWL`)
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}()

// NormalizeCurrency upper-cases code and reports whether it is a known ISO 4217 currency.
func NormalizeCurrency(code string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	return c, iso4217[c]
}

// CurrencyDecimals returns how many decimals the currency's minor unit has (0, 2 or 3), per Stripe.
func CurrencyDecimals(code string) int {
	c := strings.ToUpper(code)
	switch {
	case zeroDecimal[c]:
		return 0
	case threeDecimal[c]:
		return 3
	default:
		return 2
	}
}

// FormatMinor renders a minor-unit amount as an exact decimal string in major units ("49.99", "5000",
// "1.250"), without floating point.
func FormatMinor(amount int64, currency string) string {
	d := CurrencyDecimals(currency)
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = uint64(-amount)
	}
	s := strconv.FormatUint(u, 10)
	if d > 0 {
		for len(s) <= d {
			s = "0" + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseMajor parses a decimal string in major units ("49.99", "5000", "-1.5") into the currency's minor
// unit exactly. More decimals than the currency has is an error, never a rounding.
func ParseMajor(s, currency string) (int64, error) {
	d := CurrencyDecimals(currency)
	s = strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, Errorf(EINVALID, "amount %q is not a number", s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > d {
		return 0, Errorf(EINVALID, "amount %q has more decimals than %s allows (%d)", s, strings.ToUpper(currency), d)
	}
	for len(frac) < d {
		frac += "0"
	}
	digits := intPart + frac
	if digits == "" {
		digits = "0"
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, Errorf(EINVALID, "amount %q is not a number", s)
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, Errorf(EINVALID, "amount %q is out of range", s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// RoundHalfEven rounds an exact rational to the nearest integer, ties to even (banker's rounding): the
// one rounding rule for money that had to be divided (conversions, monthly normalisation, averages).
func RoundHalfEven(r *big.Rat) int64 {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
	if c := twice.Cmp(r.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
		if r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

package referrer

import (
	"strings"
	"sync/atomic"
)

// PaymentProviders are the hosts of checkout and payment pages. A visitor who comes back from paying
// (checkout.stripe.com, paypal.com…) did not find the site there: such a referrer is never a source, it
// counts as none, like internal navigation, so it cannot start a Referral visit that would take credit
// for the purchase. Each entry also covers its subdomains.
var PaymentProviders = []string{
	"stripe.com", "stripe.network", "paypal.com", "paypal.me", "lemonsqueezy.com", "paddle.com", "paddle.net", "polar.sh",
	"gumroad.com", "fastspring.com", "onfastspring.com", "2checkout.com", "2co.com", "chargebee.com", "recurly.com",
	"braintreegateway.com", "braintreepayments.com", "adyen.com", "mollie.com", "klarna.com", "afterpay.com",
	"clearpay.co.uk", "razorpay.com", "squareup.com", "square.link", "checkout.shopify.com", "pay.shopify.com",
	"pay.google.com", "payu.com", "mercadopago.com", "checkout.com", "sumup.com", "wise.com", "payoneer.com",
	"revolut.me", "venmo.com", "cash.app", "link.com",
}

var excluded atomic.Pointer[[]string]

func init() { SetExcluded(PaymentProviders) }

// SetExcluded replaces the hosts that are never a source (PaymentProviders by default; the server's
// --referrer-exclude flag). Entries are host names, lower-cased; "www." and a trailing dot are ignored;
// each covers its subdomains. Input.Excluded, when set, takes precedence for one classification.
func SetExcluded(hosts []string) {
	list := NormalizeHosts(hosts)
	excluded.Store(&list)
}

// Excluded returns the hosts currently never taken as a source.
func Excluded() []string { return append([]string(nil), *excluded.Load()...) }

// NormalizeHosts cleans a list of hosts for an exclusion list: lower case, no scheme, path, "www." or
// trailing dot, no blanks or duplicates.
func NormalizeHosts(hosts []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if i := strings.Index(h, "://"); i >= 0 {
			h = h[i+3:]
		}
		if i := strings.IndexAny(h, "/?#:"); i >= 0 {
			h = h[:i]
		}
		h = strings.TrimPrefix(strings.TrimSuffix(h, "."), "www.")
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// isExcluded reports whether a referrer host is on the exclusion list in force.
func isExcluded(host string, in Input) bool {
	list := in.Excluded
	if list == nil {
		list = *excluded.Load()
	}
	for _, d := range list {
		if within(host, d) {
			return true
		}
	}
	return false
}

// Exclusions reads the --referrer-exclude setting: a comma-separated list of hosts added to
// PaymentProviders ("partner-pay.example" or "+partner-pay.example"); "-stripe.com" removes a built-in
// entry. An empty setting is PaymentProviders.
func Exclusions(spec string) []string {
	list := NormalizeHosts(PaymentProviders)
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case strings.HasPrefix(item, "-"):
			drop := NormalizeHosts([]string{item[1:]})
			kept := list[:0]
			for _, h := range list {
				if len(drop) == 0 || h != drop[0] {
					kept = append(kept, h)
				}
			}
			list = kept
		default:
			list = NormalizeHosts(append(list, strings.TrimPrefix(item, "+")))
		}
	}
	return list
}

package referrer

import (
	"slices"
	"testing"
)

// TestPaymentProvidersAreNeverASource: a visitor back from a checkout or payment page is not referred
// by it; tags and click ids still speak; a site's own list replaces the default for one call.
func TestPaymentProvidersAreNeverASource(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want Result
	}{
		{"stripe checkout", Input{Referrer: "https://checkout.stripe.com/c/pay/cs_live_a1#fid", SiteDomain: "shop.example"}, Result{Channel: Direct}},
		{"stripe billing portal", Input{Referrer: "https://billing.stripe.com/p/session/x", SiteDomain: "shop.example"}, Result{Channel: Direct}},
		{"paypal", Input{Referrer: "https://www.paypal.com/checkoutnow?token=EC-1", SiteDomain: "shop.example"}, Result{Channel: Direct}},
		{"lemon squeezy store", Input{Referrer: "https://myshop.lemonsqueezy.com/checkout/buy/abc", SiteDomain: "shop.example"}, Result{Channel: Direct}},
		{"paddle", Input{Referrer: "https://buy.paddle.com/checkout", SiteDomain: "shop.example"}, Result{Channel: Direct}},
		{"polar", Input{Referrer: "https://polar.sh/checkout/x", SiteDomain: "shop.example"}, Result{Channel: Direct}},
		{"gumroad", Input{Referrer: "https://app.gumroad.com/checkout", SiteDomain: "shop.example"}, Result{Channel: Direct}},
		{"not a lookalike", Input{Referrer: "https://notpaypal.com/x", SiteDomain: "shop.example"},
			Result{Referrer: "notpaypal.com/x", Source: "notpaypal.com", Channel: Referral}},
		{"tags still speak", Input{Referrer: "https://checkout.stripe.com/c/pay/x", SiteDomain: "shop.example", UTMSource: "newsletter", UTMMedium: "email"},
			Result{Source: "newsletter", Channel: Email}},
		{"site list replaces the default", Input{Referrer: "https://checkout.stripe.com/c/pay/x", SiteDomain: "shop.example", Excluded: []string{"partner.example"}},
			Result{Referrer: "checkout.stripe.com/c/pay/x", Source: "checkout.stripe.com", Channel: Referral}},
		{"site list excludes its hosts", Input{Referrer: "https://pay.partner.example/x", SiteDomain: "shop.example", Excluded: []string{"partner.example"}},
			Result{Channel: Direct}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.in); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestExclusionsSetting: --referrer-exclude adds hosts to the payment providers and removes built-in
// ones with "-"; SetExcluded changes what Classify uses.
func TestExclusionsSetting(t *testing.T) {
	def := Exclusions("")
	if !slices.Contains(def, "stripe.com") || !slices.Contains(def, "paypal.com") || !slices.Contains(def, "polar.sh") {
		t.Fatalf("default exclusions %v", def)
	}
	got := Exclusions(" https://www.Partner-Pay.example/checkout , -stripe.com, +paypal.com ,")
	if slices.Contains(got, "stripe.com") || !slices.Contains(got, "partner-pay.example") || len(got) != len(def) {
		t.Fatalf("edited exclusions %v", got)
	}
	defer SetExcluded(PaymentProviders)
	SetExcluded(got)
	if r := Classify(Input{Referrer: "https://checkout.stripe.com/x", SiteDomain: "shop.example"}); r.Channel != Referral {
		t.Errorf("stripe removed from the list: %+v", r)
	}
	if r := Classify(Input{Referrer: "https://partner-pay.example/x", SiteDomain: "shop.example"}); r.Channel != Direct {
		t.Errorf("partner-pay.example added to the list: %+v", r)
	}
	if !slices.Equal(Excluded(), got) {
		t.Errorf("Excluded() = %v", Excluded())
	}
}

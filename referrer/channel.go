package referrer

import "strings"

// signals are the facts the channel rules read, already lower case.
type signals struct {
	cat       category // category of the source that speaks for the visit
	medium    string   // utm_medium
	campaign  string   // utm_campaign
	tag       string   // utm_source, else ref/via/source
	paid      bool     // the medium or a paid click id says the click was bought
	hasSource bool     // an external referrer, a tag source or a click id exists
}

// channel applies GA4's default channel group rules in GA4's order (see the package doc).
func (s signals) channel() string {
	m := s.medium
	shopCampaign := isShoppingCampaign(s.campaign)
	switch {
	case !s.hasSource && m == "" && s.campaign == "":
		return Direct
	case strings.Contains(s.campaign, "cross-network"):
		return CrossNetwork
	case (s.cat == catShopping || shopCampaign) && s.paid:
		return PaidShopping
	case s.cat == catSearch && s.paid:
		return PaidSearch
	case s.cat == catSocial && s.paid:
		return PaidSocial
	case s.cat == catVideo && s.paid:
		return PaidVideo
	case m == "display" || m == "banner" || m == "expandable" || m == "interstitial" || m == "cpm":
		return Display
	case s.paid:
		return PaidOther
	case s.cat == catShopping || shopCampaign:
		return OrganicShopping
	case s.cat == catSocial || isSocialMedium(m):
		return OrganicSocial
	case s.cat == catVideo || strings.Contains(m, "video"):
		return OrganicVideo
	case s.cat == catAI:
		return AIAssistants
	case s.cat == catSearch || m == "organic":
		return OrganicSearch
	case s.cat == catEmail || isEmailTag(s.tag) || isEmailTag(m):
		return Email
	case m == "affiliate" || m == "affiliates":
		return Affiliates
	case m == "audio":
		return Audio
	case s.tag == "sms" || m == "sms":
		return SMS
	case strings.HasSuffix(m, "push") || strings.Contains(m, "mobile") || strings.Contains(m, "notification") || s.tag == "firebase":
		return MobilePush
	case m == "referral" || m == "app" || m == "link" || m == "" && s.hasSource:
		return Referral
	}
	return Unassigned
}

// isPaid is GA4's paid medium pattern ^(.*cp.*|ppc|retargeting|paid.*)$.
func isPaid(m string) bool {
	return strings.Contains(m, "cp") || m == "ppc" || m == "retargeting" || strings.HasPrefix(m, "paid")
}

// isShoppingCampaign is GA4's shopping campaign pattern ^(.*(([^a-df-z]|^)shop|shopping).*)$: "shop"
// at the start or after anything but a letter other than "e" (so "eshop" and "summer-shop", not
// "workshop").
func isShoppingCampaign(c string) bool {
	if strings.Contains(c, "shopping") {
		return true
	}
	for i := 0; ; {
		j := strings.Index(c[i:], "shop")
		if j < 0 {
			return false
		}
		j += i
		if j == 0 {
			return true
		}
		if b := c[j-1]; !(b >= 'a' && b <= 'd' || b >= 'f' && b <= 'z') {
			return true
		}
		i = j + 1
	}
}

func isSocialMedium(m string) bool {
	switch m {
	case "social", "social-network", "social-media", "sm", "social network", "social media", "social_network", "social_media":
		return true
	}
	return false
}

func isEmailTag(s string) bool {
	return strings.Contains(s, "email") || strings.Contains(s, "e-mail") || strings.Contains(s, "e_mail") ||
		strings.Contains(s, "e mail") || strings.Contains(s, "newsletter")
}

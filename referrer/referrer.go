// Package referrer names where a visit came from (its source) and its channel, from the referrer URL,
// the utm parameters and the ad click ids of the landing page, following GA4's default channel groups.
//
// Known sources come from Matomo's CC0 search engine, social network and AI assistant lists (embedded
// from data/ and parsed at package initialisation) and a short hand list of video sites, webmail,
// shopping sites and mobile apps.
//
// A visit with no external referrer, no tag and no click id is Direct. The other rules run in GA4's
// order, first match wins: Cross-network, Paid Shopping, Paid Search, Paid Social, Paid Video, Display,
// Paid Other, Organic Shopping, Organic Social, Organic Video, AI Assistants (not a GA4 group, placed
// as Plausible does), Organic Search, Email, Affiliates, Audio, SMS, Mobile Push Notifications,
// Referral, and Unassigned when none matches. Referral comes last because, beyond GA4's
// referral/app/link mediums, it takes any source that has no medium.
//
// Choices GA4 leaves open or that differ from it:
//   - The tag source is utm_source, else the ref / via / source parameter. When present it names the
//     source (mapped to a list name: "google" → "Google", "chatgpt.com" → "ChatGPT") and its category
//     alone picks the channel, as in GA4 where tags replace the referrer. Without it the referrer does,
//     unless utm_medium says something other than paid: an explicit medium such as "email" speaks for
//     itself.
//   - A source without a medium (?ref=producthunt, or an unknown referrer) is Referral, not GA4's
//     Unassigned; Unassigned is left for tags no rule recognises (utm_medium=foo).
//   - Email matches "email", "e-mail", "e_mail", "e mail" or "newsletter" anywhere in the tag source
//     or medium, as Plausible does, besides webmail referrers.
//   - Click ids: gclid, gbraid and wbraid are Google Ads, msclkid Microsoft Ads, fbclid Meta, ttclid
//     TikTok, twclid X, li_fat_id LinkedIn; with several, the first of ClickIDParams wins. A paid click
//     id (all but fbclid) without utm_medium means the visit was paid for: Paid Search for Google and
//     Microsoft Ads, Paid Social for the others, or the paid channel of the referrer's category (a gclid
//     from youtube.com is Paid Video). fbclid is appended by Facebook and Instagram to organic links too,
//     so alone it means Organic Social; with a paid utm_medium it means Paid Social. When neither a tag
//     nor a known referrer names the source and utm_medium is absent or paid, the click id's platform
//     names it ("Google", "Facebook"…); a gclid behind an unknown publisher's referrer is Google's ad.
//   - The site's domain, its subdomains and the page host are never a source: such a referrer is
//     internal navigation and counts as none, so the visit is Direct unless tags or click ids say
//     otherwise.
//   - Android app referrers (android-app://com.google.android.gm) name the app by its package; known
//     apps map to their site (Gmail → Email, com.google.android.googlequicksearchbox → Google).
//   - Payment providers' hosts (PaymentProviders: checkout.stripe.com, paypal.com, lemonsqueezy.com,
//     paddle.com, polar.sh…) are never a source either: a visitor back from checkout did not find the
//     site there. The list is the server's to replace (SetExcluded, --referrer-exclude).
//   - Referrers that are not http(s) or Android app URLs (about:blank, file://, free text) count as none.
package referrer

import (
	"strings"
	"unicode/utf8"
)

// Channel names: GA4's default channel groups plus AI Assistants.
const (
	Direct          = "Direct"
	OrganicSearch   = "Organic Search"
	PaidSearch      = "Paid Search"
	OrganicSocial   = "Organic Social"
	PaidSocial      = "Paid Social"
	Email           = "Email"
	Referral        = "Referral"
	Affiliates      = "Affiliates"
	Display         = "Display"
	OrganicVideo    = "Organic Video"
	PaidVideo       = "Paid Video"
	OrganicShopping = "Organic Shopping"
	PaidShopping    = "Paid Shopping"
	SMS             = "SMS"
	Audio           = "Audio"
	MobilePush      = "Mobile Push Notifications"
	CrossNetwork    = "Cross-network"
	AIAssistants    = "AI Assistants"
	PaidOther       = "Paid Other"
	Unassigned      = "Unassigned"
)

// Channels lists every channel Classify can return.
var Channels = []string{Direct, OrganicSearch, PaidSearch, OrganicSocial, PaidSocial, Email, Referral, Affiliates,
	Display, OrganicVideo, PaidVideo, OrganicShopping, PaidShopping, SMS, Audio, MobilePush, CrossNetwork,
	AIAssistants, PaidOther, Unassigned}

// ClickIDParams are the landing-page query parameters Classify reads from Input.ClickIDs, in the order
// that decides between several: paid ids before fbclid, which Meta also adds to organic links.
var ClickIDParams = []string{"gclid", "gbraid", "wbraid", "msclkid", "ttclid", "twclid", "li_fat_id", "fbclid"}

// Click id platforms (Result.ClickIDPlatform).
const (
	PlatformGoogleAds    = "google_ads"
	PlatformMicrosoftAds = "microsoft_ads"
	PlatformMeta         = "meta"
	PlatformTikTok       = "tiktok"
	PlatformX            = "x"
	PlatformLinkedIn     = "linkedin"
)

// platform is what a click id says about a visit when nothing else names its source.
type platform struct {
	id   string
	name string // the source name it implies
	cat  category
	paid bool // the id is only ever added to ad clicks
}

var clickPlatforms = map[string]platform{
	"gclid":     {PlatformGoogleAds, "Google", catSearch, true},
	"gbraid":    {PlatformGoogleAds, "Google", catSearch, true},
	"wbraid":    {PlatformGoogleAds, "Google", catSearch, true},
	"msclkid":   {PlatformMicrosoftAds, "Bing", catSearch, true},
	"ttclid":    {PlatformTikTok, "TikTok", catSocial, true},
	"twclid":    {PlatformX, "X", catSocial, true},
	"li_fat_id": {PlatformLinkedIn, "LinkedIn", catSocial, true},
	"fbclid":    {PlatformMeta, "Facebook", catSocial, false},
}

// Input is what a visit tells about where it came from.
type Input struct {
	Referrer    string            // full referrer URL; may be empty or garbage
	SiteDomain  string            // the site's domain, e.g. "example.com"
	PageHost    string            // host of the landing page
	UTMSource   string            // utm_source
	UTMMedium   string            // utm_medium
	UTMCampaign string            // utm_campaign
	ClickIDs    map[string]string // landing-page parameters named in ClickIDParams that are present
	Ref         string            // ref, via or source parameter: stands in for a missing utm_source
	// Excluded are hosts never taken as a source (with their subdomains); nil means the list in force
	// (SetExcluded, by default PaymentProviders). Entries must be normalized (NormalizeHosts).
	Excluded []string
}

// Result is the classification of a visit.
type Result struct {
	Referrer        string // host (without "www.") and path, no query or fragment; "" when none or internal
	Source          string // e.g. "Google", "Hacker News", "news.example.org", a utm_source as given
	Channel         string // one of Channels
	ClickIDPlatform string // e.g. "google_ads"; "" without a click id
	ClickID         string // the click id's value
	// ClickIDParam is the parameter that carried it ("gclid", "gbraid", "wbraid"…): Google Ads takes
	// each of its three in a field of its own.
	ClickIDParam string
}

// maxTag bounds a tag source used as Source.
const maxTag = 100

// Classify names the source and channel of a visit. It never fails: garbage counts as absent.
func Classify(in Input) Result {
	var r Result
	var click platform
	if len(in.ClickIDs) > 0 {
		for _, k := range ClickIDParams {
			if v := strings.TrimSpace(in.ClickIDs[k]); v != "" {
				click = clickPlatforms[k]
				r.ClickIDPlatform, r.ClickID, r.ClickIDParam = click.id, v, k
				break
			}
		}
	}

	var ref entry
	refKnown := false
	if in.Referrer != "" {
		if p, ok := parseReferrer(in.Referrer); ok && (p.app || !internal(p.host, in) && !isExcluded(p.host, in)) {
			name := strings.TrimPrefix(p.host, "www.")
			if p.app {
				r.Referrer = "android-app://" + p.host
				name = p.host
				if rl := lists.exact[p.host]; rl != nil {
					ref, refKnown = rl.match("")
				}
			} else {
				r.Referrer = name + p.path
				ref, refKnown = lists.lookupHost(p.host, p.path)
			}
			r.Source = name
			if refKnown {
				r.Source = ref.name
			}
		}
	}

	tag := cleanTag(in.UTMSource)
	if tag == "" {
		tag = cleanTag(in.Ref)
	}
	ltag := strings.ToLower(tag)
	var tagEntry entry
	if tag != "" {
		var known bool
		if tagEntry, known = lists.lookupSource(ltag); known {
			r.Source = tagEntry.name
		} else {
			r.Source = tag
		}
	}

	medium := normTag(in.UTMMedium)
	campaign := strings.ToLower(strings.TrimSpace(in.UTMCampaign))
	paidMedium := isPaid(medium)
	cat := catNone
	switch {
	case tag != "":
		cat = tagEntry.cat
	case refKnown && (medium == "" || paidMedium):
		cat = ref.cat
	}
	if click.id != "" && (medium == "" || paidMedium) {
		if cat == catNone {
			cat = click.cat
		}
		if tag == "" && !refKnown {
			r.Source = click.name
		}
	}
	s := signals{
		cat:       cat,
		medium:    medium,
		campaign:  campaign,
		tag:       ltag,
		paid:      paidMedium || medium == "" && click.paid,
		hasSource: tag != "" || r.Referrer != "" || click.id != "",
	}
	r.Channel = s.channel()
	return r
}

// internal reports whether a referrer host is the site itself.
func internal(host string, in Input) bool {
	return within(host, bareDomain(in.SiteDomain)) || within(host, bareDomain(in.PageHost))
}

// lookupSource maps a lower-case tag source to a known entry: an alias ("google", "fb"), else a host
// or URL ("chatgpt.com", "m.facebook.com", an Android package).
func (t *tables) lookupSource(s string) (entry, bool) {
	if e, ok := t.alias[s]; ok {
		return e, true
	}
	if !strings.Contains(s, ".") {
		return entry{}, false
	}
	p, ok := parseReferrer(s)
	if !ok {
		return entry{}, false
	}
	if p.app {
		if r := t.exact[p.host]; r != nil {
			return r.match("")
		}
		return entry{}, false
	}
	return t.lookupHost(p.host, p.path)
}

// cleanTag trims a tag value, bounds it and keeps it valid UTF-8; GA4's placeholders count as absent.
func cleanTag(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxTag {
		s = s[:maxTag]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	if strings.HasPrefix(s, "(") && (strings.EqualFold(s, "(direct)") || strings.EqualFold(s, "(not set)") || strings.EqualFold(s, "(none)")) {
		return ""
	}
	return s
}

// normTag is cleanTag in lower case, with "none" also absent (utm_medium=none is a direct visit's).
func normTag(s string) string {
	s = strings.ToLower(cleanTag(s))
	if s == "none" {
		return ""
	}
	return s
}

// Package referrer names the source of a visit and its channel: from the referrer URL (matched against
// Matomo's search engine, social network and AI assistant lists), utm parameters and ad click ids,
// following GA4's default channel group rules.
//
// Choices GA4 leaves open:
//   - A paid click id (gclid, gbraid, wbraid, msclkid) without utm_medium means Paid Search; ttclid, twclid
//     and li_fat_id mean Paid Social. fbclid is appended by Facebook and Instagram to organic links as
//     well, so alone it means Organic Social; with a paid utm_medium it is Paid Social.
//   - ref, via and source query parameters act as utm_source when utm_source is absent.
//   - The site's own domain and its subdomains are never a source: such referrers are internal
//     navigation and count as Direct unless utm parameters say otherwise.
package referrer

import (
	"embed"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Channels (GA4 default channel groups plus AI Assistants).
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

// Channels lists every channel name.
var Channels = []string{Direct, OrganicSearch, PaidSearch, OrganicSocial, PaidSocial, Email, Referral, Affiliates, Display,
	OrganicVideo, PaidVideo, OrganicShopping, PaidShopping, SMS, Audio, MobilePush, CrossNetwork, AIAssistants, PaidOther, Unassigned}

// Input is what a visit tells about where it came from.
type Input struct {
	Referrer    string // full referrer URL, possibly empty or garbage
	SiteDomain  string // the site's domain, e.g. "example.com"
	PageHost    string // host of the landing page
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	ClickIDs    map[string]string // landing-page parameters such as gclid, fbclid
	Ref         string            // ref / via / source parameter
}

// Result is the classification.
type Result struct {
	Referrer        string // host + path, no query; "" when none or internal
	Source          string // e.g. "Google", "Hacker News", "news.example.org"
	Channel         string
	ClickIDPlatform string
	ClickID         string
}

type category int

const (
	catNone category = iota
	catSearch
	catSocial
	catAI
	catVideo
	catEmail
	catShopping
)

type entry struct {
	name string
	cat  category
}

//go:embed data/*.yml
var data embed.FS

var (
	loadOnce  sync.Once
	exact     map[string]entry // host → entry
	wildcard  map[string]entry // "google" for "google.{}" → entry
	byName    map[string]entry // lower-case name or first host label → entry
	clickIDOf = map[string]string{
		"gclid": "google_ads", "gbraid": "google_ads", "wbraid": "google_ads", "msclkid": "microsoft_ads",
		"fbclid": "meta", "ttclid": "tiktok", "twclid": "x", "li_fat_id": "linkedin",
	}
	clickOrder = []string{"gclid", "gbraid", "wbraid", "msclkid", "ttclid", "twclid", "li_fat_id", "fbclid"}
)

// extra hosts the Matomo lists do not classify the way channels need.
var extra = map[string]entry{
	"youtube.com": {"YouTube", catVideo}, "youtu.be": {"YouTube", catVideo}, "m.youtube.com": {"YouTube", catVideo},
	"vimeo.com": {"Vimeo", catVideo}, "twitch.tv": {"Twitch", catVideo}, "dailymotion.com": {"Dailymotion", catVideo},
	"mail.google.com": {"Gmail", catEmail}, "outlook.live.com": {"Outlook", catEmail}, "outlook.office.com": {"Outlook", catEmail},
	"outlook.office365.com": {"Outlook", catEmail}, "mail.yahoo.com": {"Yahoo Mail", catEmail}, "mail.proton.me": {"Proton Mail", catEmail},
	"com.google.android.gm": {"Gmail", catEmail},
	"amazon.com":            {"Amazon", catShopping}, "ebay.com": {"eBay", catShopping}, "etsy.com": {"Etsy", catShopping},
	"shopping.google.com":  {"Google Shopping", catShopping},
	"news.ycombinator.com": {"Hacker News", catSocial}, "t.co": {"X", catSocial}, "x.com": {"X", catSocial},
	"lnkd.in": {"LinkedIn", catSocial}, "l.facebook.com": {"Facebook", catSocial}, "lm.facebook.com": {"Facebook", catSocial},
	"l.instagram.com": {"Instagram", catSocial}, "com.reddit.frontpage": {"Reddit", catSocial},
	"perplexity.ai": {"Perplexity", catAI}, "www.perplexity.ai": {"Perplexity", catAI},
}

func load() {
	exact, wildcard, byName = map[string]entry{}, map[string]entry{}, map[string]entry{}
	type labelEntry struct {
		label string
		e     entry
	}
	var labels []labelEntry
	add := func(host string, e entry) {
		host = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(host)), "www.")
		if host == "" {
			return
		}
		if prefix, ok := strings.CutSuffix(host, ".{}"); ok {
			if _, seen := wildcard[prefix]; !seen {
				wildcard[prefix] = e
			}
		} else if _, seen := exact[host]; !seen {
			exact[host] = e
		}
		label := host
		if i := strings.IndexByte(host, '.'); i > 0 {
			label = host[:i]
		}
		if label != "m" && label != "mobile" {
			labels = append(labels, labelEntry{label, e})
		}
	}
	for h, e := range extra {
		add(h, e)
	}
	simple := func(file string, cat category) {
		b, err := data.ReadFile("data/" + file)
		if err != nil {
			panic("referrer: " + err.Error())
		}
		var m map[string][]string
		if err := yaml.Unmarshal(b, &m); err != nil {
			panic("referrer: parse " + file + ": " + err.Error())
		}
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			hosts := m[name]
			e := entry{name, cat}
			if _, seen := byName[strings.ToLower(name)]; !seen {
				byName[strings.ToLower(name)] = e
			}
			for _, h := range hosts {
				add(h, e)
			}
		}
	}
	simple("AIAssistants.yml", catAI)
	simple("Socials.yml", catSocial)
	b, err := data.ReadFile("data/SearchEngines.yml")
	if err != nil {
		panic("referrer: " + err.Error())
	}
	var engines map[string][]struct {
		URLs []string `yaml:"urls"`
	}
	if err := yaml.Unmarshal(b, &engines); err != nil {
		panic("referrer: parse SearchEngines.yml: " + err.Error())
	}
	names := make([]string, 0, len(engines))
	for name := range engines {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		defs := engines[name]
		e := entry{name, catSearch}
		if _, seen := byName[strings.ToLower(name)]; !seen {
			byName[strings.ToLower(name)] = e
		}
		for _, d := range defs {
			for _, h := range d.URLs {
				add(h, e)
			}
		}
	}
	// A utm_source such as "google" names the engine; first labels of hosts fill in names the lists
	// do not spell out, in a fixed order so the answer never depends on map iteration.
	sort.SliceStable(labels, func(i, j int) bool { return labels[i].label < labels[j].label })
	for _, l := range labels {
		if _, seen := byName[l.label]; !seen {
			byName[l.label] = l.e
		}
	}
}

// lookupHost finds the entry of a host, trying its parent domains and TLD wildcards.
func lookupHost(host string) (entry, bool) {
	host = strings.TrimPrefix(host, "www.")
	labels := strings.Split(host, ".")
	for i := 0; i < len(labels); i++ {
		if e, ok := exact[strings.Join(labels[i:], ".")]; ok {
			return e, true
		}
	}
	// name.{} matches name followed by a one- or two-label suffix (google.de, google.co.uk).
	for tail := 1; tail <= 2 && tail < len(labels); tail++ {
		for i := 0; i < len(labels)-tail; i++ {
			if e, ok := wildcard[strings.Join(labels[i:len(labels)-tail], ".")]; ok {
				return e, true
			}
		}
	}
	return entry{}, false
}

func internal(host, site, page string) bool {
	host = strings.TrimPrefix(host, "www.")
	for _, d := range []string{strings.TrimPrefix(site, "www."), strings.TrimPrefix(page, "www.")} {
		if d != "" && (host == d || strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}

var (
	paidMedium  = regexp.MustCompile(`^(.*cp.*|ppc|retargeting|paid.*)$`)
	socialMed   = regexp.MustCompile(`^(social|social[-_ ]network|social[-_ ]media|sm|social[-_ ]?ads?)$`)
	emailRe     = regexp.MustCompile(`^(email|e[-_ ]?mail|newsletter)$`)
	displayMed  = regexp.MustCompile(`^(display|banner|expandable|interstitial|cpm)$`)
	shoppingCmp = regexp.MustCompile(`^(.*(([^a-df-z]|^)shop|shopping).*)$`)
)

// Classify names the source and channel of a visit.
func Classify(in Input) Result {
	loadOnce.Do(load)
	var r Result
	for _, k := range clickOrder {
		if v := in.ClickIDs[k]; v != "" {
			r.ClickIDPlatform, r.ClickID = clickIDOf[k], v
			break
		}
	}
	var refEntry entry
	var refKnown bool
	if in.Referrer != "" {
		host, path := parseReferrer(in.Referrer)
		if host != "" && !internal(host, in.SiteDomain, in.PageHost) {
			r.Referrer = strings.TrimPrefix(host, "www.") + path
			refEntry, refKnown = lookupHost(host)
			if refKnown {
				r.Source = refEntry.name
			} else {
				r.Source = strings.TrimPrefix(host, "www.")
			}
		}
	}
	src := strings.TrimSpace(in.UTMSource)
	if src == "" {
		src = strings.TrimSpace(in.Ref)
	}
	medium := strings.ToLower(strings.TrimSpace(in.UTMMedium))
	campaign := strings.ToLower(strings.TrimSpace(in.UTMCampaign))
	srcEntry, srcKnown := refEntry, refKnown
	if src != "" {
		ls := strings.ToLower(src)
		if e, ok := byName[ls]; ok {
			srcEntry, srcKnown = e, true
			r.Source = e.name
		} else if e, ok := lookupHost(ls); ok && strings.Contains(ls, ".") {
			srcEntry, srcKnown = e, true
			r.Source = e.name
		} else {
			if r.Source == "" || !refKnown {
				r.Source = src
			}
			if !refKnown {
				srcEntry, srcKnown = entry{}, false
			}
		}
		if ls == "fb" || ls == "ig" {
			srcEntry, srcKnown = entry{"Facebook", catSocial}, true
			if ls == "ig" {
				srcEntry.name = "Instagram"
			}
			r.Source = srcEntry.name
		}
	}
	r.Channel = channel(srcEntry.cat, srcKnown, strings.ToLower(src), medium, campaign, r, in.Referrer != "" && r.Referrer != "")
	if r.Source == "" && r.Channel == PaidSearch && r.ClickIDPlatform == "google_ads" {
		r.Source = "Google"
	} else if r.Source == "" && r.Channel == PaidSearch && r.ClickIDPlatform == "microsoft_ads" {
		r.Source = "Bing"
	}
	return r
}

func channel(cat category, known bool, src, medium, campaign string, r Result, hasReferrer bool) string {
	paid := paidMedium.MatchString(medium)
	if src == "" && medium == "" && campaign == "" && r.ClickIDPlatform == "" && !hasReferrer {
		return Direct
	}
	switch {
	case strings.Contains(campaign, "cross-network"):
		return CrossNetwork
	case (cat == catShopping || shoppingCmp.MatchString(campaign)) && paid:
		return PaidShopping
	case cat == catSearch && paid:
		return PaidSearch
	case cat == catSocial && paid:
		return PaidSocial
	case cat == catVideo && paid:
		return PaidVideo
	case displayMed.MatchString(medium):
		return Display
	case paid:
		if r.ClickIDPlatform == "google_ads" || r.ClickIDPlatform == "microsoft_ads" {
			return PaidSearch
		}
		if r.ClickIDPlatform != "" {
			return PaidSocial
		}
		return PaidOther
	case medium == "" && (r.ClickIDPlatform == "google_ads" || r.ClickIDPlatform == "microsoft_ads"):
		return PaidSearch
	case medium == "" && (r.ClickIDPlatform == "tiktok" || r.ClickIDPlatform == "x" || r.ClickIDPlatform == "linkedin"):
		return PaidSocial
	case cat == catAI:
		return AIAssistants
	case cat == catShopping || shoppingCmp.MatchString(campaign):
		return OrganicShopping
	case cat == catSocial || socialMed.MatchString(medium) || r.ClickIDPlatform == "meta":
		return OrganicSocial
	case cat == catVideo || strings.Contains(medium, "video"):
		return OrganicVideo
	case cat == catSearch || medium == "organic":
		return OrganicSearch
	case cat == catEmail || emailRe.MatchString(src) || emailRe.MatchString(medium):
		return Email
	case medium == "affiliate" || medium == "affiliates":
		return Affiliates
	case medium == "audio":
		return Audio
	case src == "sms" || medium == "sms":
		return SMS
	case strings.HasSuffix(medium, "push") || strings.Contains(medium, "mobile") || strings.Contains(medium, "notification"):
		return MobilePush
	case medium == "referral" || medium == "app" || medium == "link" || (medium == "" && hasReferrer):
		return Referral
	case medium == "" && src != "" && !known:
		return Referral // a named source without a medium, e.g. ?ref=producthunt
	}
	return Unassigned
}

// parseReferrer returns the lower-case host and the path of a referrer, tolerating garbage and app
// referrers such as android-app://com.google.android.gm/.
func parseReferrer(s string) (host, path string) {
	s = strings.TrimSpace(s)
	if len(s) > 2048 {
		s = s[:2048]
	}
	if rest, ok := strings.CutPrefix(s, "android-app://"); ok {
		pkg, _, _ := strings.Cut(rest, "/")
		return strings.ToLower(pkg), ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if !strings.Contains(s, "://") && strings.Contains(s, ".") {
			u, err = url.Parse("https://" + s)
		}
		if err != nil || u == nil || u.Host == "" {
			return "", ""
		}
	}
	host = strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	path = u.EscapedPath()
	if path == "/" {
		path = ""
	}
	if len(path) > 200 {
		path = path[:200]
	}
	return host, path
}

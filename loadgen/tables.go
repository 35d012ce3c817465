package loadgen

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
)

// uaProfile is one real browser from data/user-agents.json.
type uaProfile struct {
	UA          string `json:"ua"`
	Device      string `json:"device"`
	ScreenWidth int    `json:"screen_width"`
}

//go:embed data/user-agents.json
var uaJSON []byte

var (
	uaOnce     sync.Once
	uaAll      []uaProfile
	uaMobile   []int // indexes of mobile profiles, for second devices
	uaLoadErr  error
	uaMinCount = 50
)

func loadUAs() ([]uaProfile, []int, error) {
	uaOnce.Do(func() {
		if err := json.Unmarshal(uaJSON, &uaAll); err != nil {
			uaLoadErr = fmt.Errorf("loadgen: decode user agents: %w", err)
			return
		}
		if len(uaAll) < uaMinCount {
			uaLoadErr = fmt.Errorf("loadgen: only %d user agents embedded", len(uaAll))
			return
		}
		for i, p := range uaAll {
			if p.Device == "mobile" {
				uaMobile = append(uaMobile, i)
			}
		}
	})
	return uaAll, uaMobile, uaLoadErr
}

// country is where a visitor browses from: the public prefixes (first two octets) whose addresses the
// embedded DB-IP table places in the country, so geo varies when the server trusts X-Forwarded-For.
type country struct {
	code     string
	weight   int
	currency string // the currency the visitor pays in
	prefixes [][2]byte
}

var countries = []country{
	{"US", 36, "USD", [][2]byte{{12, 34}, {73, 162}, {98, 207}, {172, 58}}},
	{"DE", 10, "EUR", [][2]byte{{85, 214}, {91, 64}, {87, 123}}},
	{"GB", 10, "GBP", [][2]byte{{86, 128}, {109, 144}, {51, 6}}},
	{"FR", 6, "EUR", [][2]byte{{90, 12}, {82, 64}, {86, 238}}},
	{"JP", 7, "JPY", [][2]byte{{126, 0}, {153, 156}, {180, 8}}},
	{"CA", 5, "USD", [][2]byte{{24, 114}, {142, 112}}},
	{"IN", 6, "USD", [][2]byte{{49, 36}, {117, 200}}},
	{"BR", 4, "USD", [][2]byte{{177, 32}, {179, 96}}},
	{"NL", 4, "EUR", [][2]byte{{145, 53}, {84, 24}}},
	{"AU", 4, "USD", [][2]byte{{1, 120}, {101, 160}}},
	{"ES", 4, "EUR", [][2]byte{{83, 32}, {88, 0}}},
	// Bahrain browses but pays in USD: the scenario's single BHD payment comes from one injected buyer.
	{"BH", 1, "USD", [][2]byte{{157, 175}, {15, 184}}},
}

var countryBH = len(countries) - 1

// channelSpec is one way visitors arrive. channel and source are what the server's referrer step
// should conclude (GA4 default channel groups); a test checks them against the referrer package.
type channelSpec struct {
	key       string
	weight    int
	channel   string
	source    string
	referrers []string
	// query returns the landing page's query string (without "?") for one arrival.
	query    func(g *gen) string
	landings []string
	convert  float64 // signup propensity relative to organic search
}

// Channel names as the server reports them.
const (
	chDirect        = "Direct"
	chOrganicSearch = "Organic Search"
	chPaidSearch    = "Paid Search"
	chOrganicSocial = "Organic Social"
	chPaidSocial    = "Paid Social"
	chEmail         = "Email"
	chReferral      = "Referral"
	chAffiliates    = "Affiliates"
	chAI            = "AI Assistants"
)

var (
	blogPosts = []string{"/blog/first-touch-vs-last-touch", "/blog/stripe-revenue-attribution",
		"/blog/privacy-friendly-analytics", "/blog/utm-parameters-guide", "/blog/ga4-alternatives"}
	landBlog    = append([]string{"/", "/compare/google-analytics"}, blogPosts...)
	landPaid    = []string{"/pricing", "/", "/compare/google-analytics", "/features"}
	landSocial  = append([]string{"/"}, blogPosts...)
	landDirect  = []string{"/", "/", "/", "/pricing", "/docs"}
	landAI      = []string{"/compare/google-analytics", "/", "/pricing", "/features/attribution"}
	landEmail   = []string{"/changelog", "/blog/stripe-revenue-attribution", "/blog/utm-parameters-guide"}
	landReferer = []string{"/", "/features", "/pricing", "/blog/ga4-alternatives"}
)

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

var channelSpecs = []channelSpec{
	{key: "google_organic", weight: 24, channel: chOrganicSearch, source: "Google",
		referrers: []string{"https://www.google.com/"}, landings: landBlog, convert: 1},
	{key: "bing_organic", weight: 3, channel: chOrganicSearch, source: "Bing",
		referrers: []string{"https://www.bing.com/"}, landings: landBlog, convert: 1},
	{key: "duckduckgo", weight: 2, channel: chOrganicSearch, source: "DuckDuckGo",
		referrers: []string{"https://duckduckgo.com/"}, landings: landBlog, convert: 1.2},
	{key: "google_ads", weight: 9, channel: chPaidSearch, source: "Google",
		referrers: []string{"https://www.google.com/"}, landings: landPaid, convert: 2,
		query: func(g *gen) string {
			campaign := g.pick([]string{"brand_search", "analytics_generic", "competitor_ga4"})
			term := g.pick([]string{"revenue attribution", "stripe analytics", "privacy analytics", "ga4 alternative"})
			click := "gclid"
			if g.chance(0.15) {
				click = g.pick([]string{"gbraid", "wbraid"})
			}
			return q("utm_source", "google", "utm_medium", "cpc", "utm_campaign", campaign, "utm_term", term, click, "Cj0K"+g.id(40))
		}},
	{key: "bing_ads", weight: 1, channel: chPaidSearch, source: "Bing",
		referrers: []string{"https://www.bing.com/"}, landings: landPaid, convert: 2,
		query: func(g *gen) string {
			return q("utm_source", "bing", "utm_medium", "cpc", "utm_campaign", "brand_search", "msclkid", g.hex(32))
		}},
	{key: "facebook_organic", weight: 4, channel: chOrganicSocial, source: "Facebook",
		referrers: []string{"https://l.facebook.com/", "https://m.facebook.com/"}, landings: landSocial, convert: 0.6,
		query: func(g *gen) string { return q("fbclid", "IwAR"+g.id(50)) }},
	{key: "instagram_organic", weight: 2, channel: chOrganicSocial, source: "Instagram",
		referrers: []string{"https://l.instagram.com/"}, landings: landSocial, convert: 0.6,
		query: func(g *gen) string { return q("fbclid", "PAZX"+g.id(50)) }},
	{key: "facebook_ads", weight: 5, channel: chPaidSocial, source: "Facebook",
		referrers: []string{"https://l.facebook.com/", "https://lm.facebook.com/"}, landings: landPaid, convert: 1.2,
		query: func(g *gen) string {
			return q("utm_source", "facebook", "utm_medium", "paid_social", "utm_campaign", "spring_launch",
				"utm_content", g.pick([]string{"video_a", "carousel_b"}), "fbclid", "IwAR"+g.id(50))
		}},
	{key: "newsletter", weight: 6, channel: chEmail, source: "newsletter", landings: landEmail, convert: 2.5,
		query: func(g *gen) string {
			y, w := g.cur.ISOWeek()
			return q("utm_source", "newsletter", "utm_medium", "email", "utm_campaign", fmt.Sprintf("weekly-%d-w%02d", y, w))
		}},
	{key: "hacker_news", weight: 4, channel: chOrganicSocial, source: "Hacker News",
		referrers: []string{"https://news.ycombinator.com/"}, landings: landSocial, convert: 0.5},
	{key: "reddit", weight: 3, channel: chOrganicSocial, source: "Reddit",
		referrers: []string{"https://www.reddit.com/r/SaaS/", "https://www.reddit.com/r/analytics/", "https://www.reddit.com/r/webdev/"},
		landings:  landSocial, convert: 0.5},
	{key: "x", weight: 3, channel: chOrganicSocial, source: "X",
		referrers: []string{"https://t.co/"}, landings: landSocial, convert: 0.6},
	{key: "chatgpt", weight: 4, channel: chAI, source: "ChatGPT",
		referrers: []string{"https://chatgpt.com/"}, landings: landAI, convert: 1.8,
		query: func(g *gen) string { return q("utm_source", "chatgpt.com") }},
	{key: "perplexity", weight: 1, channel: chAI, source: "Perplexity",
		referrers: []string{"https://www.perplexity.ai/"}, landings: landAI, convert: 1.8},
	{key: "producthunt", weight: 2, channel: chReferral, source: "producthunt",
		referrers: []string{"https://www.producthunt.com/"}, landings: landReferer, convert: 1,
		query: func(g *gen) string { return q("ref", "producthunt") }},
	{key: "blog_referral", weight: 3, channel: chReferral, source: "indiehackers.com",
		referrers: []string{"https://indiehackers.com/post/analytics-that-show-revenue", "https://www.indiehackers.com/"},
		landings:  landReferer, convert: 1},
	{key: "tiktok_ads", weight: 1, channel: chPaidSocial, source: "TikTok",
		referrers: []string{"https://www.tiktok.com/"}, landings: landPaid, convert: 0.8,
		query: func(g *gen) string {
			return q("utm_source", "tiktok", "utm_medium", "paid_social", "utm_campaign", "creator_test", "ttclid", "E."+g.id(40))
		}},
	{key: "linkedin_ads", weight: 1, channel: chPaidSocial, source: "LinkedIn",
		referrers: []string{"https://www.linkedin.com/"}, landings: landPaid, convert: 1.5,
		query: func(g *gen) string {
			return q("utm_source", "linkedin", "utm_medium", "paid_social", "utm_campaign", "b2b_q2", "li_fat_id", g.uuid())
		}},
	{key: "x_ads", weight: 1, channel: chPaidSocial, source: "X",
		referrers: []string{"https://t.co/"}, landings: landPaid, convert: 0.8,
		query: func(g *gen) string { return q("twclid", g.id(25)) }},
	{key: "affiliate", weight: 2, channel: chAffiliates, source: "jane",
		landings: landReferer, convert: 1.5,
		query: func(g *gen) string { return q("via", "jane", "utm_medium", "affiliate") }},
	{key: "direct", weight: 19, channel: chDirect, source: "", landings: landDirect, convert: 1.2},
}

// Indexes of specs used on purpose.
var (
	specDirect     = specIndex("direct")
	specNewsletter = specIndex("newsletter")
	specChatGPT    = specIndex("chatgpt")
	// Where a visitor's phone first meets the product before the purchase on another device.
	specSecondDevice = []int{specIndex("instagram_organic"), specIndex("x"), specIndex("reddit"),
		specIndex("facebook_organic"), specIndex("hacker_news")}
)

func specIndex(key string) int {
	for i, s := range channelSpecs {
		if s.key == key {
			return i
		}
	}
	panic("loadgen: no channel spec " + key)
}

// Pages a visitor moves to after landing, with weights.
var navPages = []struct {
	path   string
	weight int
}{
	{"/pricing", 25}, {"/features", 12}, {"/features/attribution", 8}, {"/features/stripe", 6},
	{"/docs", 8}, {"/docs/install", 5}, {"/", 10}, {"/compare/google-analytics", 4}, {"/changelog", 2},
	{blogPosts[0], 4}, {blogPosts[1], 4}, {blogPosts[2], 4}, {blogPosts[3], 4}, {blogPosts[4], 4},
}

// plan is one thing the site sells, priced in minor units per currency (Stripe's table: JPY has no
// decimals, BHD has three).
type plan struct {
	key      string // e.g. "pro_month"
	product  string // Stripe product id
	name     string
	interval string // "month", "year" or "" for one-time
	amounts  map[string]int64
}

var plans = map[string]*plan{
	"pro_month": {"pro_month", "prod_QTribPro0001", "Pro", "month",
		map[string]int64{"USD": 2900, "EUR": 2700, "GBP": 2400, "JPY": 4400, "BHD": 11000}},
	"pro_year": {"pro_year", "prod_QTribPro0001", "Pro", "year",
		map[string]int64{"USD": 29000, "EUR": 27000, "GBP": 24000, "JPY": 44000, "BHD": 110000}},
	"business_month": {"business_month", "prod_QTribBiz0002", "Business", "month",
		map[string]int64{"USD": 9900, "EUR": 9200, "GBP": 7900, "JPY": 15000, "BHD": 37500}},
	"business_year": {"business_year", "prod_QTribBiz0002", "Business", "year",
		map[string]int64{"USD": 99000, "EUR": 92000, "GBP": 79000, "JPY": 150000, "BHD": 375000}},
	"templates": {"templates", "prod_QTribTpl0003", "Template pack", "",
		map[string]int64{"USD": 4900, "EUR": 4500, "GBP": 3900, "JPY": 7500, "BHD": 18500}},
	"lifetime": {"lifetime", "prod_QTribLtd0004", "Lifetime licence", "",
		map[string]int64{"USD": 19900, "EUR": 18900, "GBP": 16900, "JPY": 30000, "BHD": 75000}},
}

// priceID names the Stripe price of a plan in a currency: one price per currency, as most accounts do.
func priceID(p *plan, currency string) string {
	return "price_1Trib" + p.key + "_" + currency
}

var (
	firstNames = []string{"maria", "james", "yuki", "lena", "omar", "sofia", "li", "noah", "amara", "lucas",
		"emma", "raj", "chloe", "mateo", "hana", "ethan", "fatima", "oliver", "ines", "kenji"}
	lastNames = []string{"schmidt", "smith", "tanaka", "muller", "haddad", "rossi", "wang", "johnson", "okafor",
		"silva", "martin", "patel", "dubois", "garcia", "sato", "brown", "alsayed", "jones", "costa", "ito"}
	emailDomains = []string{"example.com", "example.org", "example.net"}
)

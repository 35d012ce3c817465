package referrer

import (
	"embed"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// category is what kind of site a source is; it picks the channel.
type category uint8

const (
	catNone category = iota
	catSearch
	catSocial
	catVideo
	catShopping
	catEmail
	catAI
)

// entry is a known source: its display name and category.
type entry struct {
	name string
	cat  category
}

// pathEntry names a source only under a path of a host, e.g. Google Shopping at google.{}/products.
type pathEntry struct {
	prefix string
	e      entry
}

// rule is what one host key knows: the host as a whole (e.name may be empty) and path refinements.
type rule struct {
	e     entry
	paths []pathEntry
}

// match returns the entry for a referrer path under the rule's host.
func (r *rule) match(path string) (entry, bool) {
	for _, p := range r.paths {
		if rest, ok := strings.CutPrefix(path, p.prefix); ok && (rest == "" || rest[0] == '/' || strings.HasSuffix(p.prefix, "/")) {
			return p.e, true
		}
	}
	return r.e, r.e.name != ""
}

// tables are the parsed lists.
type tables struct {
	exact map[string]*rule // host without "www." (or Android package) → rule
	wild  map[string]*rule // "google" for the pattern "google.{}" (any public suffix)
	alias map[string]entry // lower-case utm_source spelling → entry
}

//go:embed data/*.yml
var dataFS embed.FS

// lists is built once at package initialisation: the hot path never locks and the first request pays
// nothing (TestLoadTime pins the cost).
var lists = mustLoad()

func mustLoad() *tables {
	t, err := load()
	if err != nil {
		panic(err) // the lists are embedded: a parse error is a build defect, caught by every test
	}
	return t
}

// Hand lists for categories the Matomo lists lack (video, webmail, shopping, a few apps) and for names
// GA4 files differently: YouTube is social for Matomo but video for GA4. They take precedence.
var handLists = []struct {
	cat   category
	names map[string][]string
}{
	{catVideo, map[string][]string{
		"YouTube":     {"youtube.com", "youtu.be", "youtube-nocookie.com", "com.google.android.youtube"},
		"Vimeo":       {"vimeo.com"},
		"Twitch":      {"twitch.tv", "tv.twitch.android.app"},
		"Dailymotion": {"dailymotion.com", "dai.ly"},
		"Wistia":      {"wistia.com"},
		"Loom":        {"loom.com"},
	}},
	{catEmail, map[string][]string{
		"Gmail":        {"mail.google.com", "inbox.google.com", "com.google.android.gm"},
		"Outlook":      {"outlook.live.com", "outlook.office.com", "outlook.office365.com", "com.microsoft.office.outlook"},
		"Yahoo Mail":   {"mail.yahoo.com", "com.yahoo.mobile.client.android.mail"},
		"Proton Mail":  {"mail.proton.me", "mail.protonmail.com"},
		"AOL Mail":     {"mail.aol.com"},
		"Zoho Mail":    {"mail.zoho.com", "mail.zoho.eu"},
		"Fastmail":     {"app.fastmail.com"},
		"Mail.ru Mail": {"e.mail.ru"},
		"Yandex Mail":  {"mail.yandex.ru", "mail.yandex.com"},
	}},
	{catShopping, map[string][]string{
		"Amazon":          {"amazon.{}"},
		"eBay":            {"ebay.{}"},
		"Etsy":            {"etsy.com"},
		"Walmart":         {"walmart.com"},
		"AliExpress":      {"aliexpress.com", "aliexpress.us"},
		"Temu":            {"temu.com"},
		"Google Shopping": {"shopping.google.com", "google.{}/shopping"},
	}},
	{catSocial, map[string][]string{
		"Facebook":  {"com.facebook.katana", "com.facebook.lite", "com.facebook.orca"},
		"Instagram": {"com.instagram.android"},
		"X":         {"com.twitter.android"},
		"LinkedIn":  {"com.linkedin.android"},
		"TikTok":    {"com.zhiliaoapp.musically", "com.ss.android.ugc.trill"},
		"Pinterest": {"com.pinterest"},
		"WhatsApp":  {"whatsapp.com", "web.whatsapp.com", "com.whatsapp"},
		"Telegram":  {"t.me", "telegram.org"},
		"Slack":     {"app.slack.com", "slack.com", "com.slack"},
		"Discord":   {"com.discord"},
		"Quora":     {"quora.com"},
		"Medium":    {"medium.com"},
		"Substack":  {"substack.com"},
	}},
	{catAI, map[string][]string{
		"ChatGPT": {"com.openai.chatgpt"},
		"Phind":   {"phind.com"},
		"Poe":     {"poe.com"},
	}},
}

// renames gives list entries the names people know them by today.
var renames = map[string]string{"Twitter": "X", "reddit": "Reddit", "tumblr": "Tumblr"}

// recategorise moves list entries whose list is not their GA4 category.
var recategorise = map[string]category{"Google Shopping": catShopping}

// handAliases are utm_source spellings that no list entry spells out; they win over derived aliases.
var handAliases = map[string]string{
	"fb": "Facebook", "ig": "Instagram", "insta": "Instagram", "tw": "X", "twitter": "X", "x": "X",
	"yt": "YouTube", "li": "LinkedIn", "hn": "Hacker News", "hackernews": "Hacker News", "ycombinator": "Hacker News",
	"ddg": "DuckDuckGo", "adwords": "Google", "googleads": "Google", "google_ads": "Google", "gemini": "Gemini",
	"bard": "Gemini", "openai": "ChatGPT", "chatgpt": "ChatGPT", "chat-gpt": "ChatGPT", "claude": "Claude",
	"perplexity": "Perplexity", "copilot": "Copilot", "bsky": "Bluesky", "msn": "Bing", "microsoft": "Bing",
	"yahoo": "Yahoo!", "reddit": "Reddit",
}

func load() (*tables, error) {
	t := &tables{exact: make(map[string]*rule, 1024), wild: make(map[string]*rule, 64), alias: make(map[string]entry, 1024)}
	known := map[string]entry{} // display name → entry, for aliases
	addEntry := func(name string, cat category, pattern string) {
		if n, ok := renames[name]; ok {
			name = n
		}
		if c, ok := recategorise[name]; ok {
			cat = c
		}
		e := entry{name, cat}
		if _, ok := known[name]; !ok {
			known[name] = e
		}
		t.add(pattern, e)
	}
	for _, l := range handLists {
		for _, name := range sortedKeys(l.names) {
			for _, p := range l.names[name] {
				addEntry(name, l.cat, p)
			}
		}
	}
	simple := []struct {
		file string
		cat  category
	}{{"AIAssistants.yml", catAI}, {"Socials.yml", catSocial}}
	for _, f := range simple {
		var m map[string][]string
		if err := readYAML(f.file, &m); err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(m) {
			for _, p := range m[name] {
				addEntry(unescapeName(name), f.cat, p)
			}
		}
	}
	var engines map[string][]struct {
		URLs []string `yaml:"urls"`
	}
	if err := readYAML("SearchEngines.yml", &engines); err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(engines) {
		for _, d := range engines[name] {
			for _, p := range d.URLs {
				addEntry(unescapeName(name), catSearch, p)
			}
		}
	}
	t.buildAliases(known)
	return t, nil
}

func readYAML(file string, v any) error {
	b, err := dataFS.ReadFile("data/" + file)
	if err != nil {
		return fmt.Errorf("referrer: load lists: %w", err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("referrer: load lists: parse %s: %w", file, err)
	}
	return nil
}

// unescapeName turns Matomo's URL-escaped names ("Google%2B") into display names.
func unescapeName(name string) string {
	if !strings.Contains(name, "%") {
		return name
	}
	if n, err := url.PathUnescape(name); err == nil {
		return n
	}
	return name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// add registers one Matomo pattern: "host", "host/path", "name.{}" (any public suffix), "{}.host"
// (any subdomain, which every host gets anyway), "images.{}.ask.com" (read as ask.com) and Matomo's
// spelling of Android referrers, "android-app//package/...". The first registration of a key wins.
func (t *tables) add(pattern string, e entry) {
	p := strings.ToLower(strings.TrimSpace(pattern))
	if rest, ok := strings.CutPrefix(p, "android-app//"); ok {
		p, _, _ = strings.Cut(rest, "/")
	}
	host, path, _ := strings.Cut(p, "/")
	if path != "" {
		path = "/" + path
	}
	host = strings.TrimPrefix(host, "www.")
	if i := strings.LastIndex(host, "{}."); i >= 0 {
		host = host[i+3:]
	}
	m := t.exact
	if h, ok := strings.CutSuffix(host, ".{}"); ok {
		m, host = t.wild, h
	}
	if host == "" || strings.Contains(host, "{}") {
		return
	}
	r := m[host]
	if r == nil {
		r = &rule{}
		m[host] = r
	}
	if path == "" {
		if r.e.name == "" {
			r.e = e
		}
		return
	}
	for _, pe := range r.paths {
		if pe.prefix == path {
			return
		}
	}
	r.paths = append(r.paths, pathEntry{path, e})
}

// genericWords never alias a source: "utm_source=mail" or "=search" says too little to name one.
var genericWords = map[string]bool{
	"mail": true, "email": true, "search": true, "news": true, "web": true, "app": true, "com": true, "org": true,
	"net": true, "www": true, "chat": true, "home": true, "start": true, "images": true, "maps": true,
	"video": true, "shop": true, "online": true, "info": true, "social": true, "sms": true, "blog": true,
	"android": true, "mobile": true, "portal": true, "search-results": true, "link": true, "links": true,
	"inbox": true, "url": true, "you": true, "all": true, "free": true, "crawler": true, "duck": true,
	"last": true, "lost": true, "vis": true, "wow": true,
}

// buildAliases maps utm_source spellings to entries: the hand aliases, every list name in lower case
// (with and without spaces and punctuation), and the registrable label of two-label hosts and
// name.{} patterns ("facebook" from facebook.com). A derived spelling two different sources claim
// is dropped, so "utm_source=mail" never picks one webmail at random.
func (t *tables) buildAliases(known map[string]entry) {
	for a, name := range handAliases {
		if e, ok := known[name]; ok {
			t.alias[a] = e
		}
	}
	derived := map[string]entry{}
	ambiguous := map[string]bool{}
	claim := func(a string, e entry) {
		if len(a) < 3 || ambiguous[a] || genericWords[a] {
			return
		}
		if _, ok := t.alias[a]; ok {
			return
		}
		if prev, ok := derived[a]; ok && prev.name != e.name {
			ambiguous[a] = true
			delete(derived, a)
			return
		}
		derived[a] = e
	}
	// A host label names its source only when it spells the name ("discordapp", "youtu"), never when a
	// portal merely runs an engine's results (cnn.com serves Google's).
	claimLabel := func(label string, e entry) {
		n := squash(strings.ToLower(e.name))
		if l := squash(label); strings.HasPrefix(n, l) || strings.HasPrefix(l, n) {
			claim(label, e)
		}
	}
	for _, name := range sortedKeys(known) {
		e := known[name]
		lower := strings.ToLower(name)
		claim(lower, e)
		claim(squash(lower), e)
	}
	// Names claim first so that a label cannot shadow them; labels then fill the gaps.
	for _, k := range sortedKeys(derived) {
		t.alias[k] = derived[k]
	}
	derived, ambiguous = map[string]entry{}, map[string]bool{}
	for _, h := range sortedKeys(t.exact) {
		if r := t.exact[h]; r.e.name != "" && strings.Count(h, ".") == 1 {
			claimLabel(h[:strings.IndexByte(h, '.')], r.e)
		}
	}
	for _, h := range sortedKeys(t.wild) {
		if r := t.wild[h]; r.e.name != "" && !strings.Contains(h, ".") {
			claimLabel(h, r.e)
		}
	}
	for _, k := range sortedKeys(derived) {
		t.alias[k] = derived[k]
	}
}

// squash drops spaces and punctuation from a name: "Hacker News" → "hackernews".
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '!' || r == '.' || r == '-' || r == '_' {
			return -1
		}
		return r
	}, s)
}

// lookupHost finds the source of a lower-case host (and referrer path): the host itself, then each
// parent domain, trying at every level the exact entries before the name.{} patterns, so the most
// specific registration wins (news.google.co.uk is Google News, mail.google.com is Gmail).
func (t *tables) lookupHost(host, path string) (entry, bool) {
	s := strings.TrimPrefix(host, "www.")
	for {
		if r := t.exact[s]; r != nil {
			if e, ok := r.match(path); ok {
				return e, true
			}
		}
		if i := strings.LastIndexByte(s, '.'); i > 0 {
			if r := t.wild[s[:i]]; r != nil {
				if e, ok := r.match(path); ok {
					return e, true
				}
			}
			// name.{} also covers country suffixes of two labels, such as google.co.uk; only those,
			// so that google.example.com is not Google.
			if j := strings.LastIndexByte(s[:i], '.'); j > 0 && secondLevel(s[j+1:i], s[i+1:]) {
				if r := t.wild[s[:j]]; r != nil {
					if e, ok := r.match(path); ok {
						return e, true
					}
				}
			}
		}
		k := strings.IndexByte(s, '.')
		if k < 0 {
			return entry{}, false
		}
		s = s[k+1:]
		if strings.IndexByte(s, '.') < 0 {
			return entry{}, false // a bare public suffix names nothing
		}
	}
}

// secondLevel reports whether sld.tld is a country's second-level suffix such as co.uk or com.au.
func secondLevel(sld, tld string) bool {
	if len(tld) != 2 {
		return false
	}
	switch sld {
	case "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "gv", "nic", "web", "ltd", "plc", "info", "biz":
		return true
	}
	return false
}

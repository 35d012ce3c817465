// Package ua turns a User-Agent header into browser, OS and device class, and recognises bots. Both
// answers are cached, because real traffic repeats a few thousand user agents.
package ua

import (
	_ "embed"
	"encoding/json"
	"regexp"
	"strings"
	"sync"

	"github.com/ua-parser/uap-go/uaparser"
	"gopkg.in/yaml.v3"
)

// Agent is what Tributary keeps of a user agent.
type Agent struct {
	Browser        string
	BrowserVersion string
	OS             string
	OSVersion      string
	Device         string // desktop, mobile or tablet; "" for an empty user agent
}

var (
	parserOnce sync.Once
	parser     *uaparser.Parser
)

func getParser() *uaparser.Parser {
	parserOnce.Do(func() {
		// uap-core's device parsers (633 regular expressions, half of its compiled patterns' heap and
		// half of an uncached parse) name models and brands, which Tributary does not keep: the device
		// class comes from the tokens browsers send (deviceClass). So the parser is built from the
		// definitions without them, and asked for browser and OS only.
		var def uaparser.RegexDefinitions
		if err := yaml.Unmarshal(uaparser.DefinitionYaml, &def); err != nil {
			panic("ua: load uap-core definitions: " + err.Error())
		}
		def.Device = nil
		p, err := uaparser.New(uaparser.WithRegexDefinitions(def), uaparser.WithCacheSize(1),
			uaparser.WithMode(uaparser.EUserAgentLookUpMode|uaparser.EOsLookUpMode))
		if err != nil {
			panic("ua: load uap-core definitions: " + err.Error())
		}
		parser = p
	})
	return parser
}

// cache is a bounded map: when full it is cleared, which is cheap and keeps memory fixed under a spray
// of unique user agents.
type cache[V any] struct {
	mu  sync.RWMutex
	m   map[string]V
	max int
}

func (c *cache[V]) get(k string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *cache[V]) put(k string, v V) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]V, 1024)
	}
	c.m[k] = v
	c.mu.Unlock()
}

var agents = &cache[Agent]{max: 20000}

// MaxLen bounds the user agent considered; longer headers are cut (real ones are under 512 bytes).
const MaxLen = 1024

// Parse returns browser, OS and device class of a user agent.
func Parse(userAgent string) Agent {
	if userAgent == "" {
		return Agent{}
	}
	if len(userAgent) > MaxLen {
		userAgent = userAgent[:MaxLen]
	}
	if a, ok := agents.get(userAgent); ok {
		return a
	}
	c := getParser().Parse(userAgent)
	a := Agent{Browser: c.UserAgent.Family, OS: c.Os.Family}
	a.BrowserVersion = version(c.UserAgent.Major, c.UserAgent.Minor)
	a.OSVersion = version(c.Os.Major, c.Os.Minor)
	if a.Browser == "Other" {
		a.Browser = ""
	}
	if a.OS == "Other" {
		a.OS = ""
	}
	a.Device = deviceClass(userAgent, a.OS)
	agents.put(userAgent, a)
	return a
}

func version(major, minor string) string {
	if major == "" {
		return ""
	}
	if minor == "" {
		return major
	}
	return major + "." + minor
}

// deviceClass decides desktop, mobile or tablet from the OS and the tokens browsers use. (It read uap's
// device family as well, for "iPad" and "iPhone"; over the 14,400 user agents of the fixtures that
// changed the answer only for Puffin's, which puffinDevice covers.)
func deviceClass(s, os string) string {
	l := strings.ToLower(s)
	puffin := puffinDevice(s)
	switch {
	case strings.Contains(l, "ipad") || puffin == "tablet":
		return "tablet"
	case strings.Contains(l, "tablet") || strings.Contains(l, "kindle") || strings.Contains(l, "silk/") || strings.Contains(l, "playbook"):
		return "tablet"
	case os == "Android" && !strings.Contains(l, "mobile"):
		return "tablet" // Android tablets omit "Mobile" by Google's convention
	case strings.Contains(l, "mobile") || strings.Contains(l, "iphone") || strings.Contains(l, "ipod") ||
		strings.Contains(l, "android") || strings.Contains(l, "windows phone") || strings.Contains(l, "opera mini") || strings.Contains(l, "blackberry"):
		return "mobile"
	case puffin == "mobile" || os == "iOS":
		return "mobile"
	}
	return "desktop"
}

// puffinDevice reads the device Puffin appends to its version on Apple devices (uap-core's
// "Puffin/[\d\.]+IT" for an iPad and "…IP" for an iPhone; its user agent otherwise reads as desktop
// Linux): "tablet", "mobile" or "".
func puffinDevice(s string) string {
	_, v, ok := strings.Cut(s, "Puffin/")
	if !ok {
		return ""
	}
	i := 0
	for i < len(v) && (v[i] == '.' || '0' <= v[i] && v[i] <= '9') {
		i++
	}
	switch {
	case i == 0:
		return ""
	case strings.HasPrefix(v[i:], "IT"):
		return "tablet"
	case strings.HasPrefix(v[i:], "IP"):
		return "mobile"
	}
	return ""
}

//go:embed data/crawler-user-agents.json
var crawlerJSON []byte

var (
	botOnce  sync.Once
	botWords *matcher         // crawler patterns that are plain text
	botRes   []*regexp.Regexp // the rest: few, and faster one by one than as an alternation
	// botPrefixes are plain-text patterns anchored at the start.
	botPrefixes []string
	bots        = &cache[bool]{max: 20000}
)

// headless and tool signatures that the crawler list does not cover, lower case substrings.
var extraBotTokens = []string{"headlesschrome", "phantomjs", "puppeteer", "playwright", "selenium", "webdriver", "lighthouse",
	"chrome-lighthouse", "pagespeed", "gtmetrix", "curl/", "wget/", "python-requests", "python-urllib", "go-http-client",
	"java/", "okhttp", "node-fetch", "axios/", "httpclient", "libwww-perl", "scrapy", "httpx", "aiohttp", "postmanruntime", "insomnia"}

func compileBots() {
	var list []struct {
		Pattern string `json:"pattern"`
	}
	if err := json.Unmarshal(crawlerJSON, &list); err != nil {
		panic("ua: crawler list: " + err.Error())
	}
	// Plain-text patterns (three quarters of the list, after unescaping \/ and \.) go into one
	// Aho–Corasick automaton, anchored ones into a prefix list; only the true regular expressions remain.
	words := append([]string(nil), extraBotTokens...)
	for _, p := range list {
		if w, ok := literal(p.Pattern); ok {
			words = append(words, strings.ToLower(w))
			continue
		}
		if rest, anchored := strings.CutPrefix(p.Pattern, "^"); anchored {
			if w, ok := literal(rest); ok {
				botPrefixes = append(botPrefixes, strings.ToLower(w))
				continue
			}
		}
		if _, err := regexp.Compile(p.Pattern); err != nil {
			continue // a pattern Go's RE2 cannot express (none today); skipping beats failing start-up
		}
		botRes = append(botRes, regexp.MustCompile(p.Pattern)) // case-sensitive, as the list is written
	}
	botWords = newMatcher(words)
}

// IsBot reports whether the user agent is a crawler, a headless browser or an HTTP tool. An empty user
// agent counts as a bot: every real browser sends one.
func IsBot(userAgent string) bool {
	if strings.TrimSpace(userAgent) == "" {
		return true
	}
	if len(userAgent) > MaxLen {
		userAgent = userAgent[:MaxLen]
	}
	if v, ok := bots.get(userAgent); ok {
		return v
	}
	botOnce.Do(compileBots)
	isBot := botWords.matchLower(userAgent) || hasPrefixFold(userAgent, botPrefixes) || anyMatch(botRes, userAgent)
	bots.put(userAgent, isBot)
	return isBot
}

// literal returns the text a pattern matches when it has no regular-expression operators (escaped
// punctuation such as \/ and \. is unescaped).
func literal(p string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\\':
			if i+1 < len(p) && strings.IndexByte("/.-()[]{}+*?|^$ _:;@&=,'\\\"", p[i+1]) >= 0 {
				b.WriteByte(p[i+1])
				i++
				continue
			}
			return "", false
		case '[':
			// [sS]-style classes are one letter in either case; matching is case-insensitive anyway.
			if i+3 < len(p) && p[i+3] == ']' && strings.EqualFold(p[i+1:i+2], p[i+2:i+3]) {
				b.WriteByte(p[i+1])
				i += 3
				continue
			}
			return "", false
		case '.', '^', '$', '*', '+', '?', '(', ')', ']', '{', '}', '|':
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), b.Len() > 0
}

func hasPrefixFold(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

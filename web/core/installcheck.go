package core

import (
	"net/url"
	"sync"
	"time"

	"github.com/tributary/tributary/ingest"
)

// The install check: a site without events shows "waiting for the first event" with its snippet, and
// the browser events this node dropped for it lately, each with its reason and what to do about it. The
// drops are kept in memory (the last few per site id, per process): enough to debug an install, nothing
// to store.

// RecentDrop is one dropped browser event.
type RecentDrop struct {
	At     time.Time
	Reason string
	Detail string
	Host   string // the page's host, as the event named it
	Advice string
}

const dropsPerSite = 10

// dropLog keeps the newest drops per site id. Unknown site ids are kept too (a typo in data-site
// shows on no site page, but the bound keeps them from growing: at most maxDropSites ids).
type dropLog struct {
	mu    sync.Mutex
	sites map[string][]RecentDrop
	order []string
}

const maxDropSites = 1000

// Drops keeps the browser events dropped lately per site, for the dashboard of a site waiting for its
// first event (ingest writes, the UI reads).
var Drops = &dropLog{sites: map[string][]RecentDrop{}}

func (l *dropLog) add(site string, d RecentDrop) {
	if site == "" || len(site) > 64 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	list, ok := l.sites[site]
	if !ok {
		if len(l.order) >= maxDropSites {
			delete(l.sites, l.order[0])
			l.order = l.order[1:]
		}
		l.order = append(l.order, site)
	}
	list = append(list, d)
	if len(list) > dropsPerSite {
		list = list[len(list)-dropsPerSite:]
	}
	l.sites[site] = list
}

// Recent returns the site's drops, newest first.
func (l *dropLog) Recent(site string) []RecentDrop {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.sites[site]
	out := make([]RecentDrop, len(list))
	for i, d := range list {
		out[len(list)-1-i] = d
	}
	return out
}

// dropAdvice says what to do about each drop reason.
var dropAdvice = map[string]string{
	ingest.DropHostMismatch: "The page's host is not the site's domain or a subdomain of it: check the domain in the settings. To test on localhost, 127.0.0.1 or [::1], add data-allow-localhost to the script tag: loopback pages then count for any site.",
	ingest.DropBot:          "The browser looks automated: headless browsers, crawlers, curl and test tools count as bots and are dropped. Open the page in an ordinary browser.",
	ingest.DropUnknownSite:  "No site has this id: check data-site in the snippet.",
	ingest.DropExcluded:     "The page or address is excluded by the site's settings.",
	ingest.DropRateLimited:  "Too many events from one address in a short time.",
	ingest.DropInvalid:      "The event is malformed; the detail names the field.",
}

// NoteDrop records a dropped browser event for the install check.
func NoteDrop(site, reason, detail, pageURL string, at time.Time) {
	host := ""
	if u, err := url.Parse(pageURL); err == nil {
		host = u.Hostname()
	}
	Drops.add(site, RecentDrop{At: at, Reason: reason, Detail: detail, Host: host, Advice: dropAdvice[reason]})
}

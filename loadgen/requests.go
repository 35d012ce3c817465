package loadgen

import (
	"encoding/json"
	"iter"
	"sort"
	"time"
)

// Request kinds.
const (
	KindEvent  = "event"  // POST /api/event
	KindStripe = "stripe" // POST /stripe/webhook/{endpoint}
	KindServer = "server" // POST /api/v1/events
)

// Wire details of the server's endpoints.
const (
	PathEvent         = "/api/event"
	PathServerEvents  = "/api/v1/events"
	PathStripeWebhook = "/stripe/webhook/"
	// HeaderBackfill carries a browser event's scenario time when the driver backfills history.
	HeaderBackfill = "X-Tributary-Backfill-Time"
	// HeaderDropped names the reason the server dropped a browser event.
	HeaderDropped = "X-Tributary-Dropped"

	stripeUserAgent = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
	clientUserAgent = "tributary-loadgen/1"
)

// Request is one HTTP request for the Driver, relative to its base URL. Everything that depends on the
// moment of sending (the Stripe signature, the optional X-Forwarded-For and backfill headers) is left
// to the driver.
type Request struct {
	Kind        string
	Path        string // absolute path on the base URL, e.g. /api/event
	Body        []byte
	ContentType string
	UserAgent   string
	Bearer      string // Authorization: Bearer …
	// ClientIP is the visitor's address, sent as X-Forwarded-For when the driver forwards addresses.
	ClientIP string
	// At is the scenario time, sent as X-Tributary-Backfill-Time (browser events) when backfilling.
	At time.Time
	// StripeSecret, when set, makes the driver sign Body with it at send time.
	StripeSecret string
}

// Target is where a scenario goes: the site and its credentials on the server. Requests of a kind whose
// credentials are empty are left out.
type Target struct {
	SiteID           string `json:"site_id"`
	Domain           string `json:"domain,omitempty"`
	StripeEndpointID string `json:"stripe_endpoint_id,omitempty"`
	StripeSecret     string `json:"stripe_secret,omitempty"`
	APIKey           string `json:"api_key,omitempty"`
}

// eventBody is POST /api/event as the tracker sends it.
type eventBody struct {
	Site        string         `json:"site"`
	Name        string         `json:"name"`
	URL         string         `json:"url"`
	Referrer    string         `json:"referrer"`
	VisitorID   string         `json:"visitor_id"`
	SessionID   string         `json:"session_id"`
	Props       map[string]any `json:"props,omitempty"`
	ScreenWidth int            `json:"screen_width"`
	Identity    string         `json:"identity,omitempty"`
}

type item struct {
	at   time.Time
	kind uint8
	i, j int32
}

// Counts says how many requests of each kind Requests yields for a target.
func (s *Scenario) Counts(t Target) map[string]int {
	m := map[string]int{}
	if t.SiteID != "" {
		for i := range s.Visits {
			m[KindEvent] += len(s.Visits[i].Events)
		}
	}
	if t.StripeEndpointID != "" && t.StripeSecret != "" {
		m[KindStripe] = len(s.Webhooks)
	}
	if t.APIKey != "" {
		m[KindServer] = len(s.ServerEvents)
	}
	return m
}

// Requests yields the scenario's requests for t in scenario-time order: browser events, Stripe
// deliveries and server events interleaved as they happened. Bodies are encoded as they are yielded.
func (s *Scenario) Requests(t Target) iter.Seq[*Request] {
	return func(yield func(*Request) bool) {
		s.yieldRequests(s.timeline(t), t, yield)
	}
}

// timeline orders the scenario's requests for t by scenario time.
func (s *Scenario) timeline(t Target) []item {
	var items []item
	if t.SiteID != "" {
		for i := range s.Visits {
			for j := range s.Visits[i].Events {
				items = append(items, item{s.Visits[i].Events[j].At, 0, int32(i), int32(j)})
			}
		}
	}
	if t.StripeEndpointID != "" && t.StripeSecret != "" {
		for i := range s.Webhooks {
			items = append(items, item{s.Webhooks[i].At, 1, int32(i), 0})
		}
	}
	if t.APIKey != "" {
		for i := range s.ServerEvents {
			items = append(items, item{s.ServerEvents[i].At, 2, int32(i), 0})
		}
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].at.Before(items[b].at) })
	return items
}

func (s *Scenario) yieldRequests(items []item, t Target, yield func(*Request) bool) bool {
	for _, it := range items {
		var r *Request
		switch it.kind {
		case 0:
			v := &s.Visits[it.i]
			r = s.eventRequest(t.SiteID, v, &v.Events[it.j])
		case 1:
			w := &s.Webhooks[it.i]
			r = &Request{Kind: KindStripe, Path: PathStripeWebhook + t.StripeEndpointID, Body: w.Body,
				ContentType: "application/json; charset=utf-8", UserAgent: stripeUserAgent, At: w.At,
				StripeSecret: t.StripeSecret}
		default:
			e := &s.ServerEvents[it.i]
			r = &Request{Kind: KindServer, Path: PathServerEvents, Body: e.Body, ContentType: "application/json",
				UserAgent: clientUserAgent, Bearer: t.APIKey, At: e.At}
		}
		if !yield(r) {
			return false
		}
	}
	return true
}

// Loop yields the requests of first, then those of the scenarios of the following seeds, without end:
// long load runs keep meeting fresh visitors without one huge scenario in memory. The next scenario is
// generated while the current one is sent, so pacing does not stall. It stops when Generate fails.
func Loop(first *Scenario, t Target) iter.Seq[*Request] {
	type next struct {
		sc    *Scenario
		items []item
		err   error
	}
	prefetch := func(seed uint64) <-chan next {
		ch := make(chan next, 1)
		go func() {
			o := first.Options
			o.Seed = seed
			sc, err := Generate(o)
			if err != nil {
				ch <- next{err: err}
				return
			}
			ch <- next{sc: sc, items: sc.timeline(t)}
		}()
		return ch
	}
	return func(yield func(*Request) bool) {
		cur := next{sc: first, items: first.timeline(t)}
		for i := uint64(1); ; i++ {
			pending := prefetch(first.Options.Seed + i)
			if !cur.sc.yieldRequests(cur.items, t, yield) {
				return // the prefetch's buffered send lets it finish unread
			}
			if cur = <-pending; cur.err != nil {
				return
			}
		}
	}
}

func (s *Scenario) eventRequest(site string, v *Visit, e *Event) *Request {
	vis := &s.Visitors[v.Visitor]
	body, err := json.Marshal(eventBody{Site: site, Name: e.Name, URL: e.URL, Referrer: e.Referrer, VisitorID: vis.ID,
		SessionID: v.SessionID, Props: e.Props, ScreenWidth: vis.ScreenWidth, Identity: e.Identity})
	if err != nil {
		panic("loadgen: encode event: " + err.Error()) // strings, ints and bools only
	}
	// sendBeacon posts text/plain, which needs no CORS preflight; the tracker does the same.
	return &Request{Kind: KindEvent, Path: PathEvent, Body: body, ContentType: "text/plain;charset=UTF-8",
		UserAgent: vis.UserAgent, ClientIP: vis.IP, At: e.At}
}

// Package loadgen drives a running Tributary server over HTTP with realistic traffic: browser events,
// signed Stripe webhooks and server-to-server payments. A seeded Scenario describes the traffic as data
// (visitors, sessions, payments, subscriptions, refunds, a dispute) together with the results it must
// produce (Truth); a Driver sends any stream of requests at a paced rate to a loopback server and reports
// throughput and latency. `tributary loadgen` (Main), `tributary demo` and the benchmarks share it.
//
// Filling a site with history:
//
//	d, _ := loadgen.NewDriver(loadgen.DriverOptions{BaseURL: "http://127.0.0.1:8080", Forwarded: true, Backfill: true})
//	target, _ := d.Setup(ctx, adminToken, loadgen.SiteSpec{Domain: loadgen.DefaultDomain})
//	sc, _ := loadgen.Generate(loadgen.DefaultOptions())
//	report, _ := d.Run(ctx, sc.Requests(*target))
//	truth := sc.Truth() // what the server must now report
//
// The browser endpoint stamps events with the time it receives them, so history needs the server to
// honour X-Tributary-Backfill-Time (sent when DriverOptions.Backfill is set); Stripe events carry their
// own created time and server events their timestamp. Forwarded sends each visitor's public address as
// X-Forwarded-For, which the server believes only with --trusted-proxies=127.0.0.1.
package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// Defaults of Options.
const (
	DefaultDays         = 90
	DefaultPageviews    = 20000
	DefaultDomain       = "acme.example"
	DefaultLookbackDays = 30
	DefaultAPIShare     = 0.2
	// MaxPageviews bounds one scenario (it is held in memory); longer load runs loop over scenarios.
	MaxPageviews = 5_000_000
)

// DefaultNow is the end of the span when Options.Now is zero, so a seed alone reproduces a scenario.
var DefaultNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// Payment sources and kinds.
const (
	ViaStripe = "stripe"
	ViaAPI    = "api"

	KindOneTime            = "one_time"
	KindSubscriptionCreate = "subscription_create"
	KindSubscriptionCycle  = "subscription_cycle"
)

// Options sizes and seeds a scenario. Zero Days, Pageviews, Domain and LookbackDays take the defaults;
// APIShare is taken as given (0 sends every payment through Stripe); DefaultOptions fills it too.
type Options struct {
	Seed uint64 `json:"seed"`
	// Now ends the span; the scenario covers [Now−Days, Now). Zero means DefaultNow.
	Now       time.Time `json:"now"`
	Days      int       `json:"days"`
	Pageviews int       `json:"pageviews"` // generation stops once at least this many pageviews exist
	Domain    string    `json:"domain"`    // the site's domain: every page URL is on it
	Livemode  bool      `json:"livemode"`  // Stripe events' livemode; must match the endpoint's mode
	// APIShare is the fraction of one-time purchases reported through POST /api/v1/events instead of
	// Stripe; a few unattributed server-side sales are added when it is positive.
	APIShare float64 `json:"api_share"`
	// LookbackDays is the attribution window the ground truth is computed with.
	LookbackDays int `json:"lookback_days"`
}

// DefaultOptions returns the options of a default demo scenario.
func DefaultOptions() Options {
	return Options{Now: DefaultNow, Days: DefaultDays, Pageviews: DefaultPageviews, Domain: DefaultDomain,
		APIShare: DefaultAPIShare, LookbackDays: DefaultLookbackDays}
}

func (o *Options) normalize() error {
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Pageviews == 0 {
		o.Pageviews = DefaultPageviews
	}
	if o.LookbackDays == 0 {
		o.LookbackDays = DefaultLookbackDays
	}
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	d, err := tributary.NormalizeDomain(o.Domain)
	if err != nil {
		return err
	}
	o.Domain = d
	switch {
	case o.Days < 1 || o.Days > 3650:
		return tributary.FieldError("days", "days must be between 1 and 3650, got %d", o.Days)
	case o.Pageviews < 1 || o.Pageviews > MaxPageviews:
		return tributary.FieldError("pageviews", "pageviews must be between 1 and %d, got %d", MaxPageviews, o.Pageviews)
	case o.APIShare < 0 || o.APIShare > 1 || math.IsNaN(o.APIShare):
		return tributary.FieldError("api_share", "api_share must be between 0 and 1, got %v", o.APIShare)
	case o.LookbackDays < 1 || o.LookbackDays > 365:
		return tributary.FieldError("lookback_days", "lookback_days must be between 1 and 365, got %d", o.LookbackDays)
	}
	return nil
}

// Scenario is generated traffic as data. Visits are ordered by start; Webhooks and ServerEvents by the
// scenario time they are delivered at (with Stripe's shuffles and duplicates).
type Scenario struct {
	Options       Options         `json:"options"`
	Visitors      []Visitor       `json:"visitors"`
	Visits        []Visit         `json:"visits"`
	Payments      []Payment       `json:"payments"`
	Subscriptions []*Subscription `json:"subscriptions"`
	Webhooks      []Webhook       `json:"webhooks"`
	ServerEvents  []ServerEvent   `json:"server_events"`
}

// Visitor is one browser (device) with its network address.
type Visitor struct {
	ID          string `json:"id"`
	UserAgent   string `json:"user_agent"`
	Device      string `json:"device"`
	ScreenWidth int    `json:"screen_width"`
	Country     string `json:"country"`
	IP          string `json:"ip"` // a public address in Country, sent as X-Forwarded-For when enabled
	Email       string `json:"email,omitempty"`
}

// Visit is one session: Events in time order, the first a pageview of the landing page.
type Visit struct {
	Visitor   int       `json:"visitor"` // index into Scenario.Visitors
	SessionID string    `json:"session_id"`
	Start     time.Time `json:"start"`
	// Channel and Source are what the server should derive from the landing page and referrer.
	Channel string  `json:"channel"`
	Source  string  `json:"source"`
	Events  []Event `json:"events"`
}

// Pageviews counts the visit's pageviews.
func (v *Visit) Pageviews() int {
	n := 0
	for i := range v.Events {
		if v.Events[i].Name == tributary.PageviewName {
			n++
		}
	}
	return n
}

// Event is one browser event: a pageview, a custom event or an identify call.
type Event struct {
	At       time.Time      `json:"at"`
	Name     string         `json:"name"`
	URL      string         `json:"url"`
	Referrer string         `json:"referrer"`
	Props    map[string]any `json:"props,omitempty"` // string, int or bool values
	Identity string         `json:"identity,omitempty"`
}

// Payment is money in: a one-time purchase, a subscription's first invoice or a renewal.
type Payment struct {
	ID       string    `json:"id"` // the Stripe charge id, or the server event's event_id
	Via      string    `json:"via"`
	Kind     string    `json:"kind"`
	At       time.Time `json:"at"`
	Amount   int64     `json:"amount"` // minor units
	Currency string    `json:"currency"`
	Plan     string    `json:"plan"`
	// Visitor is the index of the paying visitor, −1 for a sale with no visitor (unattributed).
	Visitor   int    `json:"visitor"`
	SessionID string `json:"session_id,omitempty"` // the checkout session; empty for renewals
	// Person groups the visitors whose sessions are touchpoints: the identify e-mail, or the visitor id.
	Person     string `json:"person,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	Email      string `json:"email,omitempty"`
	// Link is the strongest linking key the payment carries (tributary.Link*).
	Link           string   `json:"link"`
	SubscriptionID string   `json:"subscription_id,omitempty"`
	Refunds        []Refund `json:"refunds,omitempty"`
	Dispute        *Dispute `json:"dispute,omitempty"`
	// Channel is the synthetic session's channel of an unattributed payment.
	Channel string `json:"channel,omitempty"`
	// UTM and referrer fields an unattributed server-side sale carries.
	Referrer    string `json:"referrer,omitempty"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`

	stripe stripeIDs
}

// Refunded sums the payment's refunds.
func (p *Payment) Refunded() int64 {
	var n int64
	for _, r := range p.Refunds {
		n += r.Amount
	}
	return n
}

// Disputed is the amount a dispute withdrew (0 without one).
func (p *Payment) Disputed() int64 {
	if p.Dispute == nil {
		return 0
	}
	return p.Dispute.Amount
}

// Refund is money given back on a payment.
type Refund struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Amount int64     `json:"amount"`
}

// Dispute is a chargeback: funds are withdrawn at At; Status is "lost" once ClosedAt has passed.
type Dispute struct {
	ID       string    `json:"id"`
	At       time.Time `json:"at"`
	ClosedAt time.Time `json:"closed_at,omitempty"`
	Amount   int64     `json:"amount"`
	Status   string    `json:"status"`
}

// Subscription is one Stripe subscription's life in the scenario.
type Subscription struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	Visitor    int       `json:"visitor"`
	SessionID  string    `json:"session_id"`
	Email      string    `json:"email"`
	Currency   string    `json:"currency"`
	Interval   string    `json:"interval"`
	Start      time.Time `json:"start"`
	// Metadata tells whether the subscription's metadata carries the tracker ids (checkout's
	// subscription_data.metadata); without it only client_reference_id linked the first payment.
	Metadata bool `json:"metadata"`
	// Periods lists the billing periods, each with its plan; a change of plan takes effect at a period
	// boundary.
	Periods []Period `json:"periods"`
	// Changes are upgrades and downgrades, announced by customer.subscription.updated at At.
	Changes []PlanChange `json:"changes,omitempty"`
	// CancelRequested is when cancel_at_period_end was set; Ended when the subscription ended.
	CancelRequested time.Time `json:"cancel_requested,omitzero"`
	Ended           time.Time `json:"ended,omitzero"`

	itemID string
}

// Period is one paid billing period.
type Period struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Plan    string    `json:"plan"`
	Payment string    `json:"payment"` // the charge id of its invoice
}

// PlanChange is an upgrade or downgrade.
type PlanChange struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	To   string    `json:"to"`
}

// Webhook is one Stripe delivery: Body is the unsigned event; the driver signs it when it sends.
type Webhook struct {
	At        time.Time `json:"at"` // scenario time of the delivery
	EventID   string    `json:"event_id"`
	Type      string    `json:"type"`
	Duplicate bool      `json:"duplicate,omitempty"` // a redelivery of an event already sent
	Body      []byte    `json:"-"`
}

// ServerEvent is one POST /api/v1/events body.
type ServerEvent struct {
	At        time.Time `json:"at"`
	EventID   string    `json:"event_id"`
	Duplicate bool      `json:"duplicate,omitempty"` // a client retry of an event already sent
	Body      []byte    `json:"-"`
}

// stripeIDs are the Stripe objects behind one payment.
type stripeIDs struct {
	session, intent, charge, txn, invoice string
}

// gen holds the state of one generation; every random draw goes through rng in a fixed order.
type gen struct {
	rng       *rand.Rand
	opt       Options
	from, now time.Time
	dayCum    []float64
	uas       []uaProfile
	mobile    []int
	sc        *Scenario
	pageviews int
	cur       time.Time // time of the arrival being built, for campaign names
	customers map[string]string
	subs      []*Subscription
}

// Generate builds the scenario of opt. The same options always give the same scenario.
func Generate(opt Options) (*Scenario, error) {
	if err := opt.normalize(); err != nil {
		return nil, fmt.Errorf("loadgen: generate: %w", err)
	}
	uas, mobile, err := loadUAs()
	if err != nil {
		return nil, err
	}
	g := &gen{
		rng:       rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9E3779B97F4A7C15)),
		opt:       opt,
		now:       opt.Now,
		from:      opt.Now.AddDate(0, 0, -opt.Days),
		uas:       uas,
		mobile:    mobile,
		sc:        &Scenario{Options: opt},
		customers: map[string]string{},
	}
	g.initDays()
	if opt.Days >= 3 {
		g.addBHDBuyer()
	}
	for g.pageviews < opt.Pageviews {
		g.addVisitor()
	}
	if opt.APIShare > 0 {
		g.addUnattributedSales()
	}
	sort.SliceStable(g.sc.Visits, func(i, j int) bool { return g.sc.Visits[i].Start.Before(g.sc.Visits[j].Start) })
	sort.SliceStable(g.sc.Payments, func(i, j int) bool { return g.sc.Payments[i].At.Before(g.sc.Payments[j].At) })
	g.addRefundsAndDispute()
	g.sc.Subscriptions = g.subs
	g.buildWebhooks()
	g.buildServerEvents()
	return g.sc, nil
}

// initDays weights the days of the span: traffic grows towards Now and dips at weekends.
func (g *gen) initDays() {
	g.dayCum = make([]float64, g.opt.Days)
	sum := 0.0
	for d := range g.dayCum {
		w := 1 + 0.6*float64(d)/float64(g.opt.Days)
		if wd := g.from.AddDate(0, 0, d).Weekday(); wd == time.Saturday || wd == time.Sunday {
			w *= 0.7
		}
		sum += w
		g.dayCum[d] = sum
	}
}

// Hour-of-day weights (UTC): Europe's afternoon overlaps America's morning.
var hourWeights = []float64{2, 1.5, 1, 1, 1, 1.5, 2, 3, 4, 5, 5.5, 6, 6.5, 7, 8, 8.5, 8.5, 8, 7, 6, 5, 4, 3, 2.5}

var hourCum = func() []float64 {
	c := make([]float64, len(hourWeights))
	s := 0.0
	for i, w := range hourWeights {
		s += w
		c[i] = s
	}
	return c
}()

func searchCum(cum []float64, x float64) int {
	i := sort.SearchFloat64s(cum, x)
	if i >= len(cum) {
		i = len(cum) - 1
	}
	return i
}

// randomStart draws a first-visit time, leaving two hours before Now for the visit to finish.
func (g *gen) randomStart() time.Time {
	for {
		d := searchCum(g.dayCum, g.rng.Float64()*g.dayCum[len(g.dayCum)-1])
		h := searchCum(hourCum, g.rng.Float64()*hourCum[len(hourCum)-1])
		t := g.from.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(g.rng.Int64N(int64(time.Hour))))
		t = t.Truncate(time.Millisecond)
		if t.Before(g.latest()) {
			return t
		}
	}
}

// latest is the last moment a visit may start.
func (g *gen) latest() time.Time { return g.now.Add(-2 * time.Hour) }

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// id returns n random letters and digits, like the tracker's ids.
func (g *gen) id(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idChars[g.rng.IntN(len(idChars))]
	}
	return string(b)
}

func (g *gen) hex(n int) string {
	const h = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *gen) uuid() string {
	s := g.hex(32)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

// between draws a duration in [lo, hi), to the millisecond.
func (g *gen) between(lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(g.rng.Int64N(int64(hi-lo)))).Truncate(time.Millisecond)
}

func (g *gen) days(lo, hi float64) time.Duration {
	return g.between(time.Duration(lo*24*float64(time.Hour)), time.Duration(hi*24*float64(time.Hour)))
}

func (g *gen) pickSpec() int {
	total := 0
	for _, s := range channelSpecs {
		total += s.weight
	}
	x := g.rng.IntN(total)
	for i, s := range channelSpecs {
		if x < s.weight {
			return i
		}
		x -= s.weight
	}
	return specDirect
}

func (g *gen) pickCountry() int {
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	x := g.rng.IntN(total)
	for i, c := range countries {
		if x < c.weight {
			return i
		}
		x -= c.weight
	}
	return 0
}

// newVisitor adds a browser in the country; mobileOnly picks a phone (a second device).
func (g *gen) newVisitor(ci int, mobileOnly bool) int {
	var p uaProfile
	if mobileOnly && len(g.mobile) > 0 {
		p = g.uas[g.mobile[g.rng.IntN(len(g.mobile))]]
	} else {
		p = g.uas[g.rng.IntN(len(g.uas))]
	}
	c := countries[ci]
	pre := c.prefixes[g.rng.IntN(len(c.prefixes))]
	ip := fmt.Sprintf("%d.%d.%d.%d", pre[0], pre[1], g.rng.IntN(256), 1+g.rng.IntN(254))
	g.sc.Visitors = append(g.sc.Visitors, Visitor{ID: g.id(20), UserAgent: p.UA, Device: p.Device,
		ScreenWidth: p.ScreenWidth, Country: c.code, IP: ip})
	return len(g.sc.Visitors) - 1
}

func (g *gen) email() string {
	return fmt.Sprintf("%s.%s%d@%s", g.pick(firstNames), g.pick(lastNames), g.rng.IntN(1000), g.pick(emailDomains))
}

// purchase is what a buying visitor will buy, decided before the checkout visit is built.
type purchase struct {
	plan     *plan
	currency string
	via      string
	link     string
	discount bool
	at       time.Time // filled by the checkout visit
	session  string
}

// visitorPlan is one visitor's whole story before it is turned into visits and payments.
type visitorPlan struct {
	country   int
	spec      int
	times     []time.Time
	signupIdx int // -1: never signs up
	buyIdx    int // -1: never buys
	buy       *purchase
}

func (g *gen) addVisitor() {
	ci := g.pickCountry()
	vp := visitorPlan{country: ci, spec: g.pickSpec(), signupIdx: -1, buyIdx: -1}
	n := 1
	for n < 7 && g.chance(0.35) {
		n++
	}
	signup := g.chance(0.045 * channelSpecs[vp.spec].convert)
	buy := signup && g.chance(0.45)
	if signup {
		n += 1 + g.rng.IntN(3)
	}
	t := g.randomStart()
	for i := 0; i < n && t.Before(g.latest()); i++ {
		vp.times = append(vp.times, t)
		t = t.Add(40*time.Minute + time.Duration(g.rng.ExpFloat64()*3.5*24*float64(time.Hour))).Truncate(time.Millisecond)
	}
	n = len(vp.times)
	if signup {
		if !g.chance(0.5) {
			vp.signupIdx = g.rng.IntN(n)
		} else {
			vp.signupIdx = 0
		}
	}
	if buy {
		vp.buyIdx = vp.signupIdx
		if vp.signupIdx < n-1 && !g.chance(0.45) {
			vp.buyIdx = vp.signupIdx + 1 + g.rng.IntN(n-1-vp.signupIdx)
		}
		vp.buy = g.choosePurchase(countries[ci].currency)
	}
	g.realize(vp, g.chance(0.12))
}

// choosePurchase picks a plan: one-time products (some through the server-to-server API) or a monthly
// or yearly subscription.
func (g *gen) choosePurchase(currency string) *purchase {
	p := &purchase{currency: currency, via: ViaStripe}
	if g.chance(0.35) {
		p.plan = plans["templates"]
		if g.chance(0.3) {
			p.plan = plans["lifetime"]
		}
		p.discount = g.chance(0.1)
		if g.chance(g.opt.APIShare) {
			p.via = ViaAPI
			p.link = tributary.LinkMetadata
			if g.chance(0.2) {
				p.link = tributary.LinkEmail
			}
			return p
		}
		switch x := g.rng.Float64(); {
		case x < 0.55:
			p.link = tributary.LinkClientReferenceID
		case x < 0.85:
			p.link = tributary.LinkMetadata
		default:
			p.link = tributary.LinkEmail
		}
		return p
	}
	key := "pro_"
	if g.chance(0.25) {
		key = "business_"
	}
	if g.chance(0.25) {
		key += "year"
	} else {
		key += "month"
	}
	p.plan = plans[key]
	p.link = tributary.LinkClientReferenceID
	if g.chance(0.4) {
		p.link = tributary.LinkMetadata
	}
	return p
}

// realize turns a visitor plan into visits and payments. secondDevice adds a phone that met the product
// first and identifies with the same e-mail, so the person's journey spans two visitor ids.
func (g *gen) realize(vp visitorPlan, secondDevice bool) {
	vi := g.newVisitor(vp.country, false)
	email := ""
	if vp.signupIdx >= 0 {
		email = g.email()
		g.sc.Visitors[vi].Email = email
	}
	if vp.buy != nil && secondDevice && len(vp.times) > 0 {
		first := vp.times[0].Add(-g.days(1, 10))
		if first.After(g.from) {
			mi := g.newVisitor(vp.country, true)
			g.sc.Visitors[mi].Email = email
			spec := specSecondDevice[g.rng.IntN(len(specSecondDevice))]
			g.buildVisit(mi, visitSpec{spec: spec, start: first, identify: email})
			if second := first.Add(g.days(0.5, 3)); second.Before(vp.times[0]) && g.chance(0.5) {
				g.buildVisit(mi, visitSpec{spec: spec, start: second, returning: true})
			}
		}
	}
	for i, t := range vp.times {
		spec := vp.spec
		if i > 0 {
			spec = g.returnSpec(vp.spec)
		}
		vs := visitSpec{spec: spec, start: t, returning: i > 0, signup: i == vp.signupIdx, email: email}
		if i == vp.buyIdx {
			vs.buy = vp.buy
		}
		g.buildVisit(vi, vs)
	}
	if vp.buy != nil && vp.buyIdx >= 0 {
		g.pay(vi, email, vp.buy)
	}
}

// returnSpec is how a visitor comes back: mostly typing the address, sometimes the same way again.
func (g *gen) returnSpec(first int) int {
	switch x := g.rng.Float64(); {
	case x < 0.55:
		return specDirect
	case x < 0.75:
		return first
	default:
		return g.pickSpec()
	}
}

type visitSpec struct {
	spec      int
	start     time.Time
	returning bool
	signup    bool
	email     string
	buy       *purchase
	customer  bool   // a paying customer opening the app
	identify  string // identify early in the visit (a second device logging in)
}

func (g *gen) pageURL(path, query string) string {
	u := "https://" + g.opt.Domain + path
	if query != "" {
		u += "?" + query
	}
	return u
}

// buildVisit appends one session of visitor vi.
func (g *gen) buildVisit(vi int, vs visitSpec) {
	g.cur = vs.start
	spec := &channelSpecs[vs.spec]
	v := Visit{Visitor: vi, SessionID: g.id(20), Start: vs.start, Channel: spec.channel, Source: spec.source}
	ref := ""
	if len(spec.referrers) > 0 {
		ref = g.pick(spec.referrers)
		if ref == "https://t.co/" {
			ref += g.id(10)
		}
	}
	query := ""
	if spec.query != nil {
		query = spec.query(g)
	}
	var pages []string
	switch {
	case vs.customer && vs.spec == specNewsletter:
		pages = []string{"/changelog", "/login", "/app"}
	case vs.customer:
		pages = []string{"/login", "/app"}
		if g.chance(0.3) {
			pages = append(pages, "/account/billing")
		}
		if g.chance(0.3) {
			pages = append(pages, "/docs")
		}
	default:
		pages = []string{g.pick(spec.landings)}
		bounce := 0.45
		if vs.returning {
			bounce = 0.35
		}
		converting := vs.signup || vs.buy != nil
		if converting || !g.chance(bounce) {
			k := 1
			if converting {
				k = g.rng.IntN(3)
			}
			for k < 9 && g.chance(0.5) {
				k++
			}
			for range k {
				pages = append(pages, g.nextPage(pages[len(pages)-1]))
			}
		}
		if converting && pages[len(pages)-1] != "/pricing" {
			pages = append(pages, "/pricing")
		}
	}
	t := vs.start
	prev := ref
	add := func(e Event) {
		v.Events = append(v.Events, e)
	}
	dwell := func() { t = t.Add(g.between(8*time.Second, 150*time.Second)) }
	small := func() { t = t.Add(g.between(time.Second, 20*time.Second)) }
	for i, p := range pages {
		u := g.pageURL(p, "")
		if i == 0 {
			u = g.pageURL(p, query)
		}
		add(Event{At: t, Name: tributary.PageviewName, URL: u, Referrer: prev})
		if i == 0 && vs.identify != "" {
			t = t.Add(g.between(20*time.Second, 90*time.Second))
			add(Event{At: t, Name: "identify", URL: u, Referrer: prev, Identity: vs.identify})
		}
		if p == "/features" && g.chance(0.2) {
			small()
			add(Event{At: t, Name: "video_play", URL: u, Referrer: prev,
				Props: map[string]any{"video": "demo", "seconds": 5 + g.rng.IntN(175), "autoplay": false}})
		}
		if len(pages) > 1 && g.chance(0.08) {
			small()
			add(Event{At: t, Name: "cta_click", URL: u, Referrer: prev,
				Props: map[string]any{"location": g.pick([]string{"hero", "pricing_table", "footer", "nav"})}})
		}
		prev = u
		dwell()
	}
	if vs.signup {
		u := g.pageURL("/signup", "")
		add(Event{At: t, Name: tributary.PageviewName, URL: u, Referrer: prev})
		t = t.Add(g.between(20*time.Second, 120*time.Second))
		add(Event{At: t, Name: "signup", URL: u, Referrer: prev,
			Props: map[string]any{"plan": "free", "method": g.pick([]string{"email", "google", "github"})}})
		t = t.Add(g.between(time.Second, 3*time.Second))
		add(Event{At: t, Name: "identify", URL: u, Referrer: prev, Identity: vs.email})
		prev = u
		dwell()
		u = g.pageURL("/welcome", "")
		add(Event{At: t, Name: tributary.PageviewName, URL: u, Referrer: prev})
		prev = u
		dwell()
		if vs.buy != nil {
			u = g.pageURL("/pricing", "")
			add(Event{At: t, Name: tributary.PageviewName, URL: u, Referrer: prev})
			prev = u
			dwell()
		}
	}
	if b := vs.buy; b != nil {
		small()
		add(Event{At: t, Name: "checkout_started", URL: prev, Referrer: v.Events[len(v.Events)-1].Referrer,
			Props: map[string]any{"plan": b.plan.key, "currency": strings.ToLower(b.currency)}})
		t = t.Add(g.between(40*time.Second, 240*time.Second))
		b.at, b.session = t, v.SessionID
		t = t.Add(g.between(2*time.Second, 8*time.Second))
		u := g.pageURL("/checkout/success", "")
		// Coming back from checkout.stripe.com: the referrer is Stripe's, as browsers report it.
		add(Event{At: t, Name: tributary.PageviewName, URL: u, Referrer: "https://checkout.stripe.com/"})
		small()
		add(Event{At: t, Name: "checkout_completed", URL: u, Referrer: "https://checkout.stripe.com/",
			Props: map[string]any{"plan": b.plan.key}})
	}
	g.pageviews += v.Pageviews()
	g.sc.Visits = append(g.sc.Visits, v)
}

func (g *gen) nextPage(cur string) string {
	total := 0
	for _, p := range navPages {
		total += p.weight
	}
	for {
		x := g.rng.IntN(total)
		for _, p := range navPages {
			if x < p.weight {
				if p.path != cur {
					return p.path
				}
				break
			}
			x -= p.weight
		}
	}
}

// customer returns the Stripe (or backend) customer id of a person, creating it on first use.
func (g *gen) customer(person, via string) string {
	key := via + "|" + person
	if c, ok := g.customers[key]; ok {
		return c
	}
	c := "cus_" + g.id(14)
	if via == ViaAPI {
		c = fmt.Sprintf("user_%08d", g.rng.IntN(100_000_000))
	}
	g.customers[key] = c
	return c
}

func (g *gen) newStripeIDs(invoice bool) stripeIDs {
	ids := stripeIDs{intent: "pi_3" + g.id(23), charge: "ch_3" + g.id(23), txn: "txn_3" + g.id(23)}
	if invoice {
		ids.invoice = "in_1" + g.id(23)
	}
	return ids
}

func (g *gen) sessionPrefix() string {
	if g.opt.Livemode {
		return "cs_live_a1"
	}
	return "cs_test_a1"
}

// pay records the purchase of visitor vi and, for a subscription, its renewals, plan changes,
// cancellation and the customer's later visits.
func (g *gen) pay(vi int, email string, b *purchase) {
	person := strings.ToLower(email)
	if person == "" {
		person = g.sc.Visitors[vi].ID
	}
	amount := b.plan.amounts[b.currency]
	if b.discount {
		amount = amount * 80 / 100
	}
	p := Payment{Via: b.via, At: b.at, Amount: amount, Currency: b.currency, Plan: b.plan.key, Visitor: vi,
		SessionID: b.session, Person: person, Email: email, Link: b.link, CustomerID: g.customer(person, b.via)}
	if b.plan.interval == "" {
		p.Kind = KindOneTime
		if b.via == ViaAPI {
			p.ID = "ord_" + g.id(16)
		} else {
			p.stripe = g.newStripeIDs(false)
			p.stripe.session = g.sessionPrefix() + g.id(40)
			p.ID = p.stripe.charge
		}
		g.sc.Payments = append(g.sc.Payments, p)
		return
	}
	s := &Subscription{ID: "sub_1" + g.id(23), itemID: "si_" + g.id(14), CustomerID: p.CustomerID, Visitor: vi,
		SessionID: b.session, Email: email, Currency: b.currency, Interval: b.plan.interval, Start: b.at,
		Metadata: b.link == tributary.LinkMetadata}
	g.subs = append(g.subs, s)
	p.Kind = KindSubscriptionCreate
	p.SubscriptionID = s.ID
	p.stripe = g.newStripeIDs(true)
	p.stripe.session = g.sessionPrefix() + g.id(40)
	p.ID = p.stripe.charge
	g.sc.Payments = append(g.sc.Payments, p)

	next := func(k int) time.Time {
		if s.Interval == "year" {
			return s.Start.AddDate(k, 0, 0)
		}
		return s.Start.AddDate(0, k, 0)
	}
	cur := b.plan
	s.Periods = append(s.Periods, Period{Start: s.Start, End: next(1), Plan: cur.key, Payment: p.ID})
	cancelAt := -1 // the period during which the customer cancels
	if g.chance(0.15) {
		cancelAt = g.rng.IntN(2)
	}
	changed := false
	for k := 1; ; k++ {
		periodStart := next(k - 1)
		end := next(k)
		if k-1 == cancelAt {
			req := periodStart.Add(g.days(1, 20))
			if !req.Before(end) || !req.Before(g.now) {
				break
			}
			s.CancelRequested = req
			if end.Before(g.now) {
				s.Ended = end
			}
			break
		}
		if !end.Before(g.now.Add(-time.Hour)) {
			break
		}
		// Upgrades and downgrades of monthly plans take effect at the next renewal.
		if s.Interval == "month" && !changed {
			var to *plan
			switch {
			case cur.key == "pro_month" && g.chance(0.12):
				to = plans["business_month"]
			case cur.key == "business_month" && g.chance(0.15):
				to = plans["pro_month"]
			}
			if to != nil {
				at := end.Add(-g.days(1, 10))
				if at.After(periodStart) {
					s.Changes = append(s.Changes, PlanChange{At: at, From: cur.key, To: to.key})
					cur, changed = to, true
				}
			}
		}
		// Renewal invoices carry the subscription's metadata when checkout put the tracker ids there;
		// otherwise only the customer, linked by the first payment, ties them to the visitor.
		link := tributary.LinkCustomer
		if s.Metadata {
			link = tributary.LinkMetadata
		}
		r := Payment{Via: ViaStripe, Kind: KindSubscriptionCycle, At: end.Add(g.between(time.Minute, 2*time.Hour)),
			Amount: cur.amounts[s.Currency], Currency: s.Currency, Plan: cur.key, Visitor: vi, Person: person,
			CustomerID: s.CustomerID, Email: email, Link: link, SubscriptionID: s.ID}
		r.stripe = g.newStripeIDs(true)
		r.ID = r.stripe.charge
		g.sc.Payments = append(g.sc.Payments, r)
		s.Periods = append(s.Periods, Period{Start: end, End: next(k + 1), Plan: cur.key, Payment: r.ID})
	}
	// A paying customer keeps coming back to the app, every few days, until the subscription ends.
	until := g.latest()
	if !s.Ended.IsZero() && s.Ended.Before(until) {
		until = s.Ended
	}
	for t := s.Start.Add(g.days(2, 9)); t.Before(until); t = t.Add(g.days(2, 9)) {
		spec := specDirect
		if g.chance(0.2) {
			spec = specNewsletter
		}
		g.buildVisit(vi, visitSpec{spec: spec, start: t, returning: true, customer: true})
	}
}

// addBHDBuyer adds the scenario's one payment in a three-decimal currency: a visitor from Bahrain who
// finds the product through ChatGPT, signs up and buys the lifetime licence in BHD a few days later.
func (g *gen) addBHDBuyer() {
	t0 := g.from.Add(g.now.Sub(g.from) * 2 / 5).Add(13 * time.Hour).Truncate(time.Hour)
	t1 := t0.Add(50 * time.Hour)
	vp := visitorPlan{country: countryBH, spec: specChatGPT, times: []time.Time{t0, t1}, signupIdx: 0, buyIdx: 1,
		buy: &purchase{plan: plans["lifetime"], currency: "BHD", via: ViaStripe, link: tributary.LinkMetadata}}
	g.realize(vp, false)
}

// addUnattributedSales adds server-side sales no visitor can be linked to (phone orders, invoices), one
// per forty payments: some carry campaign fields, which give their synthetic session a channel.
func (g *gen) addUnattributedSales() {
	n := len(g.sc.Payments)/40 + 1
	kinds := []struct {
		channel, referrer, source, medium, campaign string
	}{
		{chDirect, "", "", "", ""},
		{chAffiliates, "", "partner_jane", "affiliate", "reseller"},
		{chOrganicSearch, "https://www.google.com/", "", "", ""},
	}
	for i := range n {
		k := kinds[i%len(kinds)]
		cur := countries[g.pickCountry()].currency
		pl := plans["lifetime"]
		g.sc.Payments = append(g.sc.Payments, Payment{ID: "ord_" + g.id(16), Via: ViaAPI, Kind: KindOneTime,
			At: g.randomStart(), Amount: pl.amounts[cur], Currency: cur, Plan: pl.key, Visitor: -1,
			Link: tributary.LinkUnattributed, Channel: k.channel, Referrer: k.referrer, UTMSource: k.source,
			UTMMedium: k.medium, UTMCampaign: k.campaign})
	}
}

// addRefundsAndDispute refunds some one-time Stripe payments (the first in full, the second in part,
// then either) and puts one dispute, lost, on another.
func (g *gen) addRefundsAndDispute() {
	var eligible []int
	for i := range g.sc.Payments {
		p := &g.sc.Payments[i]
		if p.Via == ViaStripe && p.Kind == KindOneTime && p.At.Add(25*24*time.Hour).Before(g.now) {
			eligible = append(eligible, i)
		}
	}
	var chosen, rest []int
	for _, i := range eligible {
		switch {
		case g.sc.Payments[i].Currency == "BHD": // the one three-decimal payment stays whole
		case g.chance(0.1):
			chosen = append(chosen, i)
		default:
			rest = append(rest, i)
		}
	}
	// Every scenario large enough shows a full and a partial refund, and keeps a payment to dispute.
	for len(chosen) < 2 && len(rest) > 1 {
		k := g.rng.IntN(len(rest))
		chosen = append(chosen, rest[k])
		rest = append(rest[:k], rest[k+1:]...)
	}
	sort.Ints(chosen)
	for n, i := range chosen {
		p := &g.sc.Payments[i]
		full := n == 0 || (n > 1 && g.chance(0.6))
		amount := p.Amount
		if !full {
			amount = p.Amount * 30 / 100
		}
		p.Refunds = append(p.Refunds, Refund{ID: "re_3" + g.id(23), At: p.At.Add(g.days(1, 14)), Amount: amount})
	}
	if len(rest) > 0 {
		p := &g.sc.Payments[rest[g.rng.IntN(len(rest))]]
		at := p.At.Add(g.days(3, 10))
		d := &Dispute{ID: "dp_1" + g.id(23), At: at, Amount: p.Amount, Status: "needs_response"}
		if closed := at.Add(14 * 24 * time.Hour); closed.Before(g.now) {
			d.ClosedAt, d.Status = closed, "lost"
		}
		p.Dispute = d
	}
}

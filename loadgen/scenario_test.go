package loadgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/geo"
	"github.com/tributary/tributary/referrer"
	"github.com/tributary/tributary/ua"
)

var fixedNow = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)

var (
	defaultOnce sync.Once
	defaultSc   *Scenario
)

// defaultScenario is the default demo scenario at a fixed clock, generated once for the read-only tests.
func defaultScenario(t testing.TB) *Scenario {
	t.Helper()
	defaultOnce.Do(func() {
		o := DefaultOptions()
		o.Seed, o.Now = 7, fixedNow
		sc, err := Generate(o)
		if err != nil {
			panic(err)
		}
		defaultSc = sc
	})
	return defaultSc
}

var fullTarget = Target{SiteID: "site1", StripeEndpointID: "ep1", StripeSecret: "whsec_x", APIKey: "trk_key"}

// fingerprint hashes everything a scenario puts on the wire plus its truth.
func fingerprint(t *testing.T, sc *Scenario) [32]byte {
	t.Helper()
	h := sha256.New()
	for r := range sc.Requests(fullTarget) {
		h.Write([]byte(r.Kind + r.Path + r.At.String() + r.UserAgent + r.ClientIP))
		h.Write(r.Body)
	}
	if err := sc.Truth().WriteJSON(h); err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	gen := func(seed uint64) *Scenario {
		o := DefaultOptions()
		o.Seed, o.Now, o.Pageviews = seed, fixedNow, 3000
		sc, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	a, b, c := fingerprint(t, gen(42)), fingerprint(t, gen(42)), fingerprint(t, gen(43))
	if a != b {
		t.Error("the same seed gave two different scenarios")
	}
	if a == c {
		t.Error("different seeds gave the same scenario")
	}
}

func TestGenerateOptions(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Options)
		field string // "" = valid
	}{
		{"defaults", func(o *Options) {}, ""},
		{"zero values take defaults", func(o *Options) { *o = Options{} }, ""},
		{"negative days", func(o *Options) { o.Days = -1 }, "days"},
		{"too many pageviews", func(o *Options) { o.Pageviews = MaxPageviews + 1 }, "pageviews"},
		{"api share above 1", func(o *Options) { o.APIShare = 1.5 }, "api_share"},
		{"bad domain", func(o *Options) { o.Domain = "not a domain" }, "domain"},
		{"lookback too long", func(o *Options) { o.LookbackDays = 400 }, "lookback_days"},
		{"domain normalised", func(o *Options) { o.Domain = "https://WWW.Shop.Example/path" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Pageviews = 200
			tc.edit(&o)
			sc, err := Generate(o)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				if sc.Options.Domain == "" || sc.Options.Now.IsZero() || sc.Options.Days == 0 {
					t.Errorf("defaults not applied: %+v", sc.Options)
				}
				return
			}
			if tributary.ErrorCode(err) != tributary.EINVALID || tributary.ErrorField(err) != tc.field {
				t.Fatalf("err = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

var id20 = regexp.MustCompile(`^[A-Za-z0-9]{20}$`)

func TestScenarioShape(t *testing.T) {
	sc := defaultScenario(t)
	o := sc.Options
	from := o.Now.AddDate(0, 0, -o.Days)
	ids := map[string]bool{}
	for _, v := range sc.Visitors {
		if !id20.MatchString(v.ID) || ids[v.ID] {
			t.Fatalf("visitor id %q is malformed or repeated", v.ID)
		}
		ids[v.ID] = true
	}
	pageviews := 0
	for _, v := range sc.Visits {
		if !id20.MatchString(v.SessionID) || ids[v.SessionID] {
			t.Fatalf("session id %q is malformed or repeated", v.SessionID)
		}
		ids[v.SessionID] = true
		if len(v.Events) == 0 || v.Events[0].Name != tributary.PageviewName || !v.Events[0].At.Equal(v.Start) {
			t.Fatalf("visit %s does not start with its landing pageview", v.SessionID)
		}
		for i, e := range v.Events {
			if i > 0 && e.At.Before(v.Events[i-1].At) {
				t.Fatalf("visit %s: events out of order", v.SessionID)
			}
			if e.At.Before(from) || !e.At.Before(o.Now) {
				t.Fatalf("event at %v outside the span [%v, %v)", e.At, from, o.Now)
			}
			u, err := url.Parse(e.URL)
			if err != nil || u.Host != o.Domain || u.Scheme != "https" {
				t.Fatalf("event URL %q is not on %s", e.URL, o.Domain)
			}
			if e.Name == "identify" && !strings.Contains(e.Identity, "@") {
				t.Fatalf("identify without an e-mail: %+v", e)
			}
		}
		pageviews += v.Pageviews()
	}
	if pageviews < o.Pageviews {
		t.Errorf("pageviews = %d, want at least %d", pageviews, o.Pageviews)
	}

	// The landing URLs carry every campaign parameter the server reads.
	params := map[string]bool{}
	for _, v := range sc.Visits {
		u, _ := url.Parse(v.Events[0].URL)
		for k := range u.Query() {
			params[k] = true
		}
	}
	for _, k := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid",
		"msclkid", "ttclid", "twclid", "li_fat_id", "ref", "via"} {
		if !params[k] {
			t.Errorf("no landing page carries %s", k)
		}
	}
	if !params["gbraid"] && !params["wbraid"] {
		t.Error("no landing page carries gbraid or wbraid")
	}

	// Money: every currency, exactly one BHD payment, refunds full and partial, one lost dispute.
	currencies := map[string]int{}
	full, partial, disputes := 0, 0, 0
	for _, p := range sc.Payments {
		currencies[p.Currency]++
		for _, r := range p.Refunds {
			if r.Amount == p.Amount {
				full++
			} else if r.Amount > 0 && r.Amount < p.Amount {
				partial++
			}
		}
		if p.Dispute != nil {
			disputes++
			if p.Dispute.Status != "lost" || p.Dispute.ClosedAt.IsZero() {
				t.Errorf("dispute %+v is not closed as lost", p.Dispute)
			}
		}
		if p.At.Before(from) || !p.At.Before(o.Now) {
			t.Errorf("payment %s at %v outside the span", p.ID, p.At)
		}
	}
	for _, c := range []string{"USD", "EUR", "GBP", "JPY"} {
		if currencies[c] == 0 {
			t.Errorf("no payment in %s", c)
		}
	}
	if currencies["BHD"] != 1 || len(currencies) != 5 {
		t.Errorf("currencies = %v, want USD, EUR, GBP, JPY and one BHD", currencies)
	}
	if full == 0 || partial == 0 || disputes != 1 {
		t.Errorf("full refunds %d, partial %d, disputes %d; want ≥1, ≥1, 1", full, partial, disputes)
	}
	tr := sc.Truth()
	for _, k := range []string{KindOneTime, KindSubscriptionCreate, KindSubscriptionCycle} {
		if tr.PaymentsByKind[k] == 0 {
			t.Errorf("no payment of kind %s", k)
		}
	}
	for _, l := range []string{tributary.LinkMetadata, tributary.LinkClientReferenceID, tributary.LinkCustomer,
		tributary.LinkEmail, tributary.LinkUnattributed} {
		if tr.PaymentsByLink[l] == 0 {
			t.Errorf("no payment linked by %s", l)
		}
	}
	if s := tr.Subscriptions; s.Upgrades+s.Downgrades == 0 || s.Renewals == 0 || s.Canceled == 0 {
		t.Errorf("subscriptions %+v: want plan changes, renewals and a cancellation", s)
	}
	if tr.PaymentsByVia[ViaAPI] == 0 || tr.PaymentsByVia[ViaStripe] == 0 {
		t.Errorf("payments by source %v: want both", tr.PaymentsByVia)
	}
	if tr.CustomEvents["signup"] == 0 || tr.Identifies == 0 || tr.Bounces == 0 || tr.Bounces == tr.Sessions {
		t.Errorf("truth %+v lacks signups, identifies, bounces or multi-page sessions", tr)
	}
	if cross := crossDevicePersons(sc); cross == 0 {
		t.Error("no person spans two devices")
	}
}

func crossDevicePersons(sc *Scenario) int {
	byEmail := map[string]int{}
	for _, v := range sc.Visitors {
		if v.Email != "" {
			byEmail[v.Email]++
		}
	}
	n := 0
	for _, c := range byEmail {
		if c > 1 {
			n++
		}
	}
	return n
}

// The channel each visit is expected to land in is what the server's referrer step concludes.
func TestChannelsMatchReferrerPackage(t *testing.T) {
	sc := defaultScenario(t)
	seen := map[string]bool{}
	for _, v := range sc.Visits {
		e := v.Events[0]
		u, _ := url.Parse(e.URL)
		qs := u.Query()
		in := referrer.Input{Referrer: e.Referrer, SiteDomain: sc.Options.Domain, PageHost: u.Hostname(),
			UTMSource: qs.Get("utm_source"), UTMMedium: qs.Get("utm_medium"), UTMCampaign: qs.Get("utm_campaign"),
			ClickIDs: map[string]string{}}
		for _, k := range []string{"gclid", "gbraid", "wbraid", "msclkid", "fbclid", "ttclid", "twclid", "li_fat_id"} {
			if x := qs.Get(k); x != "" {
				in.ClickIDs[k] = x
			}
		}
		for _, k := range []string{"ref", "via", "source"} {
			if x := qs.Get(k); x != "" && in.Ref == "" {
				in.Ref = x
			}
		}
		got := referrer.Classify(in)
		key := v.Channel + "|" + v.Source + "|" + e.URL[:min(len(e.URL), 60)]
		if got.Channel != v.Channel || !strings.EqualFold(got.Source, v.Source) {
			if !seen[key] {
				t.Errorf("landing %q from %q: referrer says %q/%q, scenario expects %q/%q",
					e.URL, e.Referrer, got.Channel, got.Source, v.Channel, v.Source)
			}
			seen[key] = true
		}
	}
	for _, s := range channelSpecs {
		found := false
		for _, v := range sc.Visits {
			if v.Channel == s.channel {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no visit in channel %s", s.channel)
		}
	}
}

func TestVisitorAddressesAreInTheirCountry(t *testing.T) {
	sc := defaultScenario(t)
	byCountry := map[string]int{}
	for _, v := range sc.Visitors {
		a, err := netip.ParseAddr(v.IP)
		if err != nil {
			t.Fatalf("visitor address %q: %v", v.IP, err)
		}
		if a.IsPrivate() || a.IsLoopback() || !a.IsGlobalUnicast() {
			t.Fatalf("visitor address %s is not public", a)
		}
		if cc, _ := geo.Lookup(a); cc != v.Country {
			t.Errorf("%s is in %q by the geo table, scenario says %s", a, cc, v.Country)
		}
		byCountry[v.Country]++
	}
	if len(byCountry) != len(countries) {
		t.Errorf("visitors come from %d countries, want %d", len(byCountry), len(countries))
	}
}

func TestEmbeddedUserAgentsAreBrowsers(t *testing.T) {
	uas, mobile, err := loadUAs()
	if err != nil {
		t.Fatal(err)
	}
	if len(uas) < 200 || len(mobile) == 0 {
		t.Fatalf("%d profiles, %d mobile; want a few hundred with phones", len(uas), len(mobile))
	}
	for _, p := range uas {
		if ua.IsBot(p.UA) || p.ScreenWidth <= 0 || p.Device == "" {
			t.Errorf("profile %+v is a bot or incomplete", p)
		}
	}
}

func TestTruthSumsAreConsistent(t *testing.T) {
	sc := defaultScenario(t)
	tr := sc.Truth()
	for _, m := range TruthModels {
		if !attribution.Model(m).Valid() {
			t.Errorf("model %q is not a query API model", m)
		}
		sums := map[string]Amounts{}
		for ch, byCur := range tr.Revenue[m] {
			if ch == NoTouchpoint {
				t.Errorf("%s: %d payments without a touchpoint", m, len(byCur))
			}
			for cur, a := range byCur {
				s := sums[cur]
				s.Payments += a.Payments
				s.Gross += a.Gross
				s.Refunded += a.Refunded
				s.Disputed += a.Disputed
				s.Net += a.Net
				sums[cur] = s
				if a.Net != a.Gross-a.Refunded-a.Disputed {
					t.Errorf("%s/%s/%s: net %d ≠ gross − refunded − disputed", m, ch, cur, a.Net)
				}
			}
		}
		for cur, want := range tr.Totals {
			if sums[cur] != want {
				t.Errorf("%s: channels sum to %+v in %s, totals say %+v", m, sums[cur], cur, want)
			}
		}
		if len(sums) != len(tr.Totals) {
			t.Errorf("%s: currencies %v vs totals %v", m, sums, tr.Totals)
		}
	}
	// Totals against the payments themselves.
	gross := map[string]int64{}
	for _, p := range sc.Payments {
		gross[p.Currency] += p.Amount
	}
	for cur, g := range gross {
		if tr.Totals[cur].Gross != g {
			t.Errorf("%s gross %d, payments sum to %d", cur, tr.Totals[cur].Gross, g)
		}
	}
	if tr.Payments != len(sc.Payments) || len(tr.PaymentDetails) != len(sc.Payments) {
		t.Errorf("payments %d, details %d, scenario %d", tr.Payments, len(tr.PaymentDetails), len(sc.Payments))
	}
	// Each credited touch lies inside the window before its payment, first before last.
	window := time.Duration(tr.LookbackDays) * 24 * time.Hour
	firstDiffers := 0
	for _, p := range tr.PaymentDetails {
		f, l := p.Credit[ModelFirstTouch], p.Credit[ModelLastTouch]
		if p.Link == tributary.LinkUnattributed {
			if f.SessionID != "" || f.Channel == "" {
				t.Errorf("unattributed %s credited to %+v", p.ID, f)
			}
			continue
		}
		for _, c := range []Touch{f, l} {
			if c.Start.After(p.At) || c.Start.Before(p.At.Add(-window)) {
				t.Errorf("payment %s at %v credits a session of %v", p.ID, p.At, c.Start)
			}
		}
		if f.Start.After(l.Start) {
			t.Errorf("payment %s: first touch after last touch", p.ID)
		}
		if p.Kind != KindSubscriptionCycle && p.Credit[ModelLastTouch].SessionID != p.SessionID {
			t.Errorf("payment %s: last touch %s is not the checkout session %s", p.ID, l.SessionID, p.SessionID)
		}
		if f.Channel != l.Channel {
			firstDiffers++
		}
	}
	if firstDiffers == 0 {
		t.Error("first and last touch agree on every payment: the scenario has no multi-touch journeys")
	}
}

func TestTruthJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := defaultScenario(t).Truth().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Truth
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Payments == 0 || back.Revenue[ModelLastTouch] == nil {
		t.Errorf("truth did not round-trip: %+v", back)
	}
}

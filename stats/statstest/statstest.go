// Package statstest is the query-correctness suite every EventStore backend runs: it loads a generated
// site (seeded, so reproducible) through the EventStore, works out the expected answers in plain Go from
// the generated facts, and checks the engine's answers for every traffic and money metric, by several
// dimensions, under filters, and for every attribution model.
//
// The data keeps each answer computable by hand: every visit has one to five pageviews and maybe one
// "signup", lies inside one day, and each paying visitor has exactly one visit before paying (inside the
// lookback), so every model credits the whole payment to that visit.
package statstest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/stats"
)

// Now is the suite's fixed clock; the data covers the 30 days before it.
var Now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// Site is the site the data belongs to.
// Site is in New York, west of UTC, so local days are not UTC days and the suite's 30 days span the
// return to winter time (1 November): days, buckets and the stores' visits by day are checked in the
// site's zone.
var Site = &tributary.Site{ID: "statstest", Domain: "shop.example", Name: "Stats", Currency: "EUR", Timezone: "America/New_York", Locale: "en-US"}

type visit struct {
	visitor, session, channel, source, country, device string
	start                                              time.Time
	pageviews, events                                  int
	paid                                               int64 // payment amount, 0 when none
	refunded                                           int64
	duration                                           float64
}

// data is the generated site.
type data struct {
	visits []visit
}

func generate() *data {
	r := rand.New(rand.NewPCG(7, 11))
	channels := []struct{ channel, source string }{
		{"Organic Search", "Google"}, {"Direct", ""}, {"Paid Search", "Google"}, {"Email", "newsletter"}, {"Referral", "news.ycombinator.com"},
	}
	countries := []string{"DE", "US", "FR", "JP"}
	devices := []string{"desktop", "mobile"}
	d := &data{}
	for i := 0; i < 400; i++ {
		c := channels[r.IntN(len(channels))]
		v := visit{visitor: fmt.Sprintf("vis%04d", i), session: fmt.Sprintf("ses%04d", i), channel: c.channel, source: c.source,
			country: countries[r.IntN(len(countries))], device: devices[r.IntN(len(devices))],
			start: Now.Add(-time.Duration(1+r.IntN(28*24)) * time.Hour).Truncate(time.Minute), pageviews: 1 + r.IntN(5)}
		if r.IntN(4) == 0 {
			v.events = 1
		}
		if r.IntN(5) == 0 {
			v.paid = int64(500 + 100*r.IntN(50))
			if r.IntN(4) == 0 {
				v.refunded = v.paid / 4
			}
		}
		d.visits = append(d.visits, v)
	}
	// Returning visitors (who never pay, so each payment keeps one touchpoint): later visits from another
	// channel or device, some before the 30-day range, where they must not count but still precede the
	// visits that do. Distinct visitors per group then differ from visits.
	for i := 0; i < 200; i++ {
		j := r.IntN(400)
		for d.visits[j].paid > 0 {
			j = r.IntN(400)
		}
		first := d.visits[j]
		c := channels[r.IntN(len(channels))]
		v := visit{visitor: first.visitor, session: fmt.Sprintf("ret%04d", i), channel: c.channel, source: c.source, country: first.country,
			device: devices[r.IntN(len(devices))], start: Now.Add(-time.Duration(1+r.IntN(28*24)) * time.Hour).Truncate(time.Minute), pageviews: 1 + r.IntN(3)}
		if r.IntN(4) == 0 {
			v.start = Now.AddDate(0, 0, -35-r.IntN(10)).Truncate(time.Minute)
		}
		if r.IntN(4) == 0 {
			v.events = 1
		}
		d.visits = append(d.visits, v)
	}
	// Paying visitors come back after paying (so no touchpoint changes): they convert in every group they
	// visit in.
	for i := 0; i < 400; i++ {
		first := d.visits[i]
		if first.paid == 0 || r.IntN(2) == 0 {
			continue
		}
		start := first.start.Add(time.Duration(2+r.IntN(40)) * time.Hour)
		if start.After(Now.Add(-time.Hour)) {
			continue
		}
		c := channels[r.IntN(len(channels))]
		d.visits = append(d.visits, visit{visitor: first.visitor, session: fmt.Sprintf("back%04d", i), channel: c.channel, source: c.source,
			country: first.country, device: devices[r.IntN(len(devices))], start: start, pageviews: 1 + r.IntN(3)})
	}
	return d
}

// inRange is the 30-day range every query of the suite asks for.
func inRange(v visit) bool { return !v.start.Before(Now.AddDate(0, 0, -31)) }

func (d *data) load(t *testing.T, st tributary.EventStore) {
	t.Helper()
	ctx := context.Background()
	var evs []tributary.Event
	var ledger []tributary.LedgerEntry
	var links []tributary.Identity
	for _, v := range d.visits {
		at := v.start
		for k := 0; k < v.pageviews; k++ {
			evs = append(evs, tributary.Event{SiteID: Site.ID, Timestamp: at, Name: tributary.PageviewName, Source: tributary.SourceBrowser,
				VisitorID: v.visitor, SessionID: v.session, Hostname: "shop.example", Path: fmt.Sprintf("/p%d", k), ReferrerSource: v.source,
				Channel: v.channel, Country: v.country, Device: v.device, Browser: "Firefox", OS: "Linux"})
			at = at.Add(time.Minute)
		}
		if v.events > 0 {
			evs = append(evs, tributary.Event{SiteID: Site.ID, Timestamp: at, Name: "signup", Source: tributary.SourceBrowser, VisitorID: v.visitor,
				SessionID: v.session, Hostname: "shop.example", Path: "/signup", ReferrerSource: v.source, Channel: v.channel, Country: v.country,
				Device: v.device, Browser: "Firefox", OS: "Linux", Props: map[string]string{"plan": "pro"}})
			at = at.Add(time.Minute)
		}
		if v.paid > 0 {
			pid := "pi_" + v.session
			ledger = append(ledger, tributary.LedgerEntry{ID: "pay:" + pid, SiteID: Site.ID, Livemode: true, Kind: tributary.EntryPayment, PaymentID: pid,
				OccurredAt: at, Amount: v.paid, Currency: "EUR", ReportingAmount: v.paid, ReportingCurrency: "EUR", Rate: "1", Converted: true,
				CustomerID: "cus_" + v.visitor, Source: "stripe"})
			links = append(links, tributary.Identity{SiteID: Site.ID, At: at, VisitorID: v.visitor, SessionID: v.session, PaymentID: pid,
				CustomerID: "cus_" + v.visitor, LinkMethod: tributary.LinkMetadata, Source: "stripe"})
			if v.refunded > 0 {
				ledger = append(ledger, tributary.LedgerEntry{ID: "refund:" + pid, SiteID: Site.ID, Livemode: true, Kind: tributary.EntryRefund,
					PaymentID: pid, OccurredAt: at.Add(time.Hour), Amount: -v.refunded, Currency: "EUR", ReportingAmount: -v.refunded,
					ReportingCurrency: "EUR", Rate: "1", Converted: true, Source: "stripe"})
			}
		}
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertLedger(ctx, ledger); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIdentities(ctx, links); err != nil {
		t.Fatal(err)
	}
}

// expect holds the hand-computed answers of one group.
type expect struct {
	visitors, visits, pageviews, bounces, events int64
	duration                                     float64
	conversions                                  map[string]bool
	revenue, refunds, payments                   int64
}

func (d *data) expected(key func(v visit) string, keep func(v visit) bool) map[string]*expect {
	return d.expectedGoals(key, keep, true)
}

// expectedGoals is expected, with conversion events counting as conversions or not.
func (d *data) expectedGoals(key func(v visit) string, keep func(v visit) bool, goals bool) map[string]*expect {
	out := map[string]*expect{}
	paying := map[string]bool{} // visitors who paid in the range convert in every group they visit
	for _, v := range d.visits {
		if inRange(v) && v.paid > 0 {
			paying[v.visitor] = true
		}
	}
	visitors := map[string]map[string]bool{}
	for _, v := range d.visits {
		if !inRange(v) || keep != nil && !keep(v) {
			continue
		}
		k := key(v)
		e := out[k]
		if e == nil {
			e = &expect{conversions: map[string]bool{}}
			out[k] = e
			visitors[k] = map[string]bool{}
		}
		visitors[k][v.visitor] = true
		e.visits++
		e.pageviews += int64(v.pageviews)
		e.events += int64(v.events)
		if v.pageviews == 1 {
			e.bounces++
		}
		last := v.pageviews - 1 + v.events
		e.duration += float64(last * 60)
		if goals && v.events > 0 || paying[v.visitor] {
			e.conversions[v.visitor] = true
		}
		if v.paid > 0 {
			e.revenue += v.paid
			e.refunds -= v.refunded
			e.payments++
		}
	}
	for k, e := range out {
		e.visitors = int64(len(visitors[k]))
	}
	return out
}

// money renders minor units of EUR as the API does.
func money(m int64) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}

// ratio renders num/den×scale as the API does: rounded half up to prec decimals, no trailing zeros.
func ratio(num, den int64, scale float64, prec int) string {
	if den == 0 {
		return "0"
	}
	p := math.Pow10(prec)
	return strconv.FormatFloat(math.Floor(float64(num)*scale/float64(den)*p+0.5)/p, 'f', -1, 64)
}

// Open returns a fresh EventStore and an engine over it.
type Open func(t *testing.T) (tributary.EventStore, *stats.Engine)

// register creates the site in st when st is also where sites are kept (the embedded store), as a
// server does before any of its events arrive: the store keeps some tables (visits by local day) only
// for the sites it knows.
func register(t *testing.T, st tributary.EventStore, site *tributary.Site) {
	t.Helper()
	meta, ok := st.(interface {
		CreateSite(context.Context, *tributary.Site) error
	})
	if !ok {
		return
	}
	s := *site
	s.CreatedAt, s.UpdatedAt = Now, Now
	if err := meta.CreateSite(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
}

// Run checks the engine against the generated data.
func Run(t *testing.T, open Open) {
	d := generate()
	st, eng := open(t)
	for _, site := range []*tributary.Site{Site, JourneySite, PathsSite} {
		register(t, st, site)
	}
	d.load(t, st)
	t.Run("multi-touch journeys", func(t *testing.T) { journeys(t, st, eng) })
	t.Run("money summed by the store as in Go", func(t *testing.T) { moneyPaths(t, st, eng) })
	ctx := context.Background()
	page := stats.WithCache(ctx)
	query := func(t *testing.T, q map[string]any) map[string][]string {
		t.Helper()
		noGoals := q["no_conversion_events"] == true
		delete(q, "no_conversion_events")
		q["site_id"] = Site.ID
		if _, ok := q["date_range"]; !ok {
			q["date_range"] = "30d"
		}
		body, _ := json.Marshal(q)
		pq, err := stats.ParseQuery(body, Site, Now)
		if err != nil {
			t.Fatalf("parse %s: %v", body, err)
		}
		if !noGoals {
			pq.ConversionNames = []string{"signup"}
		}
		res, err := eng.Run(ctx, pq)
		if err != nil {
			t.Fatalf("run %s: %v", body, err)
		}
		// Within a page's cache (shared by every query of the suite, as a page's panels share one)
		// the engine computes some parts once for all panels: the answers must not change.
		paged, err := eng.Run(page, pq)
		if err != nil {
			t.Fatalf("run %s in a page: %v", body, err)
		}
		a, _ := json.Marshal(res.Results)
		b, _ := json.Marshal(paged.Results)
		if string(a) != string(b) {
			t.Errorf("%s: alone %s, within a page %s", body, a, b)
		}
		out := map[string][]string{}
		for _, r := range res.Results {
			var vals []string
			for _, m := range r.Metrics {
				vals = append(vals, m.String())
			}
			out[strings.Join(r.Dimensions, "|")] = vals
		}
		return out
	}
	traffic := []string{"visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events", "conversions", "conversion_rate"}
	trafficWant := func(e *expect) []string {
		conv := int64(len(e.conversions))
		return []string{fmt.Sprint(e.visitors), fmt.Sprint(e.visits), fmt.Sprint(e.pageviews), ratio(e.pageviews, e.visits, 1, 2),
			ratio(e.bounces, e.visits, 100, 2), ratio(int64(e.duration), e.visits, 1, 0), fmt.Sprint(e.events), fmt.Sprint(conv), ratio(conv, e.visitors, 100, 2)}
	}
	// refunds is reported as a positive amount; net revenue subtracts it.
	moneyMetrics := []string{"payments", "revenue", "refunds", "net_revenue", "average_order_value", "ltv", "customers"}
	moneyWant := func(e *expect) []string {
		return []string{fmt.Sprint(e.payments), money(e.revenue), money(-e.refunds), money(e.revenue + e.refunds), exactDiv(e.revenue, e.payments),
			exactDiv(e.revenue+e.refunds, e.payments), fmt.Sprint(e.payments)}
	}
	check := func(t *testing.T, name string, got map[string][]string, want map[string][]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d groups, want %d\ngot  %v\nwant %v", name, len(got), len(want), got, want)
		}
		for k, w := range want {
			g := got[k]
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("%s[%s] = %v, want %v", name, k, g, w)
			}
		}
	}
	dims := []struct {
		dim string
		key func(v visit) string
	}{
		{"", func(visit) string { return "" }},
		{"visit:channel", func(v visit) string { return v.channel }},
		{"visit:source", func(v visit) string { return v.source }},
		{"visit:country", func(v visit) string { return v.country }},
		{"visit:device", func(v visit) string { return v.device }},
		{"visit:entry_page", func(visit) string { return "/p0" }},
	}
	for _, dm := range dims {
		t.Run("traffic by "+dm.dim, func(t *testing.T) {
			q := map[string]any{"metrics": traffic, "limit": 1000}
			if dm.dim != "" {
				q["dimensions"] = []string{dm.dim}
			}
			want := map[string][]string{}
			for k, e := range d.expected(dm.key, nil) {
				want[k] = trafficWant(e)
			}
			check(t, "traffic", query(t, q), want)
		})
	}
	for _, dm := range dims {
		t.Run("conversions without conversion events by "+dm.dim, func(t *testing.T) {
			q := map[string]any{"metrics": []string{"visitors", "conversions", "conversion_rate"}, "limit": 1000, "no_conversion_events": true}
			if dm.dim != "" {
				q["dimensions"] = []string{dm.dim}
			}
			want := map[string][]string{}
			for k, e := range d.expectedGoals(dm.key, nil, false) {
				conv := int64(len(e.conversions))
				want[k] = []string{fmt.Sprint(e.visitors), fmt.Sprint(conv), ratio(conv, e.visitors, 100, 2)}
			}
			check(t, "conversions", query(t, q), want)
		})
	}
	// Every paying visitor is one customer with one payment, so ltv is net revenue per payment; money
	// ratios are exact fractions of cents rounded half-even.
	for _, model := range attribution.Models {
		for _, dm := range dims[:4] {
			t.Run(fmt.Sprintf("money %s by %s", model, dm.dim), func(t *testing.T) {
				q := map[string]any{"metrics": moneyMetrics, "limit": 1000, "attribution": map[string]any{"model": string(model)}}
				if dm.dim != "" {
					q["dimensions"] = []string{dm.dim}
				}
				want := map[string][]string{}
				for k, e := range d.expected(dm.key, func(v visit) bool { return v.paid > 0 }) {
					want[k] = moneyWant(e)
				}
				check(t, "money", query(t, q), want)
			})
		}
	}
	t.Run("average order value and revenue per visitor", func(t *testing.T) {
		got := query(t, map[string]any{"metrics": []string{"average_order_value", "revenue_per_visitor"}})
		all := d.expected(func(visit) string { return "" }, nil)[""]
		aov := exactDiv(all.revenue, all.payments)
		rpv := exactDiv(all.revenue, all.visitors)
		if fmt.Sprint(got[""]) != fmt.Sprint([]string{aov, rpv}) {
			t.Errorf("aov, rpv = %v, want %s %s", got[""], aov, rpv)
		}
	})
	filters := []struct {
		name   string
		filter any
		keep   func(v visit) bool
	}{
		{"is", []any{"is", "visit:country", []string{"DE", "FR"}}, func(v visit) bool { return v.country == "DE" || v.country == "FR" }},
		{"is_not", []any{"is_not", "visit:channel", []string{"Direct"}}, func(v visit) bool { return v.channel != "Direct" }},
		{"contains", []any{"contains", "visit:source", []string{"oogl"}}, func(v visit) bool { return strings.Contains(v.source, "oogl") }},
		{"matches", []any{"matches", "visit:channel", []string{"^(Email|Referral)$"}}, func(v visit) bool {
			return regexp.MustCompile(`^(Email|Referral)$`).MatchString(v.channel)
		}},
		{"and", []any{"and", []any{[]any{"is", "visit:device", []string{"mobile"}}, []any{"is_not", "visit:country", []string{"US"}}}},
			func(v visit) bool { return v.device == "mobile" && v.country != "US" }},
		{"or", []any{"or", []any{[]any{"is", "visit:device", []string{"mobile"}}, []any{"is", "visit:country", []string{"US"}}}},
			func(v visit) bool { return v.device == "mobile" || v.country == "US" }},
		{"event name", []any{"is", "event:name", []string{"signup"}}, func(v visit) bool { return v.events > 0 }},
	}
	for _, f := range filters {
		t.Run("filter "+f.name, func(t *testing.T) {
			q := map[string]any{"metrics": []string{"visitors", "visits", "pageviews"}, "dimensions": []string{"visit:channel"}, "filters": []any{f.filter}, "limit": 1000}
			want := map[string][]string{}
			for k, e := range d.expected(func(v visit) string { return v.channel }, f.keep) {
				want[k] = []string{fmt.Sprint(e.visitors), fmt.Sprint(e.visits), fmt.Sprint(e.pageviews)}
			}
			check(t, "filtered traffic", query(t, q), want)
			if f.name == "event name" {
				return // money is filtered by touchpoint visit dimensions only
			}
			q = map[string]any{"metrics": []string{"payments", "revenue"}, "dimensions": []string{"visit:channel"}, "filters": []any{f.filter}, "limit": 1000}
			want = map[string][]string{}
			for k, e := range d.expected(func(v visit) string { return v.channel }, func(v visit) bool { return v.paid > 0 && f.keep(v) }) {
				want[k] = []string{fmt.Sprint(e.payments), money(e.revenue)}
			}
			check(t, "filtered money", query(t, q), want)
		})
	}
	t.Run("a page's queries at once", func(t *testing.T) {
		// The dashboard's shape: KPIs with comparison, a chart, breakdowns under two models; run four at a
		// time within one page cache, each answer must equal the query run alone.
		raw := []map[string]any{
			{"metrics": []string{"visitors", "revenue", "net_revenue", "conversion_rate", "revenue_per_visitor", "average_order_value", "refunds"}, "compare": "previous_period"},
			{"metrics": []string{"visitors", "revenue"}, "dimensions": []string{"time:day"}, "limit": 1000},
		}
		for _, dm := range dims[1:] {
			for _, model := range []string{"last_non_direct", "linear"} {
				raw = append(raw, map[string]any{"metrics": []string{"visitors", "conversions", "revenue", "conversion_rate", "customers"},
					"dimensions": []string{dm.dim}, "limit": 1000, "attribution": map[string]any{"model": model}})
			}
		}
		var qs []*stats.Query
		for _, q := range raw {
			q["site_id"] = Site.ID
			q["date_range"] = "30d"
			body, _ := json.Marshal(q)
			pq, err := stats.ParseQuery(body, Site, Now)
			if err != nil {
				t.Fatal(err)
			}
			pq.ConversionNames = []string{"signup"}
			qs = append(qs, pq)
		}
		pageCtx := stats.WithCache(ctx)
		all, err := eng.RunAll(pageCtx, qs, 4)
		if err != nil {
			t.Fatal(err)
		}
		// A later query of the same page by a dimension the page did not announce.
		body, _ := json.Marshal(map[string]any{"site_id": Site.ID, "date_range": "30d", "metrics": []string{"visitors", "conversions"},
			"dimensions": []string{"visit:os"}})
		late, err := stats.ParseQuery(body, Site, Now)
		if err != nil {
			t.Fatal(err)
		}
		late.ConversionNames = []string{"signup"}
		res, err := eng.Run(pageCtx, late)
		if err != nil {
			t.Fatal(err)
		}
		qs, all = append(qs, late), append(all, res)
		for i, q := range qs {
			alone, err := eng.Run(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(alone.Results)
			b, _ := json.Marshal(all[i].Results)
			if string(a) != string(b) {
				t.Errorf("query %d: alone %s, in the page %s", i, a, b)
			}
		}
	})
	t.Run("time:day", func(t *testing.T) {
		got := query(t, map[string]any{"metrics": []string{"visitors", "visits", "revenue"}, "dimensions": []string{"time:day"}, "limit": 1000})
		want := map[string][]string{}
		loc := Site.Location()
		byDay := d.expected(func(v visit) string { return v.start.In(loc).Format("2006-01-02") + " 00:00:00" }, nil)
		paidByDay := map[string]int64{}
		for _, v := range d.visits {
			if v.paid > 0 {
				// The payment is a minute after the visit's last event (load), on that minute's local day.
				paid := v.start.Add(time.Duration(v.pageviews) * time.Minute)
				if v.events > 0 {
					paid = paid.Add(time.Minute)
				}
				paidByDay[paid.In(loc).Format("2006-01-02")+" 00:00:00"] += v.paid
			}
		}
		for k, e := range byDay {
			want[k] = []string{fmt.Sprint(e.visitors), fmt.Sprint(e.visits), money(paidByDay[k])}
		}
		// Days with revenue but no visit cannot occur here (the payment follows its visit that day).
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
				t.Errorf("day %s = %v, want %v", k, got[k], want[k])
			}
		}
	})
}

// exactDiv renders num/den minor units as a decimal in major units, rounded half-even to the cent.
func exactDiv(num, den int64) string {
	if den == 0 {
		return "0.00"
	}
	q, r := num/den, num%den
	if 2*r > den || (2*r == den && q%2 == 1) {
		q++
	}
	return money(q)
}

package ui

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/geo"
	"github.com/tributary/tributary/numfmt"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/web/core"
)

// dashParams are the dashboard's controls, all in the URL so every view can be bookmarked and shared.
type dashParams struct {
	Range    string
	Model    string
	Lookback int
	Metric   string
	Compare  bool
	Test     bool        // test-mode money (?mode=test)
	Filters  [][2]string // dimension, value
	Funnel   string      // the funnel panel's steps as written (?funnel=), "" for the site's saved one
}

var dashRanges = []string{"day", "7d", "30d", "month", "year", "all"}

var chartMetrics = []string{"visitors", "visits", "pageviews", "revenue", "net_revenue", "conversions", "payments"}

func parseDash(r *http.Request) dashParams {
	q := r.URL.Query()
	p := dashParams{Range: q.Get("range"), Model: q.Get("model"), Metric: q.Get("metric"), Compare: q.Get("compare") != "off", Test: q.Get("mode") == "test"}
	if !slices.Contains(dashRanges, p.Range) {
		p.Range = "30d"
	}
	if _, err := attribution.ParseModel(p.Model); err != nil || p.Model == "" {
		p.Model = string(attribution.DefaultModel)
	}
	p.Lookback, _ = strconv.Atoi(q.Get("lookback"))
	if p.Lookback < 1 || p.Lookback > 365 {
		p.Lookback = attribution.DefaultLookbackDays
	}
	if !slices.Contains(chartMetrics, p.Metric) {
		p.Metric = "visitors"
	}
	if f := strings.TrimSpace(q.Get("funnel")); len(f) <= 4096 {
		p.Funnel = f
	}
	for _, f := range q["f"] {
		dim, val, ok := strings.Cut(f, "=")
		if ok && strings.HasPrefix(dim, "visit:") && len(val) <= 500 {
			p.Filters = append(p.Filters, [2]string{dim, val})
		}
	}
	return p
}

// values renders the params back into a query string, with changes applied.
func (p dashParams) values() url.Values {
	v := url.Values{"range": {p.Range}, "model": {p.Model}, "lookback": {strconv.Itoa(p.Lookback)}, "metric": {p.Metric}}
	if !p.Compare {
		v.Set("compare", "off")
	}
	if p.Test {
		v.Set("mode", "test")
	}
	if p.Funnel != "" {
		v.Set("funnel", p.Funnel)
	}
	for _, f := range p.Filters {
		v.Add("f", f[0]+"="+f[1])
	}
	return v
}

func (p dashParams) with(dim, val string) string {
	c := p
	c.Filters = append(append([][2]string{}, p.Filters...), [2]string{dim, val})
	return "?" + c.values().Encode()
}

func (p dashParams) without(i int) string {
	c := p
	c.Filters = append(append([][2]string{}, p.Filters[:i]...), p.Filters[i+1:]...)
	return "?" + c.values().Encode()
}

// withControls adds the dashboard's mode and filters to a stats query's body and encodes it.
func (p dashParams) withControls(body map[string]any) []byte {
	if p.Test {
		body["mode"] = "test"
	}
	var fs []any
	for _, f := range p.Filters {
		fs = append(fs, []any{"is", f[0], []string{f[1]}})
	}
	if len(fs) > 0 {
		body["filters"] = fs
	}
	b, _ := json.Marshal(body)
	return b
}

// query builds the JSON body of a stats query under the dashboard's controls.
func (p dashParams) query(siteID string, metrics, dims []string, limit int, compare bool) []byte {
	return p.queryIn(siteID, p.Range, metrics, dims, limit, compare)
}

// queryIn is query over another date range (a range name, or a pair of dates or RFC 3339 times).
func (p dashParams) queryIn(siteID string, rng any, metrics, dims []string, limit int, compare bool) []byte {
	body := map[string]any{"site_id": siteID, "metrics": metrics, "date_range": rng,
		"attribution": map[string]any{"model": p.Model, "lookback_days": p.Lookback}}
	if len(dims) > 0 {
		body["dimensions"] = dims
	}
	if limit > 0 {
		body["limit"] = limit
	}
	if compare {
		body["compare"] = "previous_period"
	}
	return p.withControls(body)
}

type kpi struct {
	Label, Value, Change string
	Up                   bool
}

type panelRow struct {
	Label, Link string
	Values      []string
	Share       float64
}

type panel struct {
	Title, Dim, Export string
	Columns            []string
	Rows               []panelRow
}

type dashView struct {
	Site     *tributary.Site
	P        dashParams
	Ranges   []string
	Models   []attribution.Model
	Metrics  []string
	KPIs     []kpi
	Chart    chart
	Panels   []panel
	Filters  []filterChip
	Realtime int64
	Note     string
	Credit   string
	Mode     modeSwitch
	Waiting  *waitingView // a site without any event yet: the install check instead of the chart
	Goals    []goalRow
	Catalog  string
	Funnel   *funnelView
}

// waitingView is the install check of a site that has no event yet.
type waitingView struct {
	Snippet string
	Domain  string
	Drops   []core.RecentDrop
}

type filterChip struct{ Dim, Value, Remove string }

var kpiMetrics = []string{"visitors", "revenue", "net_revenue", "conversion_rate", "revenue_per_visitor", "average_order_value", "refunds", "mrr"}

var dashPanels = []struct{ title, dim string }{
	{"Channels", "visit:channel"}, {"Sources", "visit:source"}, {"Campaigns", "visit:utm_campaign"}, {"Entry pages", "visit:entry_page"},
	{"Countries", "visit:country"}, {"Devices", "visit:device"}, {"Browsers", "visit:browser"}, {"Operating systems", "visit:os"},
}

// PageDashboard answers GET /sites/{id}.
func (s *UI) PageDashboard(w http.ResponseWriter, r *http.Request) error {
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// The panels all read the range's money data: load it once for the page.
	r = r.WithContext(stats.WithCache(r.Context()))
	p := parseDash(r)
	v := &dashView{Site: site, P: p, Ranges: dashRanges, Models: attribution.Models, Metrics: chartMetrics, Credit: geo.Attribution}
	for i, f := range p.Filters {
		label := stats.DimensionLabel(f[0])
		if label == "" {
			label = strings.TrimPrefix(f[0], "visit:")
		}
		v.Filters = append(v.Filters, filterChip{Dim: label, Value: f[1], Remove: p.without(i)})
	}
	// The page's queries run together (two at a time, sharing the money data): KPI cards (traffic and
	// money in one query, MRR apart: it does not take visit filters), the main chart, the panels.
	kp := append([]string{}, kpiMetrics[:7]...)
	mp := p
	mp.Filters = nil
	unit := chartUnit(p.Range)
	chartBody := p.query(site.ID, []string{p.Metric}, []string{unit}, 10000, false)
	cq, err := stats.ParseQuery(chartBody, site, s.Opt.Now())
	if err != nil {
		return err
	}
	// Today is compared with the same hours of yesterday, not with all of it: the KPIs of "day" are
	// asked for both periods up to now, and the changes worked out here.
	now := s.Opt.Now()
	sameHours := p.Range == "day" && p.Compare && now.After(cq.From) && now.Before(cq.To)
	cols := []string{"visitors", "conversions", "revenue", "conversion_rate"}
	bodies := [][]byte{p.query(site.ID, kp, nil, 0, p.Compare && !sameHours), mp.query(site.ID, []string{"mrr"}, nil, 0, p.Compare && !sameHours), chartBody}
	for _, pd := range dashPanels {
		bodies = append(bodies, p.query(site.ID, cols, []string{pd.dim}, 10, false))
	}
	goalsAt := len(bodies)
	bodies = append(bodies, p.goalsQuery(site.ID))
	fv, steps, err := s.dashFunnel(r, site, p)
	if err != nil {
		return err
	}
	v.Funnel = fv
	funnelAt := -1
	if steps != nil {
		funnelAt = len(bodies)
		bodies = append(bodies, p.funnelQuery(site.ID, steps))
	}
	// The chart's previous period: the period the KPIs compare with, just before it (not for "all").
	prevFrom, _ := stats.PreviousPeriod(cq.From, cq.To, site.Location())
	extra := len(bodies)
	if p.Compare && p.Range != "all" {
		bodies = append(bodies, p.queryIn(site.ID, []string{prevFrom.Format(time.RFC3339), cq.From.Format(time.RFC3339)}, []string{p.Metric}, []string{unit}, 10000, false))
	}
	if sameHours {
		yFrom := []string{cq.From.Add(-24 * time.Hour).Format(time.RFC3339), now.Add(-24 * time.Hour).Format(time.RFC3339)}
		bodies = append(bodies, p.queryIn(site.ID, yFrom, kp, nil, 0, false), mp.queryIn(site.ID, yFrom, []string{"mrr"}, nil, 0, false))
	}
	// A live page counts the test payments of the same range, to say they are hidden.
	if !p.Test {
		tp := mp
		tp.Test = true
		bodies = append(bodies, tp.query(site.ID, []string{"payments"}, nil, 0, false))
	}
	results, err := s.RunQueries(r, site, bodies...)
	if err != nil {
		return err
	}
	v.Mode = newModeSwitch(r, p.Test)
	if !p.Test {
		if tr := results[len(results)-1]; len(tr.Results) > 0 {
			v.Mode.Hidden = tr.Results[0].Metrics[0].Int64()
			v.Mode.HiddenLink = v.Mode.TLnk
		}
	}
	res := results[0]
	var prevChart *stats.Result
	if p.Compare && p.Range != "all" {
		prevChart = results[extra]
		extra++
	}
	if sameHours {
		withChanges(res, results[extra])
		withChanges(results[1], results[extra+1])
	}
	addKPIs(v, kp, res)
	if res.Meta.UnconvertedPayments > 0 {
		v.Note = fmt.Sprintf("%d money entries have no exchange rate to %s and are not included; import rates in the settings.", res.Meta.UnconvertedPayments, site.Currency)
	}
	addKPIs(v, []string{"mrr"}, results[1])
	kinds, err := s.Opt.Meta.EventKinds(r.Context(), site.ID)
	if err != nil {
		return err
	}
	var visitors float64
	if len(res.Results) > 0 {
		visitors = res.Results[0].Metrics[0].Float64()
	}
	v.Goals, v.Catalog = goalRows(results[goalsAt], kinds, visitors, site), catalogLink(site.ID)
	if funnelAt >= 0 {
		v.Funnel.fill(results[funnelAt], steps, site)
	}
	v.Chart = buildChart(site, p.Metric, unit, cq.From, cq.To, results[2], prevFrom, prevChart)
	for i, pd := range dashPanels {
		pres := results[3+i]
		pn := panel{Title: pd.title, Dim: pd.dim, Columns: []string{"Visitors", "Conv.", "Revenue", "CR %"},
			Export: "/sites/" + site.ID + "/export?" + url.Values{"dim": {pd.dim}}.Encode() + "&" + p.values().Encode()}
		var top float64
		for _, row := range pres.Results {
			top = math.Max(top, row.Metrics[0].Float64())
		}
		for _, row := range pres.Results {
			label := row.Dimensions[0]
			pr := panelRow{Label: label, Link: p.with(pd.dim, label)}
			if label == "" {
				pr.Label = "(none)"
			}
			for _, m := range row.Metrics {
				pr.Values = append(pr.Values, formatMetric(m, site))
			}
			if top > 0 {
				pr.Share = row.Metrics[0].Float64() / top * 100
			}
			pn.Rows = append(pn.Rows, pr)
		}
		v.Panels = append(v.Panels, pn)
	}
	// No visitor in the range: if the site has no event at all, it is waiting for its first one.
	if len(res.Results) > 0 && res.Results[0].Metrics[0].IsZero() && len(p.Filters) == 0 {
		total, err := s.Opt.Events.CountEvents(r.Context(), site.ID, tributary.EarliestEventTime, s.Opt.Now().Add(time.Hour))
		if err != nil {
			return err
		}
		if total == 0 {
			v.Waiting = &waitingView{Domain: site.Domain, Drops: core.Drops.Recent(site.ID),
				Snippet: `<script defer src="` + s.BaseURL(r) + `/js/tributary.js" data-site="` + site.ID + `"></script>`}
		}
	}
	n, err := s.Opt.Events.RecentVisitors(r.Context(), site.ID, s.Opt.Now().Add(-5*time.Minute))
	if err != nil {
		return err
	}
	v.Realtime = n
	return s.render(w, r, http.StatusOK, "dashboard.html", page{Title: site.Name, Data: v})
}

// withChanges sets the comparison of a one-row result from another period's result, as the query API's
// compare does: the change in percent to one decimal, none when the other period is zero.
func withChanges(cur, prev *stats.Result) {
	if len(cur.Results) == 0 || len(prev.Results) == 0 {
		return
	}
	row, prow := &cur.Results[0], prev.Results[0]
	c := &stats.Comparison{Metrics: prow.Metrics}
	for i := range row.Metrics {
		v := row.Metrics[i].Float64()
		var pv float64
		if i < len(prow.Metrics) {
			pv = prow.Metrics[i].Float64()
		}
		if pv == 0 {
			c.Change = append(c.Change, nil)
			continue
		}
		ch := math.Round((v-pv)/math.Abs(pv)*1000) / 10
		c.Change = append(c.Change, &ch)
	}
	row.Comparison = c
}

func addKPIs(v *dashView, metrics []string, res *stats.Result) {
	if len(res.Results) == 0 {
		return
	}
	row := res.Results[0]
	for i, m := range metrics {
		k := kpi{Label: stats.MetricLabel(m), Value: formatMetric(row.Metrics[i], v.Site)}
		if row.Comparison != nil && row.Comparison.Change[i] != nil {
			ch := *row.Comparison.Change[i]
			k.Up = ch >= 0
			k.Change = formatChange(numfmt.Get(v.Site.Locale), ch)
		}
		v.KPIs = append(v.KPIs, k)
	}
}

// formatMetric renders a metric's value for people in the site's locale, by its unit: money exactly,
// with its currency; counts grouped; percentages with the sign.
func formatMetric(v stats.Value, site *tributary.Site) string {
	l := numfmt.Get(site.Locale)
	switch v.Unit() {
	case stats.Money:
		return l.Money(v.String(), v.Currency())
	case stats.Percent:
		return l.PercentText(v.String())
	}
	return l.Number(v.String())
}

// formatChange renders a period-over-period change with its sign ("+12.5%").
func formatChange(l numfmt.Locale, ch float64) string {
	s := l.Percent(ch, 1)
	if ch >= 0 {
		s = "+" + s
	}
	return s
}

// HandleExport is the CSV export of one dashboard panel.
func (s *UI) HandleExport(w http.ResponseWriter, r *http.Request) error {
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := parseDash(r)
	dim := r.URL.Query().Get("dim")
	metrics := []string{"visitors", "visits", "conversions", "conversion_rate", "revenue", "refunds", "net_revenue"}
	var dims []string
	if dim != "" {
		dims = []string{dim}
	}
	res, err := s.RunQuery(r, site, p.query(site.ID, metrics, dims, 10000, false))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+site.ID+`-`+strings.ReplaceAll(strings.TrimPrefix(dim, "visit:"), ":", "_")+`.csv"`)
	return res.WriteCSV(w)
}

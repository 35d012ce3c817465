package ui

import (
	"math"
	"net/url"
	"sort"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/numfmt"
	"github.com/tributary/tributary/stats"
)

// The dashboard's goals panel: the site's custom events (every name but pageviews and those classified
// "ignored"), conversions first, then goals, then the unclassified ones, with the visitors who sent
// each, how often it was sent, the conversion rate (those visitors over all visitors of the view) and,
// for money goals, the revenue their server events recorded.

type goalRow struct {
	Name, Kind, Visitors, Events, Rate, Revenue string
	Share                                       float64
}

// goalsQuery asks for visitors, events and revenue per goal (event:goal: the custom events, not ignored
// ones; revenue from the payments money goals' server events became) under the dashboard's controls.
func (p dashParams) goalsQuery(siteID string) []byte {
	body := map[string]any{"site_id": siteID, "metrics": []string{"visitors", "events", "revenue"}, "dimensions": []string{stats.GoalDimension},
		"date_range": p.Range, "limit": 100}
	return p.withControls(body)
}

var kindOrder = map[string]int{tributary.KindConversion: 0, tributary.KindGoal: 1, tributary.KindUnclassified: 2}

// goalRows builds the panel from the query's rows, the catalog's kinds and the view's visitors.
func goalRows(res *stats.Result, kinds map[string]string, totalVisitors float64, site *tributary.Site) []goalRow {
	type raw struct {
		name, kind              string
		visitors, evts, revenue stats.Value
	}
	var rows []raw
	for _, r := range res.Results {
		if len(r.Dimensions) == 0 || len(r.Metrics) < 2 {
			continue
		}
		k := kinds[r.Dimensions[0]]
		if k == tributary.KindIgnored {
			continue
		}
		if k == "" {
			k = tributary.KindUnclassified
		}
		var rev stats.Value
		if len(r.Metrics) > 2 {
			rev = r.Metrics[2]
		}
		rows = append(rows, raw{name: r.Dimensions[0], kind: k, visitors: r.Metrics[0], evts: r.Metrics[1], revenue: rev})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if kindOrder[rows[i].kind] != kindOrder[rows[j].kind] {
			return kindOrder[rows[i].kind] < kindOrder[rows[j].kind]
		}
		if vi, vj := rows[i].visitors.Float64(), rows[j].visitors.Float64(); vi != vj {
			return vi > vj
		}
		return rows[i].name < rows[j].name
	})
	top := 0.0
	for _, r := range rows {
		top = math.Max(top, r.visitors.Float64())
	}
	out := make([]goalRow, 0, len(rows))
	for _, r := range rows {
		g := goalRow{Name: r.name, Kind: r.kind, Visitors: formatMetric(r.visitors, site), Events: formatMetric(r.evts, site), Revenue: "—"}
		if !r.revenue.IsZero() {
			g.Revenue = formatMetric(r.revenue, site) // a money goal
		}
		rate := 0.0
		if totalVisitors > 0 {
			rate = math.Round(r.visitors.Float64()/totalVisitors*1000) / 10
		}
		g.Rate = numfmt.Get(site.Locale).Percent(rate, 1) // one decimal, as computed here
		if top > 0 {
			g.Share = r.visitors.Float64() / top * 100
		}
		out = append(out, g)
	}
	return out
}

// catalogLink is the settings page's event catalog, where kinds are set.
func catalogLink(siteID string) string {
	return "/sites/" + url.PathEscape(siteID) + "/settings#catalog"
}

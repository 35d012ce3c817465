package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stats"
)

// TestChartLabelsFromValues: the chart writes the result's values as the panels do (money with the
// currency's decimals, an empty bucket as the metric's zero) and its ticks in the metric's unit.
func TestChartLabelsFromValues(t *testing.T) {
	site := &tributary.Site{ID: "s1", Currency: "EUR", Timezone: "UTC", Locale: "en-US"}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 3)
	row := func(day string, v stats.Value) stats.ResultRow {
		return stats.ResultRow{Dimensions: []string{day + " 00:00:00"}, Metrics: []stats.Value{v}}
	}
	cur := &stats.Result{Results: []stats.ResultRow{
		row("2026-11-01", stats.NewValue("revenue", 12.3, "EUR")),
		row("2026-11-03", stats.NewValue("revenue", 4.05, "EUR")),
	}}
	c := buildChart(site, "revenue", "time:day", from, to, cur, time.Time{}, nil)
	var bars, ticks []string
	for _, b := range c.Bars {
		bars = append(bars, b.Label)
	}
	for _, tk := range c.YTicks {
		ticks = append(ticks, tk.Label)
	}
	if got, want := strings.Join(bars, " | "), "Nov 1: €12.30 | Nov 2: €0.00 | Nov 3: €4.05"; got != want {
		t.Errorf("bars %s, want %s", got, want)
	}
	if got, want := strings.Join(ticks, " "), "€0.00 €5.00 €10.00 €15.00"; got != want {
		t.Errorf("ticks %s, want %s", got, want)
	}
	if !strings.HasSuffix(c.Summary, ", highest €12.30") {
		t.Errorf("summary %q", c.Summary)
	}

	visits := &stats.Result{Results: []stats.ResultRow{row("2026-11-02", stats.NewValue("visitors", 1234, ""))}}
	c = buildChart(site, "visitors", "time:day", from, to, visits, time.Time{}, nil)
	if got := c.Bars[1].Label + " " + c.YTicks[1].Label; got != "Nov 2: 1,234 500" {
		t.Errorf("visitors: %s", got)
	}
}

// TestFormatMetricByUnit: the dashboard formats a value by its unit, in the site's locale.
func TestFormatMetricByUnit(t *testing.T) {
	site := &tributary.Site{Currency: "EUR", Locale: "en-US"}
	for _, tc := range []struct {
		v    stats.Value
		want string
	}{
		{stats.NewValue("revenue", -1234.5, "EUR"), "-€1,234.50"},
		{stats.NewValue("revenue", 5000, "JPY"), "¥5,000"},
		{stats.NewValue("conversion_rate", 12.5, ""), "12.5%"},
		{stats.NewValue("views_per_visit", 1.25, ""), "1.25"},
		{stats.NewValue("visit_duration", 61, ""), "61"},
		{stats.NewValue("visitors", 12345, ""), "12,345"},
	} {
		if got := formatMetric(tc.v, site); got != tc.want {
			t.Errorf("formatMetric(%s) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

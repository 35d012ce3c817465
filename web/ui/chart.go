package ui

import (
	"math"
	"strconv"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stats"
)

// The dashboard's time chart, rendered on the server as SVG (nothing is fetched at run time): a bar
// per bucket of the range — every bucket, zero where nothing happened —, axes with ticks in the metric's
// unit (money in the site's currency), and the previous period as a line when comparing.

type bar struct {
	X, Y, W, H float64
	Label      string
}

type tick struct {
	X, Y  float64
	Label string
}

type chart struct {
	Title                      string
	Width, Height              float64
	PlotX, PlotY, PlotW, PlotH float64
	Bars                       []bar
	Prev                       string // SVG polyline points of the previous period, when comparing
	PrevLabel                  string
	YTicks, XTicks             []tick
	Summary                    string // the chart in words, for screen readers
}

// XAxisY is the baseline's height.
func (c chart) XAxisY() float64 { return c.PlotY + c.PlotH }

// chartNames are the chart's titles per metric.
var chartNames = map[string]string{"visitors": "Visitors", "visits": "Visits", "pageviews": "Pageviews", "revenue": "Revenue",
	"net_revenue": "Net revenue", "conversions": "Conversions", "payments": "Payments"}

var unitNames = map[string]string{"time:hour": "hour", "time:day": "day", "time:month": "month"}

// chartUnit is the bucket of a dashboard range: hours for a day, months for a year or everything.
func chartUnit(rng string) string {
	switch rng {
	case "day":
		return "time:hour"
	case "year", "all":
		return "time:month"
	}
	return "time:day"
}

// buckets lists the starts of every bucket of [from, to) in loc, formatted as the query API's time
// dimensions are ("2006-01-02 15:04:05", local time).
func buckets(from, to time.Time, unit string, loc *time.Location) []time.Time {
	var out []time.Time
	t := from.In(loc)
	switch unit {
	case "time:hour":
		t = t.Truncate(time.Hour)
	case "time:day":
		t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	case "time:month":
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	}
	for ; t.Before(to) && len(out) < 1000; t = next(t, unit, loc) {
		out = append(out, t)
	}
	return out
}

func next(t time.Time, unit string, loc *time.Location) time.Time {
	switch unit {
	case "time:hour":
		return t.Add(time.Hour).In(loc)
	case "time:month":
		return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

const bucketFormat = "2006-01-02 15:04:05"

// series maps a time query's rows onto the buckets, zero where a bucket has no row.
func series(res *stats.Result, bs []time.Time, zero stats.Value) []stats.Value {
	byKey := map[string]stats.Value{}
	for _, row := range res.Results {
		if len(row.Dimensions) > 0 && len(row.Metrics) > 0 {
			byKey[row.Dimensions[0]] = row.Metrics[0]
		}
	}
	out := make([]stats.Value, len(bs))
	for i, b := range bs {
		v, ok := byKey[b.Format(bucketFormat)]
		if !ok {
			v = zero
		}
		out[i] = v
	}
	return out
}

// floats are the values as numbers, for the chart's geometry.
func floats(vs []stats.Value) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v.Float64()
	}
	return out
}

// niceStep is the tick step for a maximum: 1, 2 or 5 times a power of ten, about four ticks high.
func niceStep(max float64, whole bool) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p * 10
	for _, m := range []float64{1, 2, 5} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	if whole && step < 1 {
		step = 1
	}
	return step
}

// buildChart draws metric over the buckets of [from, to); prev, when not nil, is the previous period's
// result over the buckets of [prevFrom, from).
func buildChart(site *tributary.Site, metric, unit string, from, to time.Time, cur *stats.Result, prevFrom time.Time, prev *stats.Result) chart {
	loc := site.Location()
	c := chart{Width: 960, Height: 240, PlotX: 72, PlotY: 10, Title: chartNames[metric] + " per " + unitNames[unit]}
	if isMoney(metric) {
		c.Title += " (" + site.Currency + ")"
	}
	c.PlotW, c.PlotH = c.Width-c.PlotX-8, c.Height-c.PlotY-28
	bs := buckets(from, to, unit, loc)
	zero := stats.NewValue(metric, 0, site.Currency)
	if unit == "time:month" && len(bs) > 24 {
		// "all": from the first month with data (at least the last twelve months).
		first := len(bs) - 12
		for i, v := range series(cur, bs, zero) {
			if !v.IsZero() {
				first = min(i, first)
				break
			}
		}
		bs = bs[max(first, 0):]
	}
	values := series(cur, bs, zero)
	vals := floats(values)
	var pvals []float64
	if prev != nil {
		pvals = floats(series(prev, buckets(prevFrom, from, unit, loc), zero))
	}
	maxV := 0.0
	for _, v := range append(append([]float64{}, vals...), pvals...) {
		maxV = math.Max(maxV, v)
	}
	step := niceStep(maxV, !isMoney(metric))
	top := step * math.Max(1, math.Ceil(maxV/step))
	y := func(v float64) float64 { return c.PlotY + c.PlotH - v/top*c.PlotH }
	for k := 0; float64(k)*step <= top+step/2; k++ {
		v := float64(k) * step
		c.YTicks = append(c.YTicks, tick{X: c.PlotX - 6, Y: y(v), Label: formatMetric(stats.NewValue(metric, v, site.Currency), site)})
	}
	n := len(bs)
	if n == 0 {
		return c
	}
	bw := c.PlotW / float64(n)
	labelEvery := int(math.Ceil(float64(n) / 6))
	for i, b := range bs {
		x := c.PlotX + float64(i)*bw
		label := b.Format(bucketLabel(unit))
		c.Bars = append(c.Bars, bar{X: x + bw*0.1, Y: y(vals[i]), W: math.Max(bw*0.8, 0.5), H: c.PlotY + c.PlotH - y(vals[i]),
			Label: label + ": " + formatMetric(values[i], site)})
		if i%labelEvery == 0 {
			c.XTicks = append(c.XTicks, tick{X: x + bw/2, Y: c.PlotY + c.PlotH + 16, Label: label})
		}
	}
	if pvals != nil {
		pts := make([]byte, 0, n*16)
		for i := 0; i < n && i < len(pvals); i++ {
			pts = strconv.AppendFloat(pts, c.PlotX+float64(i)*bw+bw/2, 'f', 1, 64)
			pts = append(pts, ',')
			pts = strconv.AppendFloat(pts, y(pvals[i]), 'f', 1, 64)
			pts = append(pts, ' ')
		}
		c.Prev = string(pts)
		c.PrevLabel = "previous period"
	}
	total := 0.0
	for _, v := range vals {
		total += v
	}
	c.Summary = c.Title + ", " + strconv.Itoa(n) + " " + unitNames[unit] + "s from " + bs[0].Format(bucketLabel(unit)) + " to " + bs[n-1].Format(bucketLabel(unit)) +
		", highest " + formatMetric(highest(values, zero), site)
	return c
}

// highest is the largest of vs, zero when none is above it.
func highest(vs []stats.Value, zero stats.Value) stats.Value {
	m := zero
	for _, v := range vs {
		if v.Float64() > m.Float64() {
			m = v
		}
	}
	return m
}

func bucketLabel(unit string) string {
	switch unit {
	case "time:hour":
		return "15:04"
	case "time:month":
		return "Jan 2006"
	}
	return "Jan 2"
}

func isMoney(metric string) bool {
	switch metric {
	case "revenue", "net_revenue", "refunds", "disputes", "average_order_value", "revenue_per_visitor", "mrr":
		return true
	}
	return false
}

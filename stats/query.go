// Package stats is the engine behind POST /api/v1/query and every dashboard panel: a Query (modelled on
// Plausible's Stats API v2) is validated, traffic metrics are computed in SQL through a small dialect
// layer, and money metrics are computed from the ledger with each payment credited to its touchpoints
// under the chosen attribution model.
package stats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

// Filter is one condition: [operator, dimension, [values]].
type Filter struct {
	Op     string
	Dim    string
	Values []string
	re     []*regexp.Regexp
	// Children hold the operands of "and"/"or".
	Children []Filter
}

// Query is a validated request.
type Query struct {
	Site        *tributary.Site
	Metrics     []string
	Dimensions  []string
	Filters     []Filter
	From, To    time.Time // [From, To) in UTC
	RangeLabel  string
	OrderBy     [][2]string
	Limit       int
	Offset      int
	Model       attribution.Model
	Lookback    time.Duration
	LookbackDay int
	Compare     bool
	Test        bool // test-mode money instead of live
	// ConversionNames are the event names classified as conversions (from the event catalog).
	ConversionNames []string
	// IgnoredNames are the event names classified as ignored: not goals (event:goal leaves them out).
	IgnoredNames []string
	// Funnel, when set, makes the query a funnel (funnel.go): one row per step.
	Funnel []FunnelStep
}

type rawQuery struct {
	SiteID      string            `json:"site_id"`
	Metrics     []string          `json:"metrics"`
	DateRange   json.RawMessage   `json:"date_range"`
	Dimensions  []string          `json:"dimensions"`
	Filters     []json.RawMessage `json:"filters"`
	OrderBy     [][]string        `json:"order_by"`
	Limit       *int              `json:"limit"`
	Offset      int               `json:"offset"`
	Attribution *struct {
		Model        string `json:"model"`
		LookbackDays int    `json:"lookback_days"`
	} `json:"attribution"`
	Compare string `json:"compare"`
	Mode    string `json:"mode"`
	Funnel  *struct {
		Steps []FunnelStep `json:"steps"`
	} `json:"funnel"`
}

// SiteID reads only the site id of a request body, so the caller can load the site first.
func SiteID(body []byte) (string, error) {
	var r struct {
		SiteID string `json:"site_id"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", tributary.Errorf(tributary.EINVALID, "malformed JSON: %v", err)
	}
	if r.SiteID == "" {
		return "", tributary.FieldError("site_id", "site_id is required")
	}
	return r.SiteID, nil
}

// ParseQuery validates a request body for site at time now; errors name the offending field.
func ParseQuery(body []byte, site *tributary.Site, now time.Time) (*Query, error) {
	var r rawQuery
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return nil, tributary.FieldError(name, "unknown field %q", name)
		}
		return nil, tributary.Errorf(tributary.EINVALID, "malformed JSON: %v", err)
	}
	q := &Query{Site: site, Limit: 100, Offset: r.Offset, Model: attribution.DefaultModel, LookbackDay: attribution.DefaultLookbackDays}
	if r.Funnel != nil {
		if err := ParseFunnelSteps(r.Funnel.Steps, "funnel.steps"); err != nil {
			return nil, err
		}
		q.Funnel = r.Funnel.Steps
		switch {
		case len(r.Dimensions) > 0:
			return nil, tributary.FieldError("dimensions", "a funnel query has no dimensions: its rows are the steps")
		case r.Compare != "":
			return nil, tributary.FieldError("compare", "a funnel query cannot be compared with the previous period yet")
		case len(r.OrderBy) > 0:
			return nil, tributary.FieldError("order_by", "a funnel's rows are its steps, in order")
		}
		for i, m := range r.Metrics {
			if !contains(funnelMetrics, m) {
				return nil, tributary.FieldError(fmt.Sprintf("metrics[%d]", i), "a funnel answers %s; got %q", strings.Join(funnelMetrics, ", "), m)
			}
		}
		q.Metrics = append([]string(nil), r.Metrics...)
		if len(q.Metrics) == 0 {
			q.Metrics = append([]string(nil), funnelMetrics...)
		}
		r.Metrics, r.Compare = []string{"visitors"}, "" // the rest is validated as for any query
	}
	if len(r.Metrics) == 0 {
		return nil, tributary.FieldError("metrics", "metrics is required, e.g. [\"visitors\", \"revenue\"]")
	}
	fams := map[Family]bool{}
	for i, m := range r.Metrics {
		f, ok := metricFamily[m]
		if !ok {
			return nil, tributary.FieldError(fmt.Sprintf("metrics[%d]", i), "unknown metric %q", m)
		}
		fams[f] = true
		if q.Funnel == nil {
			q.Metrics = append(q.Metrics, m)
		}
	}
	for i, d := range r.Dimensions {
		field := fmt.Sprintf("dimensions[%d]", i)
		switch {
		case visitDims[d] != "", timeDims[d] != "", paymentDims[d], d == "event:page", d == "event:name", d == GoalDimension:
		case strings.HasPrefix(d, "event:props:"):
			if err := checkPropDimension(field, d); err != nil {
				return nil, err
			}
		default:
			return nil, tributary.FieldError(field, "unknown dimension %q", d)
		}
		for mi, m := range q.Metrics {
			if err := combinable(m, d); err != nil {
				return nil, tributary.FieldError(fmt.Sprintf("metrics[%d]", mi), "%s", err.Error())
			}
		}
		q.Dimensions = append(q.Dimensions, d)
	}
	if len(q.Dimensions) > 3 {
		return nil, tributary.FieldError("dimensions", "at most 3 dimensions")
	}
	if len(q.Dimensions) > 1 && contains(q.Dimensions, GoalDimension) {
		for mi, m := range q.Metrics {
			if m == "revenue" || m == "conversion_rate" {
				return nil, tributary.FieldError(fmt.Sprintf("metrics[%d]", mi), "%s by %s needs %s as the only dimension", m, GoalDimension, GoalDimension)
			}
		}
	}
	for i, raw := range r.Filters {
		field := filterField("filters", i)
		if err := checkFilterShape(raw, field); err != nil {
			return nil, err
		}
		f, err := parseFilter(raw, field)
		if err != nil {
			return nil, err
		}
		q.Filters = append(q.Filters, f)
		if n := countFilters(q.Filters); n > MaxFilters {
			return nil, tributary.FieldError("filters", "a query holds at most %d filters (MaxFilters), nested ones included; got more", MaxFilters)
		}
	}
	if err := q.dateRange(r.DateRange, now); err != nil {
		return nil, err
	}
	if r.Attribution != nil {
		m, err := attribution.ParseModel(r.Attribution.Model)
		if err != nil {
			return nil, err
		}
		q.Model = m
		if r.Attribution.LookbackDays != 0 {
			if _, err := attribution.Lookback(r.Attribution.LookbackDays); err != nil {
				return nil, err
			}
			q.LookbackDay = r.Attribution.LookbackDays
		}
	}
	q.Lookback = time.Duration(q.LookbackDay) * 24 * time.Hour
	switch r.Compare {
	case "":
	case "previous_period":
		q.Compare = true
	default:
		return nil, tributary.FieldError("compare", "compare must be \"previous_period\"")
	}
	switch r.Mode {
	case "", "live":
	case "test":
		q.Test = true
	default:
		return nil, tributary.FieldError("mode", "mode must be live or test")
	}
	if r.Limit != nil {
		if *r.Limit < 1 || *r.Limit > 10000 {
			return nil, tributary.FieldError("limit", "limit must be 1 to 10000")
		}
		q.Limit = *r.Limit
	}
	if q.Offset < 0 {
		return nil, tributary.FieldError("offset", "offset must not be negative")
	}
	for i, o := range r.OrderBy {
		if len(o) != 2 || (o[1] != "asc" && o[1] != "desc") {
			return nil, tributary.FieldError(fmt.Sprintf("order_by[%d]", i), "order_by entries are [\"metric or dimension\", \"asc\"|\"desc\"]")
		}
		if !contains(q.Metrics, o[0]) && !contains(q.Dimensions, o[0]) {
			return nil, tributary.FieldError(fmt.Sprintf("order_by[%d]", i), "%q is not among the query's metrics or dimensions", o[0])
		}
		q.OrderBy = append(q.OrderBy, [2]string{o[0], o[1]})
	}
	_ = fams
	return q, nil
}

// combinable says whether metric m can be broken down by dimension d.
func combinable(m, d string) error {
	fam := metricFamily[m]
	switch {
	case timeDims[d] != "":
		return nil
	case fam == MRR:
		return fmt.Errorf("%s cannot be broken down by %s: MRR belongs to subscriptions, not to visits or pages (use a time dimension)", m, d)
	case paymentDims[d] && fam != Revenue:
		return fmt.Errorf("%s cannot be broken down by %s: payment dimensions apply to money metrics", m, d)
	case d == GoalDimension && (m == "revenue" || m == "conversion_rate"):
		return nil // goalMetrics: each goal's money events, and its visitors over all visitors
	case isEventDim(d) && fam == Revenue:
		return fmt.Errorf("%s cannot be broken down by %s: money is credited to visits, not to single events (event:goal answers revenue)", m, d)
	case isEventDim(d) && m != "pageviews" && m != "events" && m != "visitors":
		return fmt.Errorf("%s cannot be broken down by %s: use pageviews, events or visitors", m, d)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// GoalDimension is Plausible's name for a breakdown by goal: every custom event name (not pageviews,
// not names classified "ignored" in the event catalog), with visitors and events.
const GoalDimension = "event:goal"

// DirectSource is how answers (the query API, CSV, the dashboard) name the source of direct traffic,
// whose stored source is empty; filters accept it as well as "".
const DirectSource = "Direct / None"

var filterOps = map[string]bool{"is": true, "is_not": true, "contains": true, "matches": true}

func parseFilter(raw json.RawMessage, field string) (Filter, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) < 2 {
		return Filter{}, tributary.FieldError(field, "a filter is [operator, dimension, [values]] or [\"and\"|\"or\", [filters]]")
	}
	var op string
	if err := json.Unmarshal(parts[0], &op); err != nil {
		return Filter{}, tributary.FieldError(field, "the filter operator must be a string")
	}
	if op == "and" || op == "or" {
		var kids []json.RawMessage
		if err := json.Unmarshal(parts[1], &kids); err != nil || len(kids) == 0 {
			return Filter{}, tributary.FieldError(field, "%s takes a list of filters", op)
		}
		if len(kids) > MaxFilters {
			return Filter{}, tributary.FieldError(field, "%s lists %d filters; a query holds at most %d (MaxFilters)", op, len(kids), MaxFilters)
		}
		f := Filter{Op: op}
		for i, k := range kids {
			c, err := parseFilter(k, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return Filter{}, err
			}
			f.Children = append(f.Children, c)
		}
		return f, nil
	}
	if !filterOps[op] {
		return Filter{}, tributary.FieldError(field, "unknown filter operator %q; use is, is_not, contains, matches, and, or", op)
	}
	if len(parts) != 3 {
		return Filter{}, tributary.FieldError(field, "a filter is [operator, dimension, [values]]")
	}
	var dim string
	var vals []string
	if json.Unmarshal(parts[1], &dim) != nil || json.Unmarshal(parts[2], &vals) != nil || len(vals) == 0 {
		return Filter{}, tributary.FieldError(field, "a filter is [operator, dimension, [values]] with string values")
	}
	if visitDims[dim] == "" && dim != "event:page" && dim != "event:name" && !strings.HasPrefix(dim, "event:props:") {
		return Filter{}, tributary.FieldError(field, "cannot filter by %q; filter by visit:* or event:* dimensions", dim)
	}
	if strings.HasPrefix(dim, "event:props:") {
		if err := checkPropDimension(field, dim); err != nil {
			return Filter{}, err
		}
	}
	if err := checkFilterValues(field, op, vals); err != nil {
		return Filter{}, err
	}
	if dim == "visit:source" && (op == "is" || op == "is_not") {
		// Answers name direct traffic's empty source DirectSource; a filter may use either.
		vals = append([]string(nil), vals...)
		for i, v := range vals {
			if v == DirectSource {
				vals[i] = ""
			}
		}
	}
	f := Filter{Op: op, Dim: dim, Values: vals}
	if op == "matches" {
		for _, v := range vals {
			re, err := regexp.Compile(v)
			if err != nil {
				return Filter{}, tributary.FieldError(field, "invalid regular expression %q: %v", v, err)
			}
			f.re = append(f.re, re)
		}
	}
	return f, nil
}

// dateRange resolves "day", "7d", "30d", "month", "year", "all" or ["2026-11-01", "2026-11-20"] in the
// site's time zone; custom ranges include both dates. ["2026-11-20T00:00:00Z", "2026-11-20T09:30:00Z"]
// (RFC 3339 times) is the exact range [from, to).
func (q *Query) dateRange(raw json.RawMessage, now time.Time) error {
	loc := q.Site.Location()
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	if len(raw) == 0 {
		raw = json.RawMessage(`"30d"`)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		q.RangeLabel = s
		switch s {
		case "day":
			q.From, q.To = today, today.AddDate(0, 0, 1)
		case "7d":
			q.From, q.To = today.AddDate(0, 0, -6), today.AddDate(0, 0, 1)
		case "30d":
			q.From, q.To = today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)
		case "month":
			q.From = time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
			q.To = q.From.AddDate(0, 1, 0)
		case "year":
			q.From = time.Date(local.Year(), 1, 1, 0, 0, 0, 0, loc)
			q.To = q.From.AddDate(1, 0, 0)
		case "all":
			q.From, q.To = time.Date(2000, 1, 1, 0, 0, 0, 0, loc), today.AddDate(0, 0, 1)
		default:
			return tributary.FieldError("date_range", "date_range must be day, 7d, 30d, month, year, all or [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]")
		}
		q.From, q.To = q.From.UTC(), q.To.UTC()
		return nil
	}
	var pair []string
	if json.Unmarshal(raw, &pair) != nil || len(pair) != 2 {
		return tributary.FieldError("date_range", "date_range must be day, 7d, 30d, month, year, all or [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]")
	}
	// Two RFC 3339 times are an exact [from, to) range (the dashboard compares "today so far" with the
	// same hours of yesterday that way).
	if f, err := time.Parse(time.RFC3339, pair[0]); err == nil {
		t, err := time.Parse(time.RFC3339, pair[1])
		if err != nil || !t.After(f) {
			return tributary.FieldError("date_range", "a range of two RFC 3339 times must end after it starts")
		}
		if t.Sub(f) > 20*366*24*time.Hour {
			return tributary.FieldError("date_range", "the range is longer than 20 years")
		}
		q.RangeLabel = "custom"
		q.From, q.To = f.UTC(), t.UTC()
		return nil
	}
	from, err1 := time.ParseInLocation("2006-01-02", pair[0], loc)
	to, err2 := time.ParseInLocation("2006-01-02", pair[1], loc)
	if err1 != nil || err2 != nil {
		return tributary.FieldError("date_range", "dates must be YYYY-MM-DD")
	}
	if to.Before(from) {
		return tributary.FieldError("date_range", "the range ends before it starts")
	}
	if to.Sub(from) > 20*366*24*time.Hour {
		return tributary.FieldError("date_range", "the range is longer than 20 years")
	}
	q.RangeLabel = "custom"
	q.From, q.To = from.UTC(), to.AddDate(0, 0, 1).UTC()
	return nil
}

package stats

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// Funnels: ordered steps, each a pageview of a path (exact, or with * for one path segment and ** for
// anything) or a custom event by name. A visitor counts at step n when, within the query's range, they
// did steps 1..n in that order: each step at or after the one before (the same second counts as after,
// because ClickHouse keeps whole seconds), each by a different event. The query's filters choose the
// visits whose events count, as for every panel.
//
// The SQL reads, per visitor, the time-ordered trail of their events that match any step (a dialect
// aggregate: DuckDB's ordered string_agg, ClickHouse's arraySort over groupArray, which 18.16 has
// where it lacks window functions); the steps are then walked in Go, once per visitor.

// FunnelDimension names a funnel answer's only dimension: each row is a step, labelled with its path or
// event name, in the funnel's order.
const FunnelDimension = "funnel:step"

// Funnel metrics, in the order an answer lists them by default.
var funnelMetrics = []string{"visitors", "conversion_rate", "dropoff", "dropoff_rate"}

// Bounds of a funnel definition.
const (
	MinFunnelSteps = 2
	MaxFunnelSteps = 8
)

// FunnelStep is one step: exactly one of Page and Event is set.
type FunnelStep struct {
	Page  string `json:"page,omitempty"`
	Event string `json:"event,omitempty"`
}

// Label is how an answer names the step: its path pattern or event name.
func (s FunnelStep) Label() string {
	if s.Page != "" {
		return s.Page
	}
	return s.Event
}

// ParseFunnelSteps validates steps (field names the JSON path for errors, e.g. "funnel.steps").
func ParseFunnelSteps(steps []FunnelStep, field string) error {
	if len(steps) < MinFunnelSteps || len(steps) > MaxFunnelSteps {
		return tributary.FieldError(field, "a funnel has %d to %d steps, got %d", MinFunnelSteps, MaxFunnelSteps, len(steps))
	}
	for i, s := range steps {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case (s.Page == "") == (s.Event == ""):
			return tributary.FieldError(f, `a step is {"page": "/path"} or {"event": "name"}, exactly one of them`)
		case s.Page != "" && !strings.HasPrefix(s.Page, "/"):
			return tributary.FieldError(f, "a page step is a path starting with /, e.g. \"/pricing\" or \"/blog/*\"")
		case len(s.Label()) > MaxFilterValueLen:
			return tributary.FieldError(f, "a step is at most %d bytes", MaxFilterValueLen)
		case strings.ContainsRune(s.Label(), 0):
			return tributary.FieldError(f, "a step must not contain NUL")
		}
	}
	return nil
}

// pagePattern turns a page step into an anchored RE2 expression when it has a wildcard: * is one path
// segment (no /), ** anything.
func pagePattern(p string) (string, bool) {
	if !strings.Contains(p, "*") {
		return "", false
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i += 2
		case p[i] == '*':
			b.WriteString("[^/]*")
			i++
		default:
			j := i
			for j < len(p) && p[j] != '*' {
				j++
			}
			b.WriteString(regexp.QuoteMeta(p[i:j]))
			i = j
		}
	}
	b.WriteString("$")
	return b.String(), true
}

// stepCond is the SQL condition an event meets to be step s.
func (e *Engine) stepCond(s FunnelStep, a *args) string {
	if s.Event != "" {
		return "name = " + a.add(s.Event)
	}
	if re, ok := pagePattern(s.Page); ok {
		return "(name = 'pageview' AND " + e.d.Regexp("path", a.add(re)) + ")"
	}
	return "(name = 'pageview' AND path = " + a.add(s.Page) + ")"
}

// funnelCounts returns how many visitors reached each step of q's funnel in [from, to).
func (e *Engine) funnelCounts(ctx context.Context, q *Query, from, to time.Time) ([]int64, error) {
	a := &args{d: e.d}
	site := q.Site.ID
	var conds, bits []string
	for i, s := range q.Funnel {
		c := e.stepCond(s, a)
		conds = append(conds, c)
		bits = append(bits, "(CASE WHEN "+c+" THEN "+strconv.Itoa(1<<i)+" ELSE 0 END)")
	}
	ps, pf, pt := a.add(site), a.add(from), a.add(to)
	where := "site_id = " + ps + " AND ts >= " + pf + " AND ts < " + pt + " AND (" + strings.Join(conds, " OR ") + ")"
	if f := e.filterSQL(q.Filters, a, site, from, to, false); f != "" {
		// Filters pick visits, as on every panel: the funnel reads the events of the matching visits.
		where += " AND session_id IN (SELECT session_id FROM " + e.d.Visits(ps, pf, pt) + " s WHERE site_id = " + ps +
			" AND start_ts >= " + pf + " AND start_ts < " + pt + " AND " + f + ")"
	}
	sqlText := "SELECT visitor_id, " + e.d.Trail("ts", strings.Join(bits, " + ")) + " FROM events WHERE " + where + " GROUP BY visitor_id"
	res, err := e.db.QueryContext(ctx, sqlText, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("stats: funnel: %w", err)
	}
	defer res.Close()
	counts := make([]int64, len(q.Funnel))
	for res.Next() {
		var visitor, trail string
		if err := res.Scan(&visitor, &trail); err != nil {
			return nil, fmt.Errorf("stats: funnel: %w", err)
		}
		for i := 0; i < funnelReach(trail, len(q.Funnel)); i++ {
			counts[i]++
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("stats: funnel: %w", err)
	}
	return counts, nil
}

// funnelReach walks a visitor's trail ("second:mask,…" in time order; bit i of mask set when the event
// is step i+1) and returns how many steps they completed in order. Each step is taken by the earliest
// event that can take it (which never does worse than a later one); events of one second count in any
// order among themselves, each for one step.
func funnelReach(trail string, steps int) int {
	type ev struct {
		sec  string
		mask int
		used bool
	}
	var evs []ev
	for _, item := range strings.Split(trail, ",") {
		sec, mask, ok := strings.Cut(item, ":")
		if !ok {
			continue
		}
		m, err := strconv.Atoi(mask)
		if err != nil {
			continue
		}
		evs = append(evs, ev{sec: sec, mask: m})
	}
	level := 0
	for i := 0; i < len(evs) && level < steps; {
		j := i
		for j < len(evs) && evs[j].sec == evs[i].sec {
			j++
		}
		for progressed := true; progressed && level < steps; {
			progressed = false
			for k := i; k < j; k++ {
				if !evs[k].used && evs[k].mask&(1<<level) != 0 {
					evs[k].used, progressed = true, true
					level++
					break
				}
			}
		}
		i = j
	}
	return level
}

// runFunnel answers a funnel query: one row per step with the visitors who reached it, the conversion
// rate from the first step, and the drop-off from the step before (visitors and percent).
func (e *Engine) runFunnel(ctx context.Context, q *Query) (*Result, error) {
	counts, err := e.funnelCounts(ctx, q, q.From, q.To)
	if err != nil {
		return nil, err
	}
	loc := siteLoc(q.Site)
	res := &Result{q: q, Meta: Meta{Metrics: q.Metrics, Dimensions: []string{FunnelDimension}, Currency: q.Site.Currency, TimeZone: q.Site.Timezone,
		DateRange: [2]string{q.From.In(loc).Format("2006-01-02"), q.To.In(loc).AddDate(0, 0, -1).Format("2006-01-02")},
		Model:     string(q.Model), LookbackDays: q.LookbackDay, Mode: "live", Total: len(counts)}, Results: []ResultRow{}}
	if q.Test {
		res.Meta.Mode = "test"
	}
	pct := func(a, b int64) Value {
		if b == 0 {
			return Value{unit: Percent}
		}
		return Value{unit: Percent, f: float64(int64(float64(a)*10000/float64(b)+0.5)) / 100}
	}
	for i, n := range counts {
		prev := n
		if i > 0 {
			prev = counts[i-1]
		}
		row := ResultRow{Dimensions: []string{q.Funnel[i].Label()}}
		for _, m := range q.Metrics {
			switch m {
			case "visitors":
				row.Metrics = append(row.Metrics, countValue(n))
			case "conversion_rate":
				row.Metrics = append(row.Metrics, pct(n, counts[0]))
			case "dropoff":
				row.Metrics = append(row.Metrics, countValue(prev-n))
			case "dropoff_rate":
				row.Metrics = append(row.Metrics, pct(prev-n, prev))
			}
		}
		res.Results = append(res.Results, row)
	}
	return res, nil
}

package ui

import (
	"net/http"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stats"
)

// The dashboard's funnel panel: steps written as one line ("/pricing, signup, purchase": a step that
// starts with / is a page, * one path segment and ** anything; any other step is an event name), taken
// from the URL (?funnel=, so a funnel can be shared) or else from the site's saved funnel (the panel's
// Save button). It runs under the dashboard's period, mode and filters, as every panel does.

// FunnelSetting names the site's saved funnel, stored as its text under
// tributary.SiteSettingKey(siteID, FunnelSetting).
const FunnelSetting = "funnel"

// funnelView is the panel.
type funnelView struct {
	Text  string // the steps as written
	Saved bool   // Text is the site's saved funnel
	Error string
	Rows  []funnelRow
}

type funnelRow struct {
	Label, Kind, Visitors, Conversion, Dropoff string
	Share                                      float64
}

// parseFunnelText reads "/pricing, signup, purchase" (commas, new lines or →) into steps.
func parseFunnelText(text string) []stats.FunnelStep {
	var steps []stats.FunnelStep
	for _, item := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == '→' }) {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case strings.HasPrefix(item, "/"):
			steps = append(steps, stats.FunnelStep{Page: item})
		default:
			steps = append(steps, stats.FunnelStep{Event: item})
		}
	}
	return steps
}

// funnelQuery is the query of the panel's steps under the dashboard's controls.
func (p dashParams) funnelQuery(siteID string, steps []stats.FunnelStep) []byte {
	body := map[string]any{"site_id": siteID, "date_range": p.Range, "funnel": map[string]any{"steps": steps}}
	return p.withControls(body)
}

// dashFunnel picks the panel's funnel (the URL's, else the site's saved one) and validates it; steps is
// nil when there is nothing to ask.
func (s *UI) dashFunnel(r *http.Request, site *tributary.Site, p dashParams) (*funnelView, []stats.FunnelStep, error) {
	v := &funnelView{Text: p.Funnel}
	saved, err := s.Opt.Meta.Setting(r.Context(), tributary.SiteSettingKey(site.ID, FunnelSetting))
	switch {
	case err == nil:
	case tributary.ErrorCode(err) == tributary.ENOTFOUND:
		saved = ""
	default:
		return nil, nil, err
	}
	if v.Text == "" {
		v.Text = saved
	}
	v.Saved = v.Text != "" && v.Text == saved
	if v.Text == "" {
		return v, nil, nil
	}
	steps := parseFunnelText(v.Text)
	if err := stats.ParseFunnelSteps(steps, "funnel"); err != nil {
		v.Error = tributary.ErrorMessage(err)
		return v, nil, nil
	}
	return v, steps, nil
}

// fill turns the funnel's answer into the panel's rows.
func (v *funnelView) fill(res *stats.Result, steps []stats.FunnelStep, site *tributary.Site) {
	var first float64
	for i, row := range res.Results {
		if len(row.Metrics) < 4 || i >= len(steps) {
			continue
		}
		n := row.Metrics[0].Float64()
		if i == 0 {
			first = n
		}
		fr := funnelRow{Label: row.Dimensions[0], Kind: "event", Visitors: formatMetric(row.Metrics[0], site),
			Conversion: formatMetric(row.Metrics[1], site), Dropoff: "—"}
		if steps[i].Page != "" {
			fr.Kind = "page"
		}
		if i > 0 {
			fr.Dropoff = formatMetric(row.Metrics[2], site) + " (" + formatMetric(row.Metrics[3], site) + ")"
		}
		if first > 0 {
			fr.Share = n / first * 100
		}
		v.Rows = append(v.Rows, fr)
	}
}

// postFunnel saves text as the site's funnel (empty: none); the dashboard then shows it by default.
func (s *UI) postFunnel(w http.ResponseWriter, r *http.Request, id, text string) error {
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	text = strings.TrimSpace(text)
	if text != "" {
		if err := stats.ParseFunnelSteps(parseFunnelText(text), "funnel"); err != nil {
			return err
		}
	}
	if err := s.Opt.Meta.PutSetting(r.Context(), tributary.SiteSettingKey(id, FunnelSetting), text); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+id+"#funnel", http.StatusSeeOther)
	return nil
}

// Values is the dashboard's query string as a map, for forms that keep the other controls.
func (p dashParams) Values() map[string][]string { return p.values() }

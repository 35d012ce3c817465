package api

import (
	"net/http"
	"sort"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/web/core"
)

// HandleQuery is POST /api/v1/query: owner session, admin token, or an API key with stats:read for the
// queried site. Accept: text/csv answers CSV.
func (s *API) HandleQuery(w http.ResponseWriter, r *http.Request) error {
	p := core.PrincipalFrom(r.Context())
	if p == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tributary"`)
		return tributary.Errorf(tributary.EUNAUTHORIZED, "log in, or send the admin token or an API key with stats:read")
	}
	body, err := core.ReadBody(w, r, s.Opt.MaxBodyBytes)
	if err != nil {
		return err
	}
	siteID, err := stats.SiteID(body)
	if err != nil {
		return err
	}
	site, err := s.statsSite(w, r, siteID)
	if err != nil {
		return err
	}
	res, err := s.RunQuery(r, site, body)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="tributary-`+site.ID+`.csv"`)
		return res.WriteCSV(w)
	}
	core.WriteJSON(w, http.StatusOK, res)
	return nil
}

// statsSite authorizes reading the statistics of siteID (owner, admin token, or an API key of that site
// with stats:read, within its rate limit) and returns the site.
func (s *API) statsSite(w http.ResponseWriter, r *http.Request, siteID string) (*tributary.Site, error) {
	p := core.PrincipalFrom(r.Context())
	if p == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tributary"`)
		return nil, tributary.Errorf(tributary.EUNAUTHORIZED, "log in, or send the admin token or an API key with stats:read")
	}
	if p.Key != nil {
		if !p.Key.HasScope(tributary.ScopeStatsRead) {
			return nil, tributary.Errorf(tributary.EFORBIDDEN, "this API key lacks the stats:read scope")
		}
		if p.Key.SiteID != siteID {
			return nil, tributary.Errorf(tributary.EFORBIDDEN, "this API key belongs to another site")
		}
		if err := s.LimitKey(w, r, p.Key, 1); err != nil {
			return nil, err
		}
	}
	return s.Opt.Sites.Site(r.Context(), siteID)
}

// RunQuery parses and runs a query for site, with the site's conversion events.
func (s *API) RunQuery(r *http.Request, site *tributary.Site, body []byte) (*stats.Result, error) {
	res, err := s.RunQueries(r, site, body)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// RunQueries answers several queries of one page, two at a time (stats.Engine.RunAll), sharing the
// request's cache.
func (s *API) RunQueries(r *http.Request, site *tributary.Site, bodies ...[]byte) ([]*stats.Result, error) {
	if s.Opt.Stats == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "the stats engine is not configured")
	}
	kinds, err := s.Opt.Meta.EventKinds(r.Context(), site.ID)
	if err != nil {
		return nil, err
	}
	var conversions, ignored []string
	for name, k := range kinds {
		switch k {
		case tributary.KindConversion:
			conversions = append(conversions, name)
		case tributary.KindIgnored:
			ignored = append(ignored, name)
		}
	}
	sort.Strings(conversions)
	sort.Strings(ignored)
	qs := make([]*stats.Query, len(bodies))
	for i, body := range bodies {
		q, err := stats.ParseQuery(body, site, s.Opt.Now())
		if err != nil {
			return nil, err
		}
		q.ConversionNames, q.IgnoredNames = conversions, ignored
		qs[i] = q
	}
	var res []*stats.Result
	if len(qs) == 1 {
		one, err := s.Opt.Stats.Run(r.Context(), qs[0])
		if err != nil {
			return nil, err
		}
		res = []*stats.Result{one}
	} else if res, err = s.Opt.Stats.RunAll(r.Context(), qs, 2); err != nil {
		return nil, err
	}
	for i, q := range qs {
		nameDirect(q, res[i])
	}
	return res, nil
}

// nameDirect names direct traffic's empty visit:source stats.DirectSource ("Direct / None") in an
// answer, as the dashboard shows it, so the API and CSV never hold an empty source.
func nameDirect(q *stats.Query, res *stats.Result) {
	for d, dim := range q.Dimensions {
		if dim != "visit:source" {
			continue
		}
		for i := range res.Results {
			if row := &res.Results[i]; d < len(row.Dimensions) && row.Dimensions[d] == "" {
				// A copy: the engine may share the slice with what it keeps.
				row.Dimensions = append([]string(nil), row.Dimensions...)
				row.Dimensions[d] = stats.DirectSource
			}
		}
	}
}

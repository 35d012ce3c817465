package api

import (
	"net/http"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/web/core"
)

// RevenueEventInput is a revenue setting (which event carries money, and where) as the API and the UI
// receive it.
type RevenueEventInput struct {
	EventName    string `json:"event_name"`
	AmountPath   string `json:"amount_path"`
	Unit         string `json:"unit"`
	CurrencyPath string `json:"currency_path"`
}

// PutRevenueEvent validates and stores a site's revenue setting; shared by the API and the UI.
func (s *API) PutRevenueEvent(r *http.Request, siteID string, in RevenueEventInput) (*tributary.RevenueEvent, error) {
	if _, err := s.Opt.Sites.Site(r.Context(), siteID); err != nil {
		return nil, err
	}
	in.EventName = strings.TrimSpace(in.EventName)
	if in.EventName == "" || len(in.EventName) > 120 {
		return nil, tributary.FieldError("event_name", "event_name is required (1 to 120 characters)")
	}
	if in.AmountPath == "" {
		in.AmountPath = "metadata.amount"
	}
	if in.CurrencyPath == "" {
		in.CurrencyPath = "metadata.currency"
	}
	for field, p := range map[string]string{"amount_path": in.AmountPath, "currency_path": in.CurrencyPath} {
		if strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") || strings.ContainsAny(p, " []") || len(p) > 200 {
			return nil, tributary.FieldError(field, "%s must be a dot path such as metadata.amount", field)
		}
	}
	switch in.Unit {
	case "":
		in.Unit = tributary.UnitMinor
	case tributary.UnitMinor, tributary.UnitMajor:
	default:
		return nil, tributary.FieldError("unit", "unit must be minor (4999 = 49.99) or major (49.99)")
	}
	re := tributary.RevenueEvent{SiteID: siteID, Name: in.EventName, AmountPath: in.AmountPath, Unit: in.Unit, CurrencyPath: in.CurrencyPath, UpdatedAt: s.Opt.Now().UTC()}
	if err := s.Opt.Meta.PutRevenueEvent(r.Context(), re); err != nil {
		return nil, err
	}
	return &re, nil
}

// HandleListRevenueEvents answers GET /api/v1/sites/{id}/revenue-events.
func (s *API) HandleListRevenueEvents(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	list, err := s.Opt.Meta.RevenueEvents(r.Context(), id)
	if err != nil {
		return err
	}
	if list == nil {
		list = []tributary.RevenueEvent{}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"revenue_events": list})
	return nil
}

// HandlePutRevenueEvent answers POST /api/v1/sites/{id}/revenue-events.
func (s *API) HandlePutRevenueEvent(w http.ResponseWriter, r *http.Request) error {
	var in RevenueEventInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	re, err := s.PutRevenueEvent(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, re)
	return nil
}

// HandleDeleteRevenueEvent answers DELETE /api/v1/sites/{id}/revenue-events/{name}.
func (s *API) HandleDeleteRevenueEvent(w http.ResponseWriter, r *http.Request) error {
	if err := s.Opt.Meta.DeleteRevenueEvent(r.Context(), r.PathValue("id"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Catalog merges the seen event names with their classification.
func (s *API) Catalog(r *http.Request, siteID string) ([]tributary.CatalogEntry, error) {
	names, err := s.Opt.Events.EventNames(r.Context(), siteID)
	if err != nil {
		return nil, err
	}
	kinds, err := s.Opt.Meta.EventKinds(r.Context(), siteID)
	if err != nil {
		return nil, err
	}
	out := []tributary.CatalogEntry{}
	for _, n := range names {
		if n.Name == tributary.PageviewName {
			continue
		}
		n.Kind = kinds[n.Name]
		if n.Kind == "" {
			n.Kind = tributary.KindUnclassified
		}
		out = append(out, n)
	}
	return out, nil
}

// HandleCatalog answers GET /api/v1/sites/{id}/events.
func (s *API) HandleCatalog(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	c, err := s.Catalog(r, id)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"events": c})
	return nil
}

// SetKind marks an event name of a site as a conversion, an ignored event or neither; shared by the API
// and the UI.
func (s *API) SetKind(r *http.Request, siteID, name, kind string) error {
	if _, err := s.Opt.Sites.Site(r.Context(), siteID); err != nil {
		return err
	}
	switch kind {
	case tributary.KindConversion, tributary.KindGoal, tributary.KindIgnored:
	case tributary.KindUnclassified:
		kind = "" // removes the classification
	default:
		return tributary.FieldError("kind", "kind must be unclassified, conversion, goal or ignored")
	}
	if name == "" || len(name) > 120 || tributary.CleanText(name, 0) != name {
		return tributary.FieldError("name", "event name is required (1 to 120 characters of text)")
	}
	return s.Opt.Meta.SetEventKind(r.Context(), siteID, name, kind)
}

// HandleSetKind answers PUT /api/v1/sites/{id}/events/{name}.
func (s *API) HandleSetKind(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Kind string `json:"kind"`
	}
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	if err := s.SetKind(r, r.PathValue("id"), r.PathValue("name"), in.Kind); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]string{"name": r.PathValue("name"), "kind": in.Kind})
	return nil
}

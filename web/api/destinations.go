package api

import (
	"context"
	"net/http"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/destinations"
	"github.com/tributary/tributary/web/core"
)

// DestinationView is a destination as the API shows it: its settings and delivery state, never its
// credential.
type DestinationView struct {
	*tributary.Destination
	// Counts of outbox rows by state; LastError and NextAttemptAt come from the newest row that failed
	// or waits for a retry.
	Counts        map[string]int64                `json:"counts"`
	LastError     string                          `json:"last_error,omitempty"`
	NextAttemptAt *time.Time                      `json:"next_attempt_at,omitempty"`
	Deliveries    []tributary.DestinationDelivery `json:"deliveries,omitempty"`
}

// DestinationsEnabled returns the destination sender, ENOTIMPL when destinations are not configured
// (no sender or no key to seal their credentials).
func (s *API) DestinationsEnabled() (*destinations.Sender, error) {
	if s.Opt.Destinations == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "destinations are not enabled on this server")
	}
	if s.Opt.Destinations.Box == nil {
		return nil, tributary.Errorf(tributary.ECONFLICT, "this server has no key to seal the platforms' credentials with: start every node with the same --secret-key (64 hex characters, e.g. from openssl rand -hex 32)")
	}
	return s.Opt.Destinations, nil
}

// ViewDestination is a destination as the API and the UI show it: the credential never, only whether
// one is set.
func (s *API) ViewDestination(ctx context.Context, d *tributary.Destination, counts []tributary.DeliveryCount, withLog bool) (DestinationView, error) {
	v := DestinationView{Destination: d, Counts: map[string]int64{tributary.OutboxPending: 0, tributary.OutboxSent: 0, tributary.OutboxFailed: 0, tributary.OutboxSkipped: 0}}
	for _, c := range counts {
		if c.DestinationID == d.ID {
			v.Counts[c.Status] = c.Count
		}
	}
	limit := 20
	if withLog {
		limit = 100
	}
	rows, err := s.Opt.Meta.DestinationDeliveries(ctx, d.SiteID, d.ID, limit)
	if err != nil {
		return v, err
	}
	for _, r := range rows {
		if r.LastError != "" && (r.Status == tributary.OutboxFailed || r.Status == tributary.OutboxPending) {
			v.LastError = r.LastError
			if r.Status == tributary.OutboxPending {
				next := r.NextAttemptAt
				v.NextAttemptAt = &next
			}
			break
		}
	}
	if withLog {
		v.Deliveries = rows
		if v.Deliveries == nil {
			v.Deliveries = []tributary.DestinationDelivery{}
		}
	}
	return v, nil
}

// handleCreateDestination: POST /api/v1/sites/{id}/destinations {"type","name","config","secret","enabled"}.
func (s *API) HandleCreateDestination(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.DestinationsEnabled()
	if err != nil {
		return err
	}
	var in destinations.Input
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := destinations.New(ds.Box, site.ID, in, s.Opt.Now())
	if err != nil {
		return err
	}
	if err := s.Opt.Meta.CreateDestination(r.Context(), d); err != nil {
		return err
	}
	v, err := s.ViewDestination(r.Context(), d, nil, false)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// handleListDestinations: GET /api/v1/sites/{id}/destinations.
func (s *API) HandleListDestinations(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	all, err := s.Opt.Meta.Destinations(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	counts, err := s.Opt.Meta.CountOutbox(r.Context())
	if err != nil {
		return err
	}
	out := make([]DestinationView, 0, len(all))
	for _, d := range all {
		v, err := s.ViewDestination(r.Context(), d, counts, false)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"destinations": out})
	return nil
}

// handleGetDestination: GET /api/v1/sites/{id}/destinations/{dest}, with its delivery log (newest 100).
func (s *API) HandleGetDestination(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Opt.Meta.Destination(r.Context(), r.PathValue("id"), r.PathValue("dest"))
	if err != nil {
		return err
	}
	counts, err := s.Opt.Meta.CountOutbox(r.Context())
	if err != nil {
		return err
	}
	v, err := s.ViewDestination(r.Context(), d, counts, true)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, v)
	return nil
}

// handleUpdateDestination: PATCH /api/v1/sites/{id}/destinations/{dest} {"name","config","secret","enabled"}
// changes only the fields sent (a config key sent empty is removed; a secret sent replaces the credential).
func (s *API) HandleUpdateDestination(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.DestinationsEnabled()
	if err != nil {
		return err
	}
	var p destinations.Patch
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &p); err != nil {
		return err
	}
	d, err := s.Opt.Meta.Destination(r.Context(), r.PathValue("id"), r.PathValue("dest"))
	if err != nil {
		return err
	}
	if err := destinations.Update(ds.Box, d, p); err != nil {
		return err
	}
	if err := s.Opt.Meta.UpdateDestination(r.Context(), d); err != nil {
		return err
	}
	counts, err := s.Opt.Meta.CountOutbox(r.Context())
	if err != nil {
		return err
	}
	v, err := s.ViewDestination(r.Context(), d, counts, false)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, v)
	return nil
}

// handleDeleteDestination: DELETE /api/v1/sites/{id}/destinations/{dest}, with its outbox.
func (s *API) HandleDeleteDestination(w http.ResponseWriter, r *http.Request) error {
	if err := s.Opt.Meta.DeleteDestination(r.Context(), r.PathValue("id"), r.PathValue("dest")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleReplayDestinationDelivery: POST /api/v1/sites/{id}/destinations/{dest}/deliveries/{delivery}/replay puts a
// sent, failed or skipped row back in the queue for an attempt now.
func (s *API) HandleReplayDestinationDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := destinations.Replay(r.Context(), s.Opt.Meta, r.PathValue("id"), r.PathValue("dest"), r.PathValue("delivery"), s.Opt.Now())
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, d)
	return nil
}

type destinationSettings struct {
	ConsentRequired  *bool   `json:"consent_required"`
	AttributionModel *string `json:"attribution_model"`
}

// handleDestinationSettings: GET|PUT /api/v1/sites/{id}/destination-settings
// {"consent_required": bool, "attribution_model": "last_non_direct"|…}: the site-wide consent switch
// (on: conversions only for visitors who called tributary.consent(true)) and the model that picks a
// payment's credited visit. A PUT changes only the fields sent.
func (s *API) HandleDestinationSettings(w http.ResponseWriter, r *http.Request) error {
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		var in destinationSettings
		if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
			return err
		}
		if in.ConsentRequired == nil && in.AttributionModel == nil {
			return tributary.Errorf(tributary.EINVALID, "send consent_required (true or false) or attribution_model")
		}
		var model attribution.Model
		if in.AttributionModel != nil {
			if model, err = attribution.ParseModel(*in.AttributionModel); err != nil {
				return tributary.FieldError("attribution_model", "%s", tributary.ErrorMessage(err))
			}
		}
		if in.ConsentRequired != nil {
			if err := s.Opt.Meta.SetConsentRequired(r.Context(), site.ID, *in.ConsentRequired); err != nil {
				return err
			}
		}
		if in.AttributionModel != nil {
			if err := s.Opt.Meta.SetAttributionModel(r.Context(), site.ID, string(model)); err != nil {
				return err
			}
		}
	}
	on, err := s.Opt.Meta.ConsentRequired(r.Context(), site.ID)
	if err != nil {
		return err
	}
	name, err := s.Opt.Meta.AttributionModel(r.Context(), site.ID)
	if err != nil {
		return err
	}
	model, err := attribution.ParseModel(name)
	if err != nil {
		model = attribution.DefaultModel
	}
	m := string(model)
	core.WriteJSON(w, http.StatusOK, destinationSettings{ConsentRequired: &on, AttributionModel: &m})
	return nil
}

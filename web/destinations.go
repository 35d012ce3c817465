package web

import (
	"context"
	"net/http"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/destinations"
)

// destinationView is a destination as the API shows it: its settings and delivery state, never its
// credential.
type destinationView struct {
	*tributary.Destination
	// Counts of outbox rows by state; LastError and NextAttemptAt come from the newest row that failed
	// or waits for a retry.
	Counts        map[string]int64                `json:"counts"`
	LastError     string                          `json:"last_error,omitempty"`
	NextAttemptAt *time.Time                      `json:"next_attempt_at,omitempty"`
	Deliveries    []tributary.DestinationDelivery `json:"deliveries,omitempty"`
}

func (s *Server) destinationsEnabled() (*destinations.Sender, error) {
	if s.opt.Destinations == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "destinations are not enabled on this server")
	}
	if s.opt.Destinations.Box == nil {
		return nil, tributary.Errorf(tributary.ECONFLICT, "this server has no key to seal the platforms' credentials with: start every node with the same --secret-key (64 hex characters, e.g. from openssl rand -hex 32)")
	}
	return s.opt.Destinations, nil
}

func (s *Server) viewDestination(ctx context.Context, d *tributary.Destination, counts []tributary.DeliveryCount, withLog bool) (destinationView, error) {
	v := destinationView{Destination: d, Counts: map[string]int64{tributary.OutboxPending: 0, tributary.OutboxSent: 0, tributary.OutboxFailed: 0, tributary.OutboxSkipped: 0}}
	for _, c := range counts {
		if c.DestinationID == d.ID {
			v.Counts[c.Status] = c.Count
		}
	}
	limit := 20
	if withLog {
		limit = 100
	}
	rows, err := s.opt.Meta.DestinationDeliveries(ctx, d.SiteID, d.ID, limit)
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
func (s *Server) handleCreateDestination(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.destinationsEnabled()
	if err != nil {
		return err
	}
	var in destinations.Input
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	site, err := s.opt.Meta.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := destinations.New(ds.Box, site.ID, in, s.opt.Now())
	if err != nil {
		return err
	}
	if err := s.opt.Meta.CreateDestination(r.Context(), d); err != nil {
		return err
	}
	v, err := s.viewDestination(r.Context(), d, nil, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// handleListDestinations: GET /api/v1/sites/{id}/destinations.
func (s *Server) handleListDestinations(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.opt.Meta.Site(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	all, err := s.opt.Meta.Destinations(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	counts, err := s.opt.Meta.CountOutbox(r.Context())
	if err != nil {
		return err
	}
	out := make([]destinationView, 0, len(all))
	for _, d := range all {
		v, err := s.viewDestination(r.Context(), d, counts, false)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"destinations": out})
	return nil
}

// handleGetDestination: GET /api/v1/sites/{id}/destinations/{dest}, with its delivery log (newest 100).
func (s *Server) handleGetDestination(w http.ResponseWriter, r *http.Request) error {
	d, err := s.opt.Meta.Destination(r.Context(), r.PathValue("id"), r.PathValue("dest"))
	if err != nil {
		return err
	}
	counts, err := s.opt.Meta.CountOutbox(r.Context())
	if err != nil {
		return err
	}
	v, err := s.viewDestination(r.Context(), d, counts, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// handleUpdateDestination: PATCH /api/v1/sites/{id}/destinations/{dest} {"name","config","secret","enabled"}
// changes only the fields sent (a config key sent empty is removed; a secret sent replaces the credential).
func (s *Server) handleUpdateDestination(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.destinationsEnabled()
	if err != nil {
		return err
	}
	var p destinations.Patch
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &p); err != nil {
		return err
	}
	d, err := s.opt.Meta.Destination(r.Context(), r.PathValue("id"), r.PathValue("dest"))
	if err != nil {
		return err
	}
	if err := destinations.Update(ds.Box, d, p); err != nil {
		return err
	}
	if err := s.opt.Meta.UpdateDestination(r.Context(), d); err != nil {
		return err
	}
	counts, err := s.opt.Meta.CountOutbox(r.Context())
	if err != nil {
		return err
	}
	v, err := s.viewDestination(r.Context(), d, counts, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// handleDeleteDestination: DELETE /api/v1/sites/{id}/destinations/{dest}, with its outbox.
func (s *Server) handleDeleteDestination(w http.ResponseWriter, r *http.Request) error {
	if err := s.opt.Meta.DeleteDestination(r.Context(), r.PathValue("id"), r.PathValue("dest")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleReplayDestinationDelivery: POST /api/v1/sites/{id}/destinations/{dest}/deliveries/{delivery}/replay puts a
// sent, failed or skipped row back in the queue for an attempt now.
func (s *Server) handleReplayDestinationDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := destinations.Replay(r.Context(), s.opt.Meta, r.PathValue("id"), r.PathValue("dest"), r.PathValue("delivery"), s.opt.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
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
func (s *Server) handleDestinationSettings(w http.ResponseWriter, r *http.Request) error {
	site, err := s.opt.Meta.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		var in destinationSettings
		if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
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
			if err := s.opt.Meta.SetConsentRequired(r.Context(), site.ID, *in.ConsentRequired); err != nil {
				return err
			}
		}
		if in.AttributionModel != nil {
			if err := s.opt.Meta.SetAttributionModel(r.Context(), site.ID, string(model)); err != nil {
				return err
			}
		}
	}
	on, err := s.opt.Meta.ConsentRequired(r.Context(), site.ID)
	if err != nil {
		return err
	}
	name, err := s.opt.Meta.AttributionModel(r.Context(), site.ID)
	if err != nil {
		return err
	}
	model, err := attribution.ParseModel(name)
	if err != nil {
		model = attribution.DefaultModel
	}
	m := string(model)
	writeJSON(w, http.StatusOK, destinationSettings{ConsentRequired: &on, AttributionModel: &m})
	return nil
}

package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/web/core"
)

// EndpointView is an endpoint as the API shows it: secrets are never returned, only how many are active
// and the last characters of each, to tell them apart during a rotation.
type EndpointView struct {
	*tributary.StripeEndpoint
	URL            string   `json:"url"`
	ActiveSecrets  int      `json:"active_secrets"`
	SecretSuffixes []string `json:"secret_suffixes"`
}

// ViewEndpoint is the endpoint as the API and the UI show it, with its webhook URL.
func (s *API) ViewEndpoint(r *http.Request, e *tributary.StripeEndpoint) EndpointView {
	v := EndpointView{StripeEndpoint: e, URL: s.BaseURL(r) + "/stripe/webhook/" + e.ID, ActiveSecrets: len(e.Secrets)}
	for _, sec := range e.Secrets {
		v.SecretSuffixes = append(v.SecretSuffixes, "…"+sec[max(0, len(sec)-4):])
	}
	return v
}

func validSecret(sec string) error {
	if !strings.HasPrefix(sec, "whsec_") || len(sec) < 16 || strings.ContainsAny(sec, " \t\r\n") {
		return tributary.FieldError("signing_secret", "signing_secret must be the endpoint's signing secret from Stripe, starting with whsec_")
	}
	return nil
}

// EndpointInput is a webhook endpoint (or its new secret) as the API and the UI receive it.
type EndpointInput struct {
	Mode          string `json:"mode"`
	SigningSecret string `json:"signing_secret"`
	// KeepPrevious keeps the old secret active beside the new one during a rotation (default true).
	KeepPrevious *bool `json:"keep_previous"`
}

// CreateEndpoint validates and stores a new webhook endpoint of a site; shared by the API and the UI.
func (s *API) CreateEndpoint(r *http.Request, siteID string, in EndpointInput) (*tributary.StripeEndpoint, error) {
	if _, err := s.Opt.Sites.Site(r.Context(), siteID); err != nil {
		return nil, err
	}
	if in.Mode != tributary.ModeLive && in.Mode != tributary.ModeTest {
		return nil, tributary.FieldError("mode", "mode must be \"live\" or \"test\"")
	}
	// Stripe reveals an endpoint's secret only after its URL is added there: the URL comes first, the
	// secret may follow (PATCH); until then the endpoint refuses events.
	var secrets []string
	if in.SigningSecret != "" {
		if err := validSecret(in.SigningSecret); err != nil {
			return nil, err
		}
		secrets = []string{in.SigningSecret}
	}
	now := s.Opt.Now().UTC()
	e := &tributary.StripeEndpoint{ID: "we_" + tributary.RandomID(24), SiteID: siteID, Mode: in.Mode, Secrets: secrets, CreatedAt: now, UpdatedAt: now}
	return e, s.Opt.Meta.CreateStripeEndpoint(r.Context(), e)
}

// RotateSecret makes secret the primary one, keeping the previous one active unless told not to.
func (s *API) RotateSecret(r *http.Request, siteID, id string, in EndpointInput) (*tributary.StripeEndpoint, error) {
	e, err := s.Opt.Meta.StripeEndpoint(r.Context(), id)
	if err != nil || e.SiteID != siteID {
		return nil, tributary.Errorf(tributary.ENOTFOUND, "stripe endpoint %q not found", id)
	}
	if in.Mode != "" && in.Mode != e.Mode {
		return nil, tributary.FieldError("mode", "an endpoint's mode cannot change; create another endpoint for %s mode", in.Mode)
	}
	if err := validSecret(in.SigningSecret); err != nil {
		return nil, err
	}
	secrets := []string{in.SigningSecret}
	if (in.KeepPrevious == nil || *in.KeepPrevious) && len(e.Secrets) > 0 && e.Secrets[0] != in.SigningSecret {
		secrets = append(secrets, e.Secrets[0])
	}
	e.Secrets, e.UpdatedAt = secrets, s.Opt.Now().UTC()
	return e, s.Opt.Meta.UpdateStripeEndpoint(r.Context(), e)
}

// HandleCreateEndpoint answers POST /api/v1/sites/{id}/stripe-endpoints.
func (s *API) HandleCreateEndpoint(w http.ResponseWriter, r *http.Request) error {
	var in EndpointInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	e, err := s.CreateEndpoint(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, s.ViewEndpoint(r, e))
	return nil
}

// HandleListEndpoints answers GET /api/v1/sites/{id}/stripe-endpoints.
func (s *API) HandleListEndpoints(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	eps, err := s.Opt.Meta.StripeEndpoints(r.Context(), id)
	if err != nil {
		return err
	}
	out := []EndpointView{}
	for _, e := range eps {
		out = append(out, s.ViewEndpoint(r, e))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"stripe_endpoints": out})
	return nil
}

// HandleUpdateEndpoint answers PATCH /api/v1/sites/{id}/stripe-endpoints/{ep}.
func (s *API) HandleUpdateEndpoint(w http.ResponseWriter, r *http.Request) error {
	var in EndpointInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	e, err := s.RotateSecret(r, r.PathValue("id"), r.PathValue("ep"), in)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, s.ViewEndpoint(r, e))
	return nil
}

// HandleDeleteEndpoint answers DELETE /api/v1/sites/{id}/stripe-endpoints/{ep}.
func (s *API) HandleDeleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := s.Opt.Meta.DeleteStripeEndpoint(r.Context(), r.PathValue("id"), r.PathValue("ep")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func parseTimeParam(q, name string) (time.Time, error) {
	if q == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, q)
	if err != nil {
		if d, derr := time.Parse("2006-01-02", q); derr == nil {
			return d, nil
		}
		return time.Time{}, tributary.FieldError(name, "%s must be RFC 3339 (2026-11-20T12:00:00Z) or a date (2026-11-20)", name)
	}
	return t, nil
}

// DeliveryStatuses are the statuses the delivery log may be filtered by.
var DeliveryStatuses = []string{tributary.DeliveryPending, tributary.DeliveryProcessing, tributary.DeliveryProcessed, tributary.DeliveryIgnored,
	tributary.DeliveryFailed, tributary.DeliveryDuplicate, tributary.DeliveryRejected}

// HandleListDeliveries answers GET /api/v1/sites/{id}/webhook-deliveries.
func (s *API) HandleListDeliveries(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	q := r.URL.Query()
	f := tributary.DeliveryFilter{SiteID: id, Status: q.Get("status"), Type: q.Get("type"), Before: q.Get("before")}
	if f.Status != "" && !slices.Contains(DeliveryStatuses, f.Status) {
		return tributary.FieldError("status", "status must be one of %s", strings.Join(DeliveryStatuses, ", "))
	}
	var err error
	if f.From, err = parseTimeParam(q.Get("from"), "from"); err != nil {
		return err
	}
	if f.To, err = parseTimeParam(q.Get("to"), "to"); err != nil {
		return err
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return tributary.FieldError("limit", "limit must be 1 to 1000")
		}
		f.Limit = n
	}
	list, err := s.Opt.Meta.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*tributary.Delivery{}
	}
	out := map[string]any{"deliveries": list}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(list) == limit {
		// A full page: the next one starts after its last delivery (?before=next_before).
		out["next_before"] = list[len(list)-1].ID
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// HandleGetDelivery answers GET /api/v1/sites/{id}/webhook-deliveries/{delivery}.
func (s *API) HandleGetDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Opt.Meta.Delivery(r.Context(), r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		return err
	}
	out := struct {
		*tributary.Delivery
		Payload json.RawMessage `json:"payload,omitempty"`
		Raw     string          `json:"payload_raw,omitempty"`
	}{Delivery: d}
	if r.URL.Query().Get("payload") == "1" || r.URL.Query().Get("payload") == "true" {
		if json.Valid(d.Payload) {
			out.Payload = d.Payload
		} else {
			out.Raw = string(d.Payload)
		}
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// HandleReplayDelivery answers POST /api/v1/sites/{id}/webhook-deliveries/{delivery}/replay.
func (s *API) HandleReplayDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := s.Opt.Intake.Replay(r.Context(), r.PathValue("id"), r.PathValue("delivery")); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"replayed": 1})
	return nil
}

// HandleReplayFailed answers POST /api/v1/sites/{id}/webhook-deliveries/replay-failed.
func (s *API) HandleReplayFailed(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	n, err := s.Opt.Intake.ReplayFailed(r.Context(), id)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"replayed": n})
	return nil
}

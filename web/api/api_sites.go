package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/web/core"
)

// SiteInput is a site as the API and the UI receive it; a nil field is left unchanged on update.
type SiteInput struct {
	Domain   *string `json:"domain"`
	Name     *string `json:"name"`
	Currency *string `json:"currency"`
	Timezone *string `json:"timezone"`
	Locale   *string `json:"locale"`
}

// Deref returns the string p points to, "" for nil.
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// CreateSite validates and stores a new site; shared by the API and the UI.
func (s *API) CreateSite(r *http.Request, in SiteInput) (*tributary.Site, error) {
	if in.Domain == nil || strings.TrimSpace(*in.Domain) == "" {
		return nil, tributary.FieldError("domain", "domain is required, e.g. \"example.com\"")
	}
	now := s.Opt.Now().UTC()
	st := &tributary.Site{ID: tributary.RandomID(12), Domain: Deref(in.Domain), Name: Deref(in.Name),
		Currency: Deref(in.Currency), Timezone: Deref(in.Timezone), Locale: Deref(in.Locale), CreatedAt: now, UpdatedAt: now}
	if err := st.Normalize(); err != nil {
		return nil, err
	}
	if err := s.Opt.Sites.CreateSite(r.Context(), st); err != nil {
		return nil, err
	}
	return st, nil
}

// UpdateSite applies the fields present in in; a rejected update changes nothing.
func (s *API) UpdateSite(r *http.Request, id string, in SiteInput) (*tributary.Site, error) {
	st, err := s.Opt.Sites.Site(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if in.Domain != nil {
		st.Domain = *in.Domain
	}
	if in.Name != nil {
		st.Name = *in.Name
	}
	if in.Currency != nil {
		if strings.TrimSpace(*in.Currency) == "" {
			return nil, tributary.FieldError("currency", "currency must not be empty")
		}
		st.Currency = *in.Currency
	}
	if in.Timezone != nil {
		if strings.TrimSpace(*in.Timezone) == "" {
			return nil, tributary.FieldError("timezone", "timezone must not be empty")
		}
		st.Timezone = *in.Timezone
	}
	if in.Locale != nil {
		if strings.TrimSpace(*in.Locale) == "" {
			return nil, tributary.FieldError("locale", "locale must not be empty")
		}
		st.Locale = *in.Locale
	}
	if err := st.Normalize(); err != nil {
		return nil, err
	}
	st.UpdatedAt = s.Opt.Now().UTC()
	if err := s.Opt.Sites.UpdateSite(r.Context(), st); err != nil {
		return nil, err
	}
	return st, nil
}

// DeleteSite deletes a site's events and facts, then the site with its keys, endpoints and deliveries;
// shared by the API and the UI.
func (s *API) DeleteSite(r *http.Request, id string) error {
	return s.Opt.Sites.DeleteSite(r.Context(), id)
}

// HandleListSites answers GET /api/v1/sites.
func (s *API) HandleListSites(w http.ResponseWriter, r *http.Request) error {
	sites, err := s.Opt.Sites.Sites(r.Context())
	if err != nil {
		return err
	}
	if sites == nil {
		sites = []*tributary.Site{}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"sites": sites})
	return nil
}

// HandleCreateSite answers POST /api/v1/sites.
func (s *API) HandleCreateSite(w http.ResponseWriter, r *http.Request) error {
	var in SiteInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	st, err := s.CreateSite(r, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/sites/"+st.ID)
	core.WriteJSON(w, http.StatusCreated, st)
	return nil
}

// HandleGetSite answers GET /api/v1/sites/{id}.
func (s *API) HandleGetSite(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, st)
	return nil
}

// HandleUpdateSite answers PATCH /api/v1/sites/{id}.
func (s *API) HandleUpdateSite(w http.ResponseWriter, r *http.Request) error {
	var in SiteInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	st, err := s.UpdateSite(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, st)
	return nil
}

// HandleDeleteSite answers DELETE /api/v1/sites/{id}.
func (s *API) HandleDeleteSite(w http.ResponseWriter, r *http.Request) error {
	if err := s.DeleteSite(r, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// APIKeyInput is a new API key as the API and the UI receive it.
type APIKeyInput struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	RateLimit *int     `json:"rate_limit_per_minute"`
}

// CreateAPIKey returns the stored key and its secret, which is never shown again.
func (s *API) CreateAPIKey(r *http.Request, siteID string, in APIKeyInput) (*tributary.APIKey, string, error) {
	if _, err := s.Opt.Sites.Site(r.Context(), siteID); err != nil {
		return nil, "", err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return nil, "", tributary.FieldError("name", "name is required, e.g. \"backend\"")
	}
	if len(in.Name) > 100 {
		return nil, "", tributary.FieldError("name", "name is longer than 100 characters")
	}
	if len(in.Scopes) == 0 {
		return nil, "", tributary.FieldError("scopes", "scopes is required: any of %s", strings.Join(tributary.ValidScopes, ", "))
	}
	var scopes []string
	for _, sc := range in.Scopes {
		if !slices.Contains(tributary.ValidScopes, sc) {
			return nil, "", tributary.FieldError("scopes", "unknown scope %q; valid scopes are %s", sc, strings.Join(tributary.ValidScopes, ", "))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	limit := tributary.DefaultAPIKeyRateLimit
	if in.RateLimit != nil {
		if *in.RateLimit < 1 || *in.RateLimit > 1_000_000 {
			return nil, "", tributary.FieldError("rate_limit_per_minute", "rate_limit_per_minute must be between 1 and 1000000")
		}
		limit = *in.RateLimit
	}
	secret := "trk_" + tributary.RandomID(32)
	k := &tributary.APIKey{ID: tributary.RandomID(12), SiteID: siteID, Name: in.Name, Prefix: secret[:8], Hash: tributary.HashSecret(secret),
		Scopes: scopes, RateLimit: limit, CreatedAt: s.Opt.Now().UTC()}
	if err := s.Opt.Meta.CreateAPIKey(r.Context(), k); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// HandleCreateAPIKey answers POST /api/v1/sites/{id}/api-keys.
func (s *API) HandleCreateAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in APIKeyInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	k, secret, err := s.CreateAPIKey(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, struct {
		*tributary.APIKey
		Key string `json:"key"`
	}{k, secret})
	return nil
}

// HandleListAPIKeys answers GET /api/v1/sites/{id}/api-keys.
func (s *API) HandleListAPIKeys(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	keys, err := s.Opt.Meta.APIKeys(r.Context(), id)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []*tributary.APIKey{}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
	return nil
}

// HandleRevokeAPIKey answers DELETE /api/v1/sites/{id}/api-keys/{key}.
func (s *API) HandleRevokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.Opt.Meta.RevokeAPIKey(r.Context(), r.PathValue("id"), r.PathValue("key"), s.Opt.Now().UTC()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

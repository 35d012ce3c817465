package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

type siteInput struct {
	Domain   *string `json:"domain"`
	Name     *string `json:"name"`
	Currency *string `json:"currency"`
	Timezone *string `json:"timezone"`
	Locale   *string `json:"locale"`
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// createSite validates and stores a new site; shared by the API and the UI.
func (s *Server) createSite(r *http.Request, in siteInput) (*tributary.Site, error) {
	if in.Domain == nil || strings.TrimSpace(*in.Domain) == "" {
		return nil, tributary.FieldError("domain", "domain is required, e.g. \"example.com\"")
	}
	now := s.opt.Now().UTC()
	st := &tributary.Site{ID: tributary.RandomID(12), Domain: deref(in.Domain), Name: deref(in.Name),
		Currency: deref(in.Currency), Timezone: deref(in.Timezone), Locale: deref(in.Locale), CreatedAt: now, UpdatedAt: now}
	if err := st.Normalize(); err != nil {
		return nil, err
	}
	if err := s.opt.Meta.CreateSite(r.Context(), st); err != nil {
		return nil, err
	}
	return st, nil
}

// updateSite applies the fields present in in; a rejected update changes nothing.
func (s *Server) updateSite(r *http.Request, id string, in siteInput) (*tributary.Site, error) {
	st, err := s.opt.Meta.Site(r.Context(), id)
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
	st.UpdatedAt = s.opt.Now().UTC()
	if err := s.opt.Meta.UpdateSite(r.Context(), st); err != nil {
		return nil, err
	}
	return st, nil
}

func (s *Server) deleteSite(r *http.Request, id string) error {
	if _, err := s.opt.Meta.Site(r.Context(), id); err != nil {
		return err
	}
	if err := s.opt.Events.DeleteSiteData(r.Context(), id); err != nil {
		return err
	}
	if err := s.opt.Meta.DeleteSite(r.Context(), id); err != nil {
		return err
	}
	return nil
}

func (s *Server) handleListSites(w http.ResponseWriter, r *http.Request) error {
	sites, err := s.opt.Meta.Sites(r.Context())
	if err != nil {
		return err
	}
	if sites == nil {
		sites = []*tributary.Site{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": sites})
	return nil
}

func (s *Server) handleCreateSite(w http.ResponseWriter, r *http.Request) error {
	var in siteInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	st, err := s.createSite(r, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/sites/"+st.ID)
	writeJSON(w, http.StatusCreated, st)
	return nil
}

func (s *Server) handleGetSite(w http.ResponseWriter, r *http.Request) error {
	st, err := s.opt.Meta.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) handleUpdateSite(w http.ResponseWriter, r *http.Request) error {
	var in siteInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	st, err := s.updateSite(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) handleDeleteSite(w http.ResponseWriter, r *http.Request) error {
	if err := s.deleteSite(r, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type apiKeyInput struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	RateLimit *int     `json:"rate_limit_per_minute"`
}

// createAPIKey returns the stored key and its secret, which is never shown again.
func (s *Server) createAPIKey(r *http.Request, siteID string, in apiKeyInput) (*tributary.APIKey, string, error) {
	if _, err := s.opt.Meta.Site(r.Context(), siteID); err != nil {
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
		Scopes: scopes, RateLimit: limit, CreatedAt: s.opt.Now().UTC()}
	if err := s.opt.Meta.CreateAPIKey(r.Context(), k); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in apiKeyInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	k, secret, err := s.createAPIKey(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		*tributary.APIKey
		Key string `json:"key"`
	}{k, secret})
	return nil
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.opt.Meta.Site(r.Context(), id); err != nil {
		return err
	}
	keys, err := s.opt.Meta.APIKeys(r.Context(), id)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []*tributary.APIKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
	return nil
}

func (s *Server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.opt.Meta.RevokeAPIKey(r.Context(), r.PathValue("id"), r.PathValue("key"), s.opt.Now().UTC()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opt.Version})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Meta.Ping(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.opt.Events.Ping(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.opt.Writer != nil {
		// A store that answers pings may still refuse writes (disk full, a hung write): events then
		// pile up in memory, so the node is not ready.
		if h := s.opt.Writer.Health(); h.Stuck {
			s.writeError(w, r, &tributary.Error{Code: tributary.EUNAVAILABLE,
				Message: fmt.Sprintf("ingest writer stuck: event writes failing for %s (%d waiting)", h.FailingFor.Round(time.Second), s.opt.Writer.Pending()),
				Err:     errors.New(h.LastError)})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

package web

import (
	"net/http"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/tracker"
)

// siteView is a site with what its settings page shows.
type siteView struct {
	Site      *tributary.Site
	Keys      []*tributary.APIKey
	NewKey    string
	Snippet   string
	Pinned    string
	BaseURL   string
	Form      map[string]string
	Saved     bool
	Timezones []string
}

// baseURL is the configured public URL or the one the request came in on.
func (s *Server) baseURL(r *http.Request) string {
	if s.opt.BaseURL != "" {
		return s.opt.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) pageSites(w http.ResponseWriter, r *http.Request) error {
	sites, err := s.opt.Meta.Sites(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "sites.html", page{Title: "Sites", Data: map[string]any{"Sites": sites, "Form": map[string]string{"currency": "USD", "timezone": "UTC"}}})
}

func formSite(r *http.Request) siteInput {
	get := func(k string) *string {
		if _, ok := r.PostForm[k]; !ok {
			return nil
		}
		v := r.PostFormValue(k)
		return &v
	}
	return siteInput{Domain: get("domain"), Name: get("name"), Currency: get("currency"), Timezone: get("timezone")}
}

func (s *Server) postSite(w http.ResponseWriter, r *http.Request) error {
	in := formSite(r)
	st, err := s.createSite(r, in)
	if err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		sites, lerr := s.opt.Meta.Sites(r.Context())
		if lerr != nil {
			return lerr
		}
		form := map[string]string{"domain": deref(in.Domain), "name": deref(in.Name), "currency": deref(in.Currency), "timezone": deref(in.Timezone)}
		return s.render(w, r, http.StatusBadRequest, "sites.html", page{Title: "Sites", Error: tributary.ErrorMessage(err), Data: map[string]any{"Sites": sites, "Form": form}})
	}
	http.Redirect(w, r, "/sites/"+st.ID+"/settings", http.StatusSeeOther)
	return nil
}

func (s *Server) siteSettings(r *http.Request, id string) (*siteView, error) {
	st, err := s.opt.Meta.Site(r.Context(), id)
	if err != nil {
		return nil, err
	}
	keys, err := s.opt.Meta.APIKeys(r.Context(), id)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	return &siteView{Site: st, Keys: keys, BaseURL: base,
		Snippet: `<script defer src="` + base + `/js/tributary.js" data-site="` + st.ID + `"></script>`,
		Pinned:  `<script defer src="` + base + tracker.VersionedPath() + `" integrity="` + tracker.SRI() + `" crossorigin="anonymous" data-site="` + st.ID + `"></script>`,
		Form:    map[string]string{"domain": st.Domain, "name": st.Name, "currency": st.Currency, "timezone": st.Timezone}}, nil
}

func (s *Server) pageSiteSettings(w http.ResponseWriter, r *http.Request) error {
	v, err := s.siteSettings(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved") == "1"
	return s.render(w, r, http.StatusOK, "site_settings.html", page{Title: v.Site.Name + " settings", Data: v})
}

func (s *Server) postSiteSettings(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	in := formSite(r)
	if _, err := s.updateSite(r, id, in); err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		v, verr := s.siteSettings(r, id)
		if verr != nil {
			return verr
		}
		v.Form = map[string]string{"domain": deref(in.Domain), "name": deref(in.Name), "currency": deref(in.Currency), "timezone": deref(in.Timezone)}
		return s.render(w, r, http.StatusBadRequest, "site_settings.html", page{Title: v.Site.Name + " settings", Error: tributary.ErrorMessage(err), Data: v})
	}
	http.Redirect(w, r, "/sites/"+id+"/settings?saved=1", http.StatusSeeOther)
	return nil
}

func (s *Server) postSiteDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	st, err := s.opt.Meta.Site(r.Context(), id)
	if err != nil {
		return err
	}
	if strings.TrimSpace(r.PostFormValue("confirm_domain")) != st.Domain {
		v, verr := s.siteSettings(r, id)
		if verr != nil {
			return verr
		}
		return s.render(w, r, http.StatusBadRequest, "site_settings.html", page{Title: st.Name + " settings", Error: "Type the site's domain to confirm deletion.", Data: v})
	}
	if err := s.deleteSite(r, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites", http.StatusSeeOther)
	return nil
}

func (s *Server) postAPIKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	in := apiKeyInput{Name: r.PostFormValue("name"), Scopes: r.PostForm["scopes"]}
	_, secret, err := s.createAPIKey(r, id, in)
	v, verr := s.siteSettings(r, id)
	if verr != nil {
		return verr
	}
	if err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		return s.render(w, r, http.StatusBadRequest, "site_settings.html", page{Title: v.Site.Name + " settings", Error: tributary.ErrorMessage(err), Data: v})
	}
	v.NewKey = secret
	return s.render(w, r, http.StatusOK, "site_settings.html", page{Title: v.Site.Name + " settings", Data: v})
}

func (s *Server) postAPIKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.opt.Meta.RevokeAPIKey(r.Context(), id, r.PathValue("key"), s.opt.Now().UTC()); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+id+"/settings", http.StatusSeeOther)
	return nil
}

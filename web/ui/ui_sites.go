package ui

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/numfmt"
	"github.com/tributary/tributary/tracker"
	"github.com/tributary/tributary/web/api"
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
	Revenue   []tributary.RevenueEvent
	Catalog   []tributary.CatalogEntry
	Kinds     []string
	Excluded  string // hosts never taken as a traffic source for this site, one a line
	// ExcludedOwn is set when the site keeps its own list rather than the server's (referrer.Excluded).
	ExcludedOwn bool
	RatesTo     string
	Notice      string
}

// PageSites answers GET /sites.
func (s *UI) PageSites(w http.ResponseWriter, r *http.Request) error {
	sites, err := s.Opt.Sites.Sites(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "sites.html", page{Title: "Sites", Data: map[string]any{"Sites": sites, "Form": map[string]string{"currency": "USD", "timezone": "UTC", "locale": numfmt.DefaultLocale}}})
}

func formSite(r *http.Request) api.SiteInput {
	get := func(k string) *string {
		if _, ok := r.PostForm[k]; !ok {
			return nil
		}
		v := r.PostFormValue(k)
		return &v
	}
	return api.SiteInput{Domain: get("domain"), Name: get("name"), Currency: get("currency"), Timezone: get("timezone"), Locale: get("locale")}
}

// PostSite answers POST /sites.
func (s *UI) PostSite(w http.ResponseWriter, r *http.Request) error {
	in := formSite(r)
	st, err := s.CreateSite(r, in)
	if err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		sites, lerr := s.Opt.Sites.Sites(r.Context())
		if lerr != nil {
			return lerr
		}
		form := map[string]string{"domain": api.Deref(in.Domain), "name": api.Deref(in.Name), "currency": api.Deref(in.Currency), "timezone": api.Deref(in.Timezone), "locale": api.Deref(in.Locale)}
		return s.render(w, r, http.StatusBadRequest, "sites.html", page{Title: "Sites", Error: tributary.ErrorMessage(err), Data: map[string]any{"Sites": sites, "Form": form}})
	}
	http.Redirect(w, r, "/sites/"+st.ID+"/settings", http.StatusSeeOther)
	return nil
}

func (s *UI) siteSettings(r *http.Request, id string) (*siteView, error) {
	st, err := s.Opt.Sites.Site(r.Context(), id)
	if err != nil {
		return nil, err
	}
	keys, err := s.Opt.Meta.APIKeys(r.Context(), id)
	if err != nil {
		return nil, err
	}
	base := s.BaseURL(r)
	v := &siteView{Site: st, Keys: keys, BaseURL: base,
		Snippet: `<script defer src="` + base + `/js/tributary.js" data-site="` + st.ID + `"></script>`,
		Pinned:  `<script defer src="` + base + tracker.VersionedPath() + `" integrity="` + tracker.SRI() + `" crossorigin="anonymous" data-site="` + st.ID + `"></script>`,
		Form:    map[string]string{"domain": st.Domain, "name": st.Name, "currency": st.Currency, "timezone": st.Timezone, "locale": st.Locale},
		Kinds:   []string{tributary.KindUnclassified, tributary.KindConversion, tributary.KindGoal, tributary.KindIgnored},
	}
	ex, err := s.SiteExclusions(r, st.ID)
	if err != nil {
		return nil, err
	}
	v.Excluded, v.ExcludedOwn = strings.Join(ex.Hosts, "\n"), ex.Own
	return v, s.loadSettingsExtras(r, st.ID, v)
}

// loadSettingsExtras reads the revenue events, the event catalog and the exchange-rate coverage.
func (s *UI) loadSettingsExtras(r *http.Request, siteID string, v *siteView) error {
	var err error
	if v.Revenue, err = s.Opt.Meta.RevenueEvents(r.Context(), siteID); err != nil {
		return err
	}
	if v.Catalog, err = s.Catalog(r, siteID); err != nil {
		return err
	}
	rates, err := s.Opt.Meta.ExchangeRates(r.Context())
	if err != nil {
		return err
	}
	for _, rt := range rates {
		if rt.Date > v.RatesTo {
			v.RatesTo = rt.Date
		}
	}
	return nil
}

// renderSettings shows the settings page with an error or a notice.
func (s *UI) renderSettings(w http.ResponseWriter, r *http.Request, siteID string, status int, errMsg, notice string) error {
	v, err := s.siteSettings(r, siteID)
	if err != nil {
		return err
	}
	v.Notice = notice
	return s.render(w, r, status, "site_settings.html", page{Title: v.Site.Name + " settings", Error: errMsg, Data: v})
}

// PostRevenueEvent answers POST /sites/{id}/revenue-events.
func (s *UI) PostRevenueEvent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	_, err := s.PutRevenueEvent(r, id, api.RevenueEventInput{EventName: r.PostFormValue("event_name"), AmountPath: r.PostFormValue("amount_path"),
		Unit: r.PostFormValue("unit"), CurrencyPath: r.PostFormValue("currency_path")})
	if err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		return s.renderSettings(w, r, id, http.StatusBadRequest, tributary.ErrorMessage(err), "")
	}
	http.Redirect(w, r, "/sites/"+id+"/settings?saved=1#revenue", http.StatusSeeOther)
	return nil
}

// PostRevenueEventDelete answers POST /sites/{id}/revenue-events/{name}/delete.
func (s *UI) PostRevenueEventDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Opt.Meta.DeleteRevenueEvent(r.Context(), id, r.PathValue("name")); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+id+"/settings?saved=1#revenue", http.StatusSeeOther)
	return nil
}

// PostEventKind answers POST /sites/{id}/events/{name}/kind.
func (s *UI) PostEventKind(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.SetKind(r, id, r.PathValue("name"), r.PostFormValue("kind")); err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		return s.renderSettings(w, r, id, http.StatusBadRequest, tributary.ErrorMessage(err), "")
	}
	http.Redirect(w, r, "/sites/"+id+"/settings?saved=1#catalog", http.StatusSeeOther)
	return nil
}

// PostRates answers POST /sites/{id}/exchange-rates.
func (s *UI) PostRates(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	csv := r.PostFormValue("csv")
	if strings.TrimSpace(csv) == "" {
		return s.renderSettings(w, r, id, http.StatusBadRequest, "Paste the ECB CSV (eurofxref.csv or eurofxref-hist.csv).", "")
	}
	n, latest, conv, err := s.ImportRates(r, []byte(csv))
	if err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		return s.renderSettings(w, r, id, http.StatusBadRequest, tributary.ErrorMessage(err), "")
	}
	msg := fmt.Sprintf("Imported %d rates up to %s.", n, latest)
	if conv.Entries+conv.Movements > 0 {
		msg += fmt.Sprintf(" Converted %d money entries and %d MRR movements that were waiting for a rate.", conv.Entries, conv.Movements)
	}
	if conv.Pending > 0 {
		msg += fmt.Sprintf(" %d still have no rate for their currency and day.", conv.Pending)
	}
	return s.renderSettings(w, r, id, http.StatusOK, "", msg)
}

// PageSiteSettings answers GET /sites/{id}/settings.
func (s *UI) PageSiteSettings(w http.ResponseWriter, r *http.Request) error {
	v, err := s.siteSettings(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved") == "1"
	return s.render(w, r, http.StatusOK, "site_settings.html", page{Title: v.Site.Name + " settings", Data: v})
}

// PostSiteSettings answers POST /sites/{id}/settings.
func (s *UI) PostSiteSettings(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		return tributary.Errorf(tributary.EINVALID, "malformed form: %v", err)
	}
	if text, ok := r.PostForm["funnel"]; ok {
		return s.postFunnel(w, r, id, strings.Join(text, ","))
	}
	if list, ok := r.PostForm["referrer_exclude"]; ok {
		return s.postReferrerExclusions(w, r, id, strings.Join(list, "\n"))
	}
	in := formSite(r)
	if _, err := s.UpdateSite(r, id, in); err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		v, verr := s.siteSettings(r, id)
		if verr != nil {
			return verr
		}
		v.Form = map[string]string{"domain": api.Deref(in.Domain), "name": api.Deref(in.Name), "currency": api.Deref(in.Currency), "timezone": api.Deref(in.Timezone), "locale": api.Deref(in.Locale)}
		return s.render(w, r, http.StatusBadRequest, "site_settings.html", page{Title: v.Site.Name + " settings", Error: tributary.ErrorMessage(err), Data: v})
	}
	http.Redirect(w, r, "/sites/"+id+"/settings?saved=1", http.StatusSeeOther)
	return nil
}

// postReferrerExclusions saves the site's own list from the settings page (see saveExclusions).
func (s *UI) postReferrerExclusions(w http.ResponseWriter, r *http.Request, id, text string) error {
	if _, err := s.SaveExclusions(r, id, ingest.SplitHosts(text)); err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		return s.renderSettings(w, r, id, http.StatusBadRequest, "Never a traffic source: "+tributary.ErrorMessage(err), "")
	}
	http.Redirect(w, r, "/sites/"+id+"/settings?saved=1#referrer-exclusions", http.StatusSeeOther)
	return nil
}

// PostSiteDelete answers POST /sites/{id}/delete.
func (s *UI) PostSiteDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	st, err := s.Opt.Sites.Site(r.Context(), id)
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
	if err := s.DeleteSite(r, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites", http.StatusSeeOther)
	return nil
}

// PostAPIKey answers POST /sites/{id}/api-keys.
func (s *UI) PostAPIKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	in := api.APIKeyInput{Name: r.PostFormValue("name"), Scopes: r.PostForm["scopes"]}
	_, secret, err := s.CreateAPIKey(r, id, in)
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

// PostAPIKeyRevoke answers POST /sites/{id}/api-keys/{key}/revoke.
func (s *UI) PostAPIKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Opt.Meta.RevokeAPIKey(r.Context(), id, r.PathValue("key"), s.Opt.Now().UTC()); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+id+"/settings", http.StatusSeeOther)
	return nil
}

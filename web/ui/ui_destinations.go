package ui

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/destinations"
	"github.com/tributary/tributary/web/api"
)

type destinationsPage struct {
	Site            *tributary.Site
	Destinations    []api.DestinationView
	ConsentRequired bool
	Model           string
	Models          []attribution.Model
	Notice          string
}

func (s *UI) destinationsPageData(r *http.Request) (*destinationsPage, error) {
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := &destinationsPage{Site: site}
	all, err := s.Opt.Meta.Destinations(r.Context(), site.ID)
	if err != nil {
		return nil, err
	}
	counts, err := s.Opt.Meta.CountOutbox(r.Context())
	if err != nil {
		return nil, err
	}
	for _, d := range all {
		dv, err := s.ViewDestination(r.Context(), d, counts, false)
		if err != nil {
			return nil, err
		}
		dv.Deliveries, err = s.Opt.Meta.DestinationDeliveries(r.Context(), site.ID, d.ID, 20)
		if err != nil {
			return nil, err
		}
		v.Destinations = append(v.Destinations, dv)
	}
	if v.ConsentRequired, err = s.Opt.Meta.ConsentRequired(r.Context(), site.ID); err != nil {
		return nil, err
	}
	v.Models = attribution.Models
	name, err := s.Opt.Meta.AttributionModel(r.Context(), site.ID)
	if m, perr := attribution.ParseModel(name); perr == nil {
		v.Model = string(m)
	}
	return v, err
}

// PageDestinations answers GET /sites/{id}/destinations.
func (s *UI) PageDestinations(w http.ResponseWriter, r *http.Request) error {
	v, err := s.destinationsPageData(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "destinations.html", page{Title: v.Site.Name + " destinations", Data: v})
}

// PostDestination adds a destination from the settings form: config is key=value lines, secret a string
// (or the Google Ads JSON object).
func (s *UI) PostDestination(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.DestinationsEnabled()
	if err != nil {
		return err
	}
	v, err := s.destinationsPageData(r)
	if err != nil {
		return err
	}
	in := destinations.Input{Type: r.PostFormValue("type"), Name: r.PostFormValue("name"), Config: map[string]string{}}
	for _, line := range strings.Split(r.PostFormValue("config"), "\n") {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			in.Config[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	}
	secret := strings.TrimSpace(r.PostFormValue("secret"))
	if strings.HasPrefix(secret, "{") {
		in.Secret = json.RawMessage(secret)
	} else if secret != "" {
		in.Secret, _ = json.Marshal(secret)
	}
	d, err := destinations.New(ds.Box, v.Site.ID, in, s.Opt.Now())
	if err == nil {
		err = s.Opt.Meta.CreateDestination(r.Context(), d)
	}
	if err != nil {
		if tributary.ErrorCode(err) != tributary.EINVALID {
			return err
		}
		return s.render(w, r, http.StatusBadRequest, "destinations.html", page{Title: v.Site.Name + " destinations", Error: tributary.ErrorMessage(err), Data: v})
	}
	http.Redirect(w, r, "/sites/"+v.Site.ID+"/destinations", http.StatusSeeOther)
	return nil
}

// PostDestinationDelete answers POST /sites/{id}/destinations/{dest}/delete.
func (s *UI) PostDestinationDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Opt.Meta.DeleteDestination(r.Context(), r.PathValue("id"), r.PathValue("dest")); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+r.PathValue("id")+"/destinations", http.StatusSeeOther)
	return nil
}

// PostDestinationReplay answers POST /sites/{id}/destinations/{dest}/deliveries/{delivery}/replay.
func (s *UI) PostDestinationReplay(w http.ResponseWriter, r *http.Request) error {
	if _, err := destinations.Replay(r.Context(), s.Opt.Meta, r.PathValue("id"), r.PathValue("dest"), r.PathValue("delivery"), s.Opt.Now()); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+r.PathValue("id")+"/destinations#"+r.PathValue("dest"), http.StatusSeeOther)
	return nil
}

// PostDestinationConsent answers POST /sites/{id}/destinations/consent.
func (s *UI) PostDestinationConsent(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	if err := s.Opt.Meta.SetConsentRequired(r.Context(), r.PathValue("id"), r.PostFormValue("consent_required") != ""); err != nil {
		return err
	}
	if name := r.PostFormValue("attribution_model"); name != "" {
		m, err := attribution.ParseModel(name)
		if err != nil {
			return err
		}
		if err := s.Opt.Meta.SetAttributionModel(r.Context(), r.PathValue("id"), string(m)); err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/sites/"+r.PathValue("id")+"/destinations", http.StatusSeeOther)
	return nil
}

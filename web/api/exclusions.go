package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/referrer"
	"github.com/tributary/tributary/web/core"
)

// A site's referrer exclusions: the hosts never taken as its traffic source. A site follows the
// server's list (referrer.Excluded: the payment providers and --referrer-exclude) until it keeps its own
// (MetaStore setting tributary.SiteSettingKey(id, ingest.ReferrerExcludeSetting)), which replaces the
// server's for that site; ingest reads it through its site cache.

// MaxExcludedHosts caps a site's referrer exclusion list.
const MaxExcludedHosts = 500

// exclusionsView is the answer of GET and PUT /api/v1/sites/{id}/referrer-exclusions.
type exclusionsView struct {
	Hosts []string `json:"hosts"`
	// Own is true when the site keeps its own list, false when it follows the server's.
	Own bool `json:"own"`
}

// SiteExclusions returns the list in force for site id.
func (s *API) SiteExclusions(r *http.Request, id string) (exclusionsView, error) {
	v, err := s.Opt.Meta.Setting(r.Context(), tributary.SiteSettingKey(id, ingest.ReferrerExcludeSetting))
	switch {
	case err == nil:
		if list := ingest.SplitHosts(v); list != nil {
			return exclusionsView{Hosts: list, Own: true}, nil
		}
	case tributary.ErrorCode(err) != tributary.ENOTFOUND:
		return exclusionsView{}, err
	}
	return exclusionsView{Hosts: referrer.Excluded(), Own: false}, nil
}

// SaveExclusions stores the site's own list; an empty list, or one equal to the server's, makes the
// site follow the server's list (and its later changes) again.
func (s *API) SaveExclusions(r *http.Request, id string, hosts []string) (exclusionsView, error) {
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return exclusionsView{}, err
	}
	list := referrer.NormalizeHosts(hosts)
	if len(list) > MaxExcludedHosts {
		return exclusionsView{}, tributary.FieldError("hosts", "at most %d hosts", MaxExcludedHosts)
	}
	for _, h := range list {
		if _, err := tributary.NormalizeDomain(h); err != nil || strings.ContainsAny(h, ", \t\r\n") {
			return exclusionsView{}, tributary.FieldError("hosts", "%q is not a host name (e.g. checkout.stripe.com)", h)
		}
	}
	value := strings.Join(list, ",")
	if slices.Equal(list, referrer.Excluded()) {
		value = ""
	}
	if err := s.Opt.Meta.PutSetting(r.Context(), tributary.SiteSettingKey(id, ingest.ReferrerExcludeSetting), value); err != nil {
		return exclusionsView{}, err
	}
	return s.SiteExclusions(r, id)
}

// HandleGetExclusions is GET /api/v1/sites/{id}/referrer-exclusions.
func (s *API) HandleGetExclusions(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Opt.Sites.Site(r.Context(), id); err != nil {
		return err
	}
	v, err := s.SiteExclusions(r, id)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, v)
	return nil
}

// HandlePutExclusions is PUT /api/v1/sites/{id}/referrer-exclusions {"hosts": [...]}.
func (s *API) HandlePutExclusions(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Hosts []string `json:"hosts"`
	}
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	v, err := s.SaveExclusions(r, r.PathValue("id"), in.Hosts)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, v)
	return nil
}

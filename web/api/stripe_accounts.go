package api

import (
	"net/http"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/web/core"
)

// AccountView is a connected Stripe account as the API shows it: never its key.
type AccountView struct {
	*stripe.Account
	// Progress of the history import: types done of all, and the state per type.
	TypesDone  int  `json:"types_done"`
	TypesTotal int  `json:"types_total"`
	Done       bool `json:"import_done"`
}

// ViewAccount is a connected Stripe account as the API and the UI show it (never its key).
func ViewAccount(a *stripe.Account) AccountView {
	v := AccountView{Account: a, TypesTotal: stripe.ImportTypeCount(), Done: !a.Import.Finished.IsZero()}
	for _, t := range a.Import.Types {
		if t.Done {
			v.TypesDone++
		}
	}
	return v
}

type connectInput struct {
	Key          string `json:"key"`
	ImportMonths *int   `json:"import_months"`
}

// Syncer is the Stripe syncer main passed, ENOTIMPL when there is none.
func (s *API) Syncer() (*stripe.Syncer, error) {
	if s.Opt.Stripe == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "connecting Stripe accounts is not enabled on this server")
	}
	return s.Opt.Stripe, nil
}

// HandleConnectAccount connects a Stripe account with a restricted key: POST …/stripe-accounts
// {"key":"rk_…","import_months":12}.
func (s *API) HandleConnectAccount(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	var in connectInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	months := 12
	if in.ImportMonths != nil {
		months = *in.ImportMonths
	}
	a, err := sy.Connect(r.Context(), site, in.Key, months, s.BaseURL(r))
	if err != nil {
		return err
	}
	sy.Wake()
	core.WriteJSON(w, http.StatusCreated, ViewAccount(a))
	return nil
}

// HandleListAccounts answers GET /api/v1/sites/{id}/stripe-accounts.
func (s *API) HandleListAccounts(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	if _, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	as, err := sy.Accounts(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]AccountView, 0, len(as))
	for _, a := range as {
		out = append(out, ViewAccount(a))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"stripe_accounts": out, "permissions": stripe.Permissions, "events": stripe.Events()})
	return nil
}

// HandleGetAccount answers GET /api/v1/sites/{id}/stripe-accounts/{account}.
func (s *API) HandleGetAccount(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	a, err := sy.Account(r.Context(), r.PathValue("id"), r.PathValue("account"))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, ViewAccount(a))
	return nil
}

// HandleDisconnectAccount deletes Tributary's endpoint in Stripe and forgets the key; data stays.
func (s *API) HandleDisconnectAccount(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	a, err := sy.Disconnect(r.Context(), r.PathValue("id"), r.PathValue("account"))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, ViewAccount(a))
	return nil
}

// HandleReimport starts the history import again: POST …/stripe-accounts/{account}/import {"import_months":3}.
func (s *API) HandleReimport(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	var in connectInput
	if err := core.DecodeJSON(w, r, s.Opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	months := 12
	if in.ImportMonths != nil {
		months = *in.ImportMonths
	}
	a, err := sy.Reimport(r.Context(), r.PathValue("id"), r.PathValue("account"), months)
	if err != nil {
		return err
	}
	sy.Wake()
	core.WriteJSON(w, http.StatusAccepted, ViewAccount(a))
	return nil
}

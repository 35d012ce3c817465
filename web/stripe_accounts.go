package web

import (
	"net/http"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stripe"
)

// accountView is a connected Stripe account as the API shows it: never its key.
type accountView struct {
	*stripe.Account
	// Progress of the history import: types done of all, and the state per type.
	TypesDone  int  `json:"types_done"`
	TypesTotal int  `json:"types_total"`
	Done       bool `json:"import_done"`
}

func viewAccount(a *stripe.Account) accountView {
	v := accountView{Account: a, TypesTotal: stripe.ImportTypeCount(), Done: !a.Import.Finished.IsZero()}
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

func (s *Server) syncer() (*stripe.Syncer, error) {
	if s.opt.Stripe == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "connecting Stripe accounts is not enabled on this server")
	}
	return s.opt.Stripe, nil
}

// handleConnectAccount connects a Stripe account with a restricted key: POST …/stripe-accounts
// {"key":"rk_…","import_months":12}.
func (s *Server) handleConnectAccount(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	var in connectInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	site, err := s.opt.Meta.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	months := 12
	if in.ImportMonths != nil {
		months = *in.ImportMonths
	}
	a, err := sy.Connect(r.Context(), site, in.Key, months, s.baseURL(r))
	if err != nil {
		return err
	}
	sy.Wake()
	writeJSON(w, http.StatusCreated, viewAccount(a))
	return nil
}

func (s *Server) handleListAccounts(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	if _, err := s.opt.Meta.Site(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	as, err := sy.Accounts(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]accountView, 0, len(as))
	for _, a := range as {
		out = append(out, viewAccount(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"stripe_accounts": out, "permissions": stripe.Permissions, "events": stripe.Events()})
	return nil
}

func (s *Server) handleGetAccount(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	a, err := sy.Account(r.Context(), r.PathValue("id"), r.PathValue("account"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAccount(a))
	return nil
}

// handleDisconnectAccount deletes Tributary's endpoint in Stripe and forgets the key; data stays.
func (s *Server) handleDisconnectAccount(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	a, err := sy.Disconnect(r.Context(), r.PathValue("id"), r.PathValue("account"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAccount(a))
	return nil
}

// handleReimport starts the history import again: POST …/stripe-accounts/{account}/import {"import_months":3}.
func (s *Server) handleReimport(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	var in connectInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
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
	writeJSON(w, http.StatusAccepted, viewAccount(a))
	return nil
}

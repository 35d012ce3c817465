package ui

import (
	"log/slog"
	"net/http"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/web/core"
)

// The owner's account page: change the password (the current one is asked again). Every other login
// session ends with the change. A forgotten password is reset on the server's machine with
// `tributary reset-password --email …` (cmd/tributary).

// PageAccount answers GET /account.
func (s *UI) PageAccount(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "account.html", page{Title: "Account", Data: map[string]string{"Done": r.URL.Query().Get("changed")}})
}

// PostPassword answers POST /account/password.
func (s *UI) PostPassword(w http.ResponseWriter, r *http.Request) error {
	u, ls, err := s.SessionUser(r)
	if err != nil {
		return err
	}
	if u == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	fail := func(msg string) error {
		return s.render(w, r, http.StatusBadRequest, "account.html", page{Title: "Account", Error: msg})
	}
	if !core.CheckPassword(u.PasswordHash, r.PostFormValue("current_password")) {
		return fail("The current password is not right.")
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_confirm") {
		return fail("The new passwords do not match.")
	}
	hash, err := core.HashPassword(pw)
	if err != nil {
		return fail(tributary.ErrorMessage(err))
	}
	if err := s.Opt.Meta.SetPassword(r.Context(), u.ID, hash, ls.ID); err != nil {
		return err
	}
	s.Log.LogAttrs(r.Context(), slog.LevelInfo, "owner password changed", slog.String("email", u.Email))
	http.Redirect(w, r, "/account?changed=1", http.StatusSeeOther)
	return nil
}

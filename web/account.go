package web

import (
	"log/slog"
	"net/http"

	"github.com/tributary/tributary"
)

// The owner's account page: change the password (the current one is asked again). Every other login
// session ends with the change. A forgotten password is reset on the server's machine with
// `tributary reset-password --email …` (cmd/tributary).

func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "account.html", page{Title: "Account", Data: map[string]string{"Done": r.URL.Query().Get("changed")}})
}

func (s *Server) postPassword(w http.ResponseWriter, r *http.Request) error {
	u, ls, err := s.sessionUser(r)
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
	if !checkPassword(u.PasswordHash, r.PostFormValue("current_password")) {
		return fail("The current password is not right.")
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_confirm") {
		return fail("The new passwords do not match.")
	}
	hash, err := hashPassword(pw)
	if err != nil {
		return fail(tributary.ErrorMessage(err))
	}
	if err := s.opt.Meta.SetPassword(r.Context(), u.ID, hash, ls.ID); err != nil {
		return err
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "owner password changed", slog.String("email", u.Email))
	http.Redirect(w, r, "/account?changed=1", http.StatusSeeOther)
	return nil
}

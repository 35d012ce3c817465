package ui

import (
	"bytes"
	"context"
	"crypto/subtle"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/numfmt"
	"github.com/tributary/tributary/web/core"
)

// uiHandler renders a page or performs a form action; a returned error is shown as an error page.
type UIHandler func(w http.ResponseWriter, r *http.Request) error

type csrfKeyT struct{}

func csrfFrom(ctx context.Context) string { s, _ := ctx.Value(csrfKeyT{}).(string); return s }

// ui wraps UI handlers: it ensures the CSRF cookie, checks the token and origin on every POST, and
// renders returned errors.
func (s *UI) Page(h UIHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := ""
		if c, err := r.Cookie(core.CsrfCookie); err == nil && len(c.Value) >= 32 {
			token = c.Value
		} else {
			token = tributary.RandomID(32)
			http.SetCookie(w, &http.Cookie{Name: core.CsrfCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.Secure(r)})
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			form := r.PostFormValue(core.CsrfField)
			if err := core.CrossOrigin.Check(r); err != nil || form == "" || subtle.ConstantTimeCompare([]byte(form), []byte(token)) != 1 {
				s.renderError(w, r, http.StatusForbidden, "This form expired or came from another site. Go back, reload the page and try again.")
				return
			}
			if field := core.UncleanField(r.PostForm); field != "" {
				s.renderError(w, r, http.StatusBadRequest, "The field "+field+" holds a NUL byte or invalid text; remove it and try again.")
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), csrfKeyT{}, token))
		if err := h(w, r); err != nil {
			st := core.ErrorStatus(err)
			if st >= 500 {
				s.Log.LogAttrs(r.Context(), slog.LevelError, "page failed", slog.String("path", r.URL.Path), slog.Any("err", err))
			}
			s.renderError(w, r, st, tributary.ErrorMessage(err))
		}
	})
}

// RequireLogin sends visitors without a session to the login page (or setup when there is no owner).
func (s *UI) RequireLogin(h UIHandler) UIHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, ls, err := s.SessionUser(r)
		if err != nil {
			return err
		}
		if u == nil {
			has, err := s.Opt.Meta.HasUsers(r.Context())
			if err != nil {
				return err
			}
			if !has {
				http.Redirect(w, r, "/setup", http.StatusSeeOther)
				return nil
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		r = r.WithContext(context.WithValue(r.Context(), core.PrincipalKey, &core.Principal{User: u, Session: ls}))
		return h(w, r)
	}
}

// page is what every template receives.
type page struct {
	Title   string
	CSRF    string
	User    *tributary.User
	Version string
	Error   string
	Data    any
}

func parseTemplates() *template.Template {
	funcs := template.FuncMap{
		"join":    strings.Join,
		"locales": numfmt.Supported,
	}
	return template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
}

// render executes a template into a buffer first, so a template error never sends half a page.
func (s *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) error {
	p.CSRF = csrfFrom(r.Context())
	p.Version = s.Opt.Version
	if pr := core.PrincipalFrom(r.Context()); pr != nil {
		p.User = pr.User
	}
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

func (s *UI) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if err := s.render(w, r, status, "error.html", page{Title: http.StatusText(status), Error: msg}); err != nil {
		http.Error(w, msg, status)
	}
}

// PageHome answers GET /{$}.
func (s *UI) PageHome(w http.ResponseWriter, r *http.Request) error {
	if done, err := s.redirectUnless(w, r, true, "/setup"); done || err != nil {
		return err
	}
	http.Redirect(w, r, "/sites", http.StatusSeeOther)
	return nil
}

// redirectUnless sends the visitor to `to` unless the owner's existence is wantOwner (setup only before
// the owner exists, login only after); it reports whether it redirected.
func (s *UI) redirectUnless(w http.ResponseWriter, r *http.Request, wantOwner bool, to string) (bool, error) {
	has, err := s.Opt.Meta.HasUsers(r.Context())
	if err != nil || has == wantOwner {
		return false, err
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return true, nil
}

// PageSetup answers GET /setup.
func (s *UI) PageSetup(w http.ResponseWriter, r *http.Request) error {
	if done, err := s.redirectUnless(w, r, false, "/login"); done || err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "setup.html", page{Title: "Welcome to Tributary"})
}

// PostSetup answers POST /setup.
func (s *UI) PostSetup(w http.ResponseWriter, r *http.Request) error {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	pw := r.PostFormValue("password")
	fail := func(msg string) error {
		return s.render(w, r, http.StatusBadRequest, "setup.html", page{Title: "Welcome to Tributary", Error: msg, Data: map[string]string{"Email": email}})
	}
	if !strings.Contains(email, "@") || len(email) > 254 {
		return fail("Enter a valid e-mail address.")
	}
	if pw != r.PostFormValue("password_confirm") {
		return fail("The passwords do not match.")
	}
	hash, err := core.HashPassword(pw)
	if err != nil {
		return fail(tributary.ErrorMessage(err))
	}
	u := &tributary.User{ID: tributary.RandomID(12), Email: email, PasswordHash: hash, CreatedAt: s.Opt.Now().UTC()}
	if err := s.Opt.Meta.CreateOwner(r.Context(), u); err != nil {
		if tributary.ErrorCode(err) == tributary.ECONFLICT {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		return err
	}
	s.Log.LogAttrs(r.Context(), slog.LevelInfo, "owner account created", slog.String("email", email))
	if err := s.StartSession(w, r, u); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites", http.StatusSeeOther)
	return nil
}

// PageLogin answers GET /login.
func (s *UI) PageLogin(w http.ResponseWriter, r *http.Request) error {
	if done, err := s.redirectUnless(w, r, true, "/setup"); done || err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "login.html", page{Title: "Log in", Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps redirects after login on this site.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") {
		return "/sites"
	}
	return n
}

// PostLogin answers POST /login.
func (s *UI) PostLogin(w http.ResponseWriter, r *http.Request) error {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	next := safeNext(r.PostFormValue("next"))
	data := map[string]string{"Email": email, "Next": next}
	ip := s.ClientAddr(r)
	pair := ip + "|" + email
	if limited, wait := s.Logins.Limited(ip, pair, email); limited {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.Log.LogAttrs(r.Context(), slog.LevelWarn, "login rate limited", slog.String("email", email), slog.String("addr", ip))
		return s.render(w, r, http.StatusTooManyRequests, "login.html", page{Title: "Log in", Error: "Too many failed login attempts from this address. Wait a few minutes and try again.", Data: data})
	}
	u, err := s.Opt.Meta.UserByEmail(r.Context(), email)
	hash := ""
	if err == nil {
		hash = u.PasswordHash
	} else if tributary.ErrorCode(err) != tributary.ENOTFOUND {
		return err
	}
	if !core.CheckPassword(hash, r.PostFormValue("password")) {
		s.Logins.Failed(ip, pair, email)
		return s.render(w, r, http.StatusUnauthorized, "login.html", page{Title: "Log in", Error: "Wrong e-mail or password.", Data: data})
	}
	s.Logins.Succeeded(ip, pair, email)
	if err := s.StartSession(w, r, u); err != nil {
		return err
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// PostLogout answers POST /logout.
func (s *UI) PostLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(core.SessionCookie); err == nil {
		if err := s.Opt.Meta.DeleteSession(r.Context(), tributary.HashSecret(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: core.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.Secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

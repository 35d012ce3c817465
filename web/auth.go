package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/clientip"
)

const (
	sessionCookie = "trib_session"
	csrfCookie    = "trib_csrf"
	csrfField     = "csrf_token"
	sessionTTL    = 30 * 24 * time.Hour
	// bcrypt ignores bytes past 72; refusing longer passwords avoids a silent truncation.
	maxPasswordBytes = 72
	minPasswordChars = 10
)

// principal is who a request acts as.
type principal struct {
	user    *tributary.User    // owner via login session
	session *tributary.Session // set with user
	admin   bool               // admin token
	key     *tributary.APIKey  // a site's API key
}

func (p *principal) isOwner() bool { return p != nil && (p.admin || p.user != nil) }

type ctxKey int

const principalKey ctxKey = 1

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey).(*principal)
	return p
}

// apiHandler is a JSON API handler that reports failure by returning a (coded) error.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

// bearer returns the credential of Authorization: Bearer or x-api-key.
func bearer(r *http.Request) string {
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate resolves the request's principal from the admin token, an API key or the session
// cookie. A wrong credential is an error; no credential yields nil.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if tok := bearer(r); tok != "" {
		if s.opt.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opt.AdminToken)) == 1 {
			return &principal{admin: true}, nil
		}
		k, err := s.opt.Meta.APIKeyByHash(r.Context(), tributary.HashSecret(tok))
		if tributary.ErrorCode(err) == tributary.ENOTFOUND || (err == nil && k.RevokedAt != nil) {
			return nil, tributary.Errorf(tributary.EUNAUTHORIZED, "the token or API key is not valid (revoked, mistyped, or the admin token is not configured)")
		}
		if err != nil {
			return nil, err
		}
		if k.LastUsedAt == nil || s.opt.Now().Sub(*k.LastUsedAt) > time.Minute {
			// Coarse last-used keeps hot paths from writing on every request.
			// Last-used is informational: a failed write must not fail the request.
			if err := s.opt.Meta.TouchAPIKey(r.Context(), k.ID, s.opt.Now()); err != nil {
				s.log.LogAttrs(r.Context(), slog.LevelWarn, "could not record API key use", slog.String("key", k.ID), slog.Any("err", err))
			}
		}
		return &principal{key: k}, nil
	}
	u, ls, err := s.sessionUser(r)
	if err != nil || u == nil {
		return nil, err
	}
	return &principal{user: u, session: ls}, nil
}

// sessionUser returns the logged-in user of the session cookie, nil when there is none or it expired.
func (s *Server) sessionUser(r *http.Request) (*tributary.User, *tributary.Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil, nil
	}
	ls, err := s.opt.Meta.SessionByID(r.Context(), tributary.HashSecret(c.Value))
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if s.opt.Now().After(ls.ExpiresAt) {
		return nil, nil, nil
	}
	u, err := s.opt.Meta.UserByID(r.Context(), ls.UserID)
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		return nil, nil, nil
	}
	return u, ls, err
}

// crossOrigin rejects state-changing browser requests that come from another origin; it is the CSRF
// defence for cookie-authenticated API calls (forms also carry a token).
var crossOrigin = http.NewCrossOriginProtection()

// owner wraps a management API handler: admin token or owner session required; an API key is a valid
// credential without the rights, hence 403.
func (s *Server) owner(h apiHandler) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		p := principalFrom(r.Context())
		switch {
		case p == nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="tributary"`)
			return tributary.Errorf(tributary.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <admin token> or log in")
		case !p.isOwner():
			return tributary.Errorf(tributary.EFORBIDDEN, "API keys cannot use the management API; use the admin token or log in as the owner")
		}
		return h(w, r)
	})
}

// api authenticates the request, stores the principal in the context and writes returned errors.
func (s *Server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			if tributary.ErrorCode(err) == tributary.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tributary"`)
			}
			s.writeError(w, r, err)
			return
		}
		if p != nil && p.user != nil {
			if err := crossOrigin.Check(r); err != nil {
				s.writeError(w, r, tributary.Errorf(tributary.EFORBIDDEN, "cross-origin request refused"))
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// hashPassword checks the password rules and hashes it with bcrypt.
func hashPassword(pw string) (string, error) {
	if len([]rune(pw)) < minPasswordChars {
		return "", tributary.FieldError("password", "password must be at least %d characters", minPasswordChars)
	}
	if len(pw) > maxPasswordBytes {
		return "", tributary.FieldError("password", "password must be at most %d bytes", maxPasswordBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// dummyHash makes a login for an unknown e-mail cost as much as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("tributary-dummy-password"), bcrypt.DefaultCost)

func checkPassword(hash, pw string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// startSession creates a login session and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *tributary.User) error {
	token := tributary.RandomID(43)
	now := s.opt.Now()
	ls := &tributary.Session{ID: tributary.HashSecret(token), UserID: u.ID, CSRFToken: tributary.RandomID(32), CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}
	if err := s.opt.Meta.CreateSession(r.Context(), ls); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secure(r), Expires: ls.ExpiresAt})
	return nil
}

func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.opt.SecureCookies }

// clientAddr is the client address as seen through trusted proxies.
func (s *Server) clientAddr(r *http.Request) string {
	a := clientip.FromRequest(r, s.opt.TrustedProxies)
	if !a.IsValid() {
		return r.RemoteAddr
	}
	return a.String()
}

package core

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
	SessionCookie = "trib_session"
	CsrfCookie    = "trib_csrf"
	CsrfField     = "csrf_token"
	sessionTTL    = 30 * 24 * time.Hour
	// bcrypt ignores bytes past 72; refusing longer passwords avoids a silent truncation.
	maxPasswordBytes = 72
	minPasswordChars = 10
)

// Principal is who a request acts as.
type Principal struct {
	User    *tributary.User    // owner via login session
	Session *tributary.Session // set with user
	admin   bool               // admin token
	Key     *tributary.APIKey  // a site's API key
}

func (p *Principal) isOwner() bool { return p != nil && (p.admin || p.User != nil) }

type ctxKey int

// PrincipalKey is the context key of the request's principal.
const PrincipalKey ctxKey = 1

// PrincipalFrom returns the principal the request acts as, nil for none.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(PrincipalKey).(*Principal)
	return p
}

// apiHandler is a JSON API handler that reports failure by returning a (coded) error.
type APIHandler func(w http.ResponseWriter, r *http.Request) error

// Bearer returns the credential of Authorization: Bearer or x-api-key.
func Bearer(r *http.Request) string {
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
func (s *Server) authenticate(r *http.Request) (*Principal, error) {
	if tok := Bearer(r); tok != "" {
		if s.Opt.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.Opt.AdminToken)) == 1 {
			return &Principal{admin: true}, nil
		}
		k, err := s.Opt.Meta.APIKeyByHash(r.Context(), tributary.HashSecret(tok))
		if tributary.ErrorCode(err) == tributary.ENOTFOUND || (err == nil && k.RevokedAt != nil) {
			return nil, tributary.Errorf(tributary.EUNAUTHORIZED, "the token or API key is not valid (revoked, mistyped, or the admin token is not configured)")
		}
		if err != nil {
			return nil, err
		}
		if k.LastUsedAt == nil || s.Opt.Now().Sub(*k.LastUsedAt) > time.Minute {
			// Coarse last-used keeps hot paths from writing on every request.
			// Last-used is informational: a failed write must not fail the request.
			if err := s.Opt.Meta.TouchAPIKey(r.Context(), k.ID, s.Opt.Now()); err != nil {
				s.Log.LogAttrs(r.Context(), slog.LevelWarn, "could not record API key use", slog.String("key", k.ID), slog.Any("err", err))
			}
		}
		return &Principal{Key: k}, nil
	}
	u, ls, err := s.SessionUser(r)
	if err != nil || u == nil {
		return nil, err
	}
	return &Principal{User: u, Session: ls}, nil
}

// SessionUser returns the logged-in user of the session cookie, nil when there is none or it expired.
func (s *Server) SessionUser(r *http.Request) (*tributary.User, *tributary.Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil, nil
	}
	ls, err := s.Opt.Meta.SessionByID(r.Context(), tributary.HashSecret(c.Value))
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if s.Opt.Now().After(ls.ExpiresAt) {
		return nil, nil, nil
	}
	u, err := s.Opt.Meta.UserByID(r.Context(), ls.UserID)
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		return nil, nil, nil
	}
	return u, ls, err
}

// CrossOrigin rejects state-changing browser requests that come from another origin; it is the CSRF
// defence for cookie-authenticated API calls (forms also carry a token).
var CrossOrigin = http.NewCrossOriginProtection()

// Owner wraps a management API handler: admin token or owner session required; an API key is a valid
// credential without the rights, hence 403.
func (s *Server) Owner(h APIHandler) http.Handler {
	return s.APIAuth(func(w http.ResponseWriter, r *http.Request) error {
		p := PrincipalFrom(r.Context())
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
func (s *Server) APIAuth(h APIHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			if tributary.ErrorCode(err) == tributary.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tributary"`)
			}
			s.WriteError(w, r, err)
			return
		}
		if p != nil && p.User != nil {
			if err := CrossOrigin.Check(r); err != nil {
				s.WriteError(w, r, tributary.Errorf(tributary.EFORBIDDEN, "cross-origin request refused"))
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), PrincipalKey, p))
		if err := h(w, r); err != nil {
			s.WriteError(w, r, err)
		}
	})
}

// HashPassword checks the password rules and hashes it with bcrypt.
func HashPassword(pw string) (string, error) {
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

// CheckPassword reports whether pw matches hash; an empty hash (no such user) costs as much as a
// wrong password, so a login does not tell which e-mails exist.
func CheckPassword(hash, pw string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// StartSession creates a login session and sets its cookie.
func (s *Server) StartSession(w http.ResponseWriter, r *http.Request, u *tributary.User) error {
	token := tributary.RandomID(43)
	now := s.Opt.Now()
	ls := &tributary.Session{ID: tributary.HashSecret(token), UserID: u.ID, CSRFToken: tributary.RandomID(32), CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}
	if err := s.Opt.Meta.CreateSession(r.Context(), ls); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.Secure(r), Expires: ls.ExpiresAt})
	return nil
}

// Secure reports whether cookies get the Secure attribute: the request came over TLS or the server
// is configured for https.
func (s *Server) Secure(r *http.Request) bool { return r.TLS != nil || s.Opt.SecureCookies }

// ClientAddr is the client address as seen through trusted proxies.
func (s *Server) ClientAddr(r *http.Request) string {
	a := clientip.FromRequest(r, s.Opt.TrustedProxies)
	if !a.IsValid() {
		return r.RemoteAddr
	}
	return a.String()
}

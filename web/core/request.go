package core

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/tributary/tributary"
)

// KeyFor authorises an API-key request for scope and applies the key's rate limit, cost tokens at once.
func (s *Server) KeyFor(w http.ResponseWriter, r *http.Request, scope string, cost int) (*tributary.APIKey, *tributary.Site, error) {
	p := PrincipalFrom(r.Context())
	if p == nil || p.Key == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tributary"`)
		return nil, nil, tributary.Errorf(tributary.EUNAUTHORIZED, "send the site's API key as x-api-key: KEY or Authorization: Bearer KEY")
	}
	k := p.Key
	if !k.HasScope(scope) {
		return nil, nil, tributary.Errorf(tributary.EFORBIDDEN, "this API key lacks the %s scope", scope)
	}
	if err := s.LimitKey(w, r, k, cost); err != nil {
		return nil, nil, err
	}
	site, err := s.Opt.Sites.Site(r.Context(), k.SiteID)
	if err != nil {
		return nil, nil, err
	}
	return k, site, nil
}

// ReadBody reads a raw request body of at most limit bytes, with coded errors.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tributary.Errorf(tributary.ETOOLARGE, "request body is larger than %d bytes", limit)
		}
		return nil, tributary.Errorf(tributary.EINVALID, "could not read body: %v", err)
	}
	return b, nil
}

// itoaSeconds renders a wait as whole seconds, at least 1.
func itoaSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(math.Max(d.Seconds(), 1))))
}

// ModeName names a Stripe mode for messages: live or test.
func ModeName(live bool) string {
	if live {
		return tributary.ModeLive
	}
	return tributary.ModeTest
}

// BaseURL is the configured public URL or the one the request came in on.
func (s *Server) BaseURL(r *http.Request) string {
	if s.Opt.BaseURL != "" {
		return s.Opt.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

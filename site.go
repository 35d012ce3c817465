package tributary

import (
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/tributary/tributary/numfmt"
)

// Site is one tracked website with its reporting currency and time zone.
type Site struct {
	ID       string `json:"id"`
	Domain   string `json:"domain"`
	Name     string `json:"name"`
	Currency string `json:"currency"`
	Timezone string `json:"timezone"`
	// Locale is the BCP 47 tag numbers and money are formatted in (numfmt.Supported lists them).
	Locale    string    `json:"locale"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Defaults for a new site.
const (
	DefaultCurrency = "USD"
	DefaultTimezone = "UTC"
)

var domainLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeDomain turns user input such as "https://www.Example.com/path" into "example.com"-style host
// names and rejects anything that is not a host name.
func NormalizeDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(d, "://"); i >= 0 {
		d = d[i+3:]
	}
	if i := strings.IndexAny(d, "/?#"); i >= 0 {
		d = d[:i]
	}
	d = strings.TrimSuffix(d, ".")
	if h, _, err := net.SplitHostPort(d); err == nil {
		d = h
	}
	d = strings.TrimPrefix(d, "www.")
	if d == "" {
		return "", FieldError("domain", "domain is required, e.g. \"example.com\"")
	}
	if len(d) > 253 {
		return "", FieldError("domain", "domain %q is longer than 253 characters", d)
	}
	if d == "localhost" || net.ParseIP(d) != nil {
		return d, nil
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if !domainLabel.MatchString(l) {
			return "", FieldError("domain", "domain %q is not a valid host name (use e.g. \"example.com\", without scheme or path)", s)
		}
	}
	return d, nil
}

// Normalize validates s in place: domain, name (defaults to the domain), currency (ISO 4217, default
// USD), time zone (IANA, default UTC) and locale (default en-US). The error names the field at fault.
func (s *Site) Normalize() error {
	d, err := NormalizeDomain(s.Domain)
	if err != nil {
		return err
	}
	s.Domain = d
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		s.Name = d
	}
	if len(s.Name) > 200 {
		return FieldError("name", "name is longer than 200 characters")
	}
	if s.Currency == "" {
		s.Currency = DefaultCurrency
	}
	c, ok := NormalizeCurrency(s.Currency)
	if !ok {
		return FieldError("currency", "currency %q is not an ISO 4217 code (e.g. USD, EUR, JPY)", s.Currency)
	}
	s.Currency = c
	if s.Timezone == "" {
		s.Timezone = DefaultTimezone
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil || strings.EqualFold(s.Timezone, "local") {
		return FieldError("timezone", "timezone %q is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)", s.Timezone)
	}
	if s.Locale == "" {
		s.Locale = numfmt.DefaultLocale
	}
	l, ok := numfmt.Canonical(s.Locale)
	if !ok {
		return FieldError("locale", "locale %q is not supported; use one of %s", s.Locale, strings.Join(numfmt.Supported(), ", "))
	}
	s.Locale = l
	return nil
}

// Location returns the site's time zone, UTC when it cannot be loaded.
func (s *Site) Location() *time.Location {
	if loc, err := time.LoadLocation(s.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// API key scopes.
const (
	ScopeEventsWrite = "events:write"
	ScopeStatsRead   = "stats:read"
)

// ValidScopes lists the scopes an API key may carry.
var ValidScopes = []string{ScopeEventsWrite, ScopeStatsRead}

// DefaultAPIKeyRateLimit is the default number of requests a minute an API key may make.
const DefaultAPIKeyRateLimit = 600

// APIKey is a per-site secret for the server-to-server and query APIs. Only a hash of the secret is
// stored; the secret itself is shown once, at creation.
type APIKey struct {
	ID         string     `json:"id"`
	SiteID     string     `json:"site_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first characters of the key, to recognise it in lists
	Hash       string     `json:"-"`
	Scopes     []string   `json:"scopes"`
	RateLimit  int        `json:"rate_limit_per_minute"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// HasScope reports whether the key carries scope.
func (k *APIKey) HasScope(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// User is a person who logs into the web UI. The first user is the owner.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a server-side login session. ID is stored as a hash of the cookie value.
type Session struct {
	ID        string
	UserID    string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

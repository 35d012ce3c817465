// Package stripeapi is Tributary's client of the Stripe REST API: it checks a restricted key, creates and
// deletes the webhook endpoint Tributary receives events on, and pages through the list endpoints and
// the Events API for history import and healing. It sends form-encoded requests with a pinned
// Stripe-Version (the answers' shapes are the ones the decoders know best), stays under a request rate,
// and backs off on 429 (honouring Retry-After) and on 5xx. Answers are returned raw: decoding is the
// stripe package's, tolerant of every API version.
package stripeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
)

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = "https://api.stripe.com"

// APIVersion is the version Tributary pins on its requests and on the webhook endpoints it creates: the
// one stripe-go v85 pins.
const APIVersion = "2026-03-25.dahlia"

// Client calls the Stripe API with one key.
type Client struct {
	// BaseURL is Stripe's API or a stand-in (stripe-mock, a test fake).
	BaseURL string
	Key     string
	HTTP    *http.Client
	// Rate is the most requests per second sent (Stripe allows 100/s in live mode, 25/s in test mode);
	// 0 means 20.
	Rate float64
	// MaxRetries bounds retries of one request on 429, 5xx and network errors; 0 means 6.
	MaxRetries int
	// Sleep waits (tests replace it).
	Sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time
}

// KeyMode checks the shape of a key a user pasted and returns its mode: "live" or "test". A
// publishable key cannot read anything and is refused; a secret key is refused too, because it can
// move money and Tributary needs only to read (and to manage its own webhook endpoint).
func KeyMode(key string) (string, error) {
	key = strings.TrimSpace(key)
	switch {
	case strings.HasPrefix(key, "rk_live_"):
		return tributary.ModeLive, nil
	case strings.HasPrefix(key, "rk_test_"):
		return tributary.ModeTest, nil
	case strings.HasPrefix(key, "pk_"):
		return "", tributary.FieldError("key", "this is a publishable key (pk_…), which cannot read payments: create a restricted key (rk_…) with the permissions listed on the Stripe page")
	case strings.HasPrefix(key, "sk_"):
		return "", tributary.FieldError("key", "this is a secret key (sk_…), which can move money: create a restricted key (rk_…) with only the permissions listed on the Stripe page")
	}
	return "", tributary.FieldError("key", "a Stripe restricted key starts with rk_live_ or rk_test_")
}

// Error is an error answer of the Stripe API.
type Error struct {
	Status  int
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("stripe api: %d %s: %s", e.Status, firstNonEmpty(e.Code, e.Type), e.Message)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// wait keeps the request rate.
func (c *Client) wait(ctx context.Context) error {
	rate := c.Rate
	if rate <= 0 {
		rate = 20
	}
	c.mu.Lock()
	now := time.Now()
	at := c.next
	if at.Before(now) {
		at = now
	}
	c.next = at.Add(time.Duration(float64(time.Second) / rate))
	c.mu.Unlock()
	return c.sleep(ctx, time.Until(at))
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do sends one request (form values for POST, query for GET and DELETE) and returns the raw answer,
// retrying on 429, 5xx and network errors with exponential backoff (Retry-After when Stripe sends it).
func (c *Client) Do(ctx context.Context, method, path string, form url.Values) ([]byte, error) {
	base := strings.TrimRight(firstNonEmpty(c.BaseURL, DefaultBaseURL), "/")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	retries := c.MaxRetries
	if retries <= 0 {
		retries = 6
	}
	backoff := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, err
		}
		u := base + path
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(form.Encode())
		} else if len(form) > 0 {
			u += "?" + form.Encode()
		}
		req, err := http.NewRequestWithContext(ctx, method, u, body)
		if err != nil {
			return nil, fmt.Errorf("stripe api: %s %s: %w", method, path, err)
		}
		req.Header.Set("Authorization", "Bearer "+c.Key)
		req.Header.Set("Stripe-Version", APIVersion)
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := hc.Do(req)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
		}
		retry := err != nil
		var wait time.Duration
		if err == nil {
			switch {
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				retry = true
				if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
					wait = time.Duration(s) * time.Second
				}
			case resp.StatusCode >= 400:
				e := &Error{Status: resp.StatusCode}
				var env struct {
					Error *Error `json:"error"`
				}
				if json.Unmarshal(b, &env) == nil && env.Error != nil {
					e.Type, e.Code, e.Message = env.Error.Type, env.Error.Code, env.Error.Message
				} else {
					e.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
				}
				return nil, e
			default:
				return b, nil
			}
		}
		if !retry || attempt >= retries {
			if err != nil {
				return nil, fmt.Errorf("stripe api: %s %s: %w", method, path, err)
			}
			return nil, &Error{Status: resp.StatusCode, Message: "gave up after retries"}
		}
		if wait == 0 {
			wait = backoff
			backoff *= 2
		}
		if err := c.sleep(ctx, min(wait, time.Minute)); err != nil {
			return nil, err
		}
	}
}

// Unauthorized reports whether err says the key is wrong, revoked or lacks a permission.
func Unauthorized(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == 401 || e.Status == 403)
}

// Page is one page of a list endpoint.
type Page struct {
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
}

// LastID returns the id of the page's last object (the cursor for the next page).
func (p *Page) LastID() string {
	if len(p.Data) == 0 {
		return ""
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(p.Data[len(p.Data)-1], &o)
	return o.ID
}

// List reads one page of a list endpoint: objects created at or after since (zero: all), after the
// cursor (an object id; empty: from the newest).
func (c *Client) List(ctx context.Context, path string, since time.Time, cursor string, extra url.Values) (*Page, error) {
	q := url.Values{"limit": {"100"}}
	if !since.IsZero() {
		q.Set("created[gte]", strconv.FormatInt(since.Unix(), 10))
	}
	if cursor != "" {
		q.Set("starting_after", cursor)
	}
	for k, v := range extra {
		q[k] = v
	}
	b, err := c.Do(ctx, http.MethodGet, path, q)
	if err != nil {
		return nil, err
	}
	var p Page
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("stripe api: decode %s page: %w", path, err)
	}
	return &p, nil
}

// Account is what Tributary learns about the account a key belongs to.
type Account struct {
	ID string `json:"id"`
}

// Account reads the key's account (GET /v1/account). A restricted key without the account permission
// answers 403; Connect then returns ErrNoAccountRead and the caller names the account by the key.
func (c *Client) Account(ctx context.Context) (*Account, error) {
	b, err := c.Do(ctx, http.MethodGet, "/v1/account", nil)
	if err != nil {
		return nil, err
	}
	var a Account
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("stripe api: decode account: %w", err)
	}
	return &a, nil
}

// Endpoint is a webhook endpoint created in Stripe.
type Endpoint struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	URL    string `json:"url"`
}

// CreateEndpoint creates a webhook endpoint for url receiving events, pinned to APIVersion.
func (c *Client) CreateEndpoint(ctx context.Context, endpointURL string, events []string, description string) (*Endpoint, error) {
	f := url.Values{"url": {endpointURL}, "api_version": {APIVersion}, "description": {description}}
	for _, e := range events {
		f.Add("enabled_events[]", e)
	}
	b, err := c.Do(ctx, http.MethodPost, "/v1/webhook_endpoints", f)
	if err != nil {
		return nil, err
	}
	var e Endpoint
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("stripe api: decode webhook endpoint: %w", err)
	}
	return &e, nil
}

// DeleteEndpoint deletes a webhook endpoint (404: already gone, not an error).
func (c *Client) DeleteEndpoint(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1/webhook_endpoints/"+url.PathEscape(id), nil)
	var e *Error
	if errors.As(err, &e) && e.Status == 404 {
		return nil
	}
	return err
}

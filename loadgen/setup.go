package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/tributary/tributary"
)

// SiteSpec is the demo site Setup creates.
type SiteSpec struct {
	Domain   string
	Name     string
	Currency string // reporting currency, default USD
	Timezone string // default UTC
	// Livemode makes the Stripe endpoint a live-mode one; scenarios sent to it need Options.Livemode.
	Livemode bool
	// StripeSecret is the endpoint's whsec_ signing secret; empty: a random one.
	StripeSecret string
	// APIKeyRateLimit is the key's requests a minute; 0 leaves the server's default.
	APIKeyRateLimit int
}

// Setup creates a site with an API key (events:write, stats:read), a Stripe endpoint and the revenue
// setting of server-side purchases, through the management API authorised by the admin token, and
// returns the target to send a scenario to.
func (d *Driver) Setup(ctx context.Context, adminToken string, spec SiteSpec) (*Target, error) {
	if adminToken == "" {
		return nil, tributary.FieldError("admin_token", "setup needs the server's admin token (--admin-token or TRIBUTARY_ADMIN_TOKEN)")
	}
	if spec.StripeSecret == "" {
		spec.StripeSecret = "whsec_" + tributary.RandomID(32)
	}
	var site struct {
		ID     string `json:"id"`
		Domain string `json:"domain"`
	}
	if err := d.admin(ctx, adminToken, "/api/v1/sites", map[string]string{"domain": spec.Domain, "name": spec.Name,
		"currency": spec.Currency, "timezone": spec.Timezone}, &site); err != nil {
		return nil, fmt.Errorf("loadgen: setup: create site: %w", err)
	}
	prefix := "/api/v1/sites/" + url.PathEscape(site.ID)
	keyIn := map[string]any{"name": "loadgen", "scopes": []string{tributary.ScopeEventsWrite, tributary.ScopeStatsRead}}
	if spec.APIKeyRateLimit > 0 {
		keyIn["rate_limit_per_minute"] = spec.APIKeyRateLimit
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := d.admin(ctx, adminToken, prefix+"/api-keys", keyIn, &key); err != nil {
		return nil, fmt.Errorf("loadgen: setup: create api key: %w", err)
	}
	mode := tributary.ModeTest
	if spec.Livemode {
		mode = tributary.ModeLive
	}
	var ep struct {
		ID string `json:"id"`
	}
	if err := d.admin(ctx, adminToken, prefix+"/stripe-endpoints", map[string]string{"mode": mode,
		"signing_secret": spec.StripeSecret}, &ep); err != nil {
		return nil, fmt.Errorf("loadgen: setup: create stripe endpoint: %w", err)
	}
	if err := d.admin(ctx, adminToken, prefix+"/revenue-events", map[string]string{"event_name": ServerEventName,
		"amount_path": "metadata.amount", "unit": tributary.UnitMinor, "currency_path": "metadata.currency"}, nil); err != nil {
		return nil, fmt.Errorf("loadgen: setup: register revenue event: %w", err)
	}
	return &Target{SiteID: site.ID, Domain: site.Domain, StripeEndpointID: ep.ID, StripeSecret: spec.StripeSecret,
		APIKey: key.Key}, nil
}

// admin POSTs in as JSON with the admin token and decodes a 2xx answer into out.
func (d *Driver) admin(ctx context.Context, token, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", clientUserAgent)
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Error.Message)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

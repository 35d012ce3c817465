package destinations

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// build returns the request for a row, or nil and the reason it is skipped.
func (s *Sender) build(ctx context.Context, dest *tributary.Destination, secret string, c *Conversion, row *tributary.DestinationDelivery) (*request, string, error) {
	if c.Movement != nil && dest.Type != tributary.DestinationWebhook {
		return nil, "only the webhook takes subscription events", nil
	}
	switch dest.Type {
	case tributary.DestinationMeta:
		return buildMeta(dest, secret, c)
	case tributary.DestinationTikTok:
		return buildTikTok(dest, secret, c)
	case tributary.DestinationGoogleAds:
		return s.buildGoogle(ctx, dest, secret, c, row)
	case tributary.DestinationWebhook:
		return buildWebhook(dest, secret, c, row, s.now())
	}
	return nil, "unknown destination type " + dest.Type, nil
}

func base(dest *tributary.Destination, def string) string {
	if b := dest.Config["api_base_url"]; b != "" {
		return strings.TrimRight(b, "/")
	}
	return def
}

// value renders minor units as the JSON number of major units, exactly ("49.99", never a float).
func value(amount int64, currency string) json.Number {
	return json.Number(tributary.FormatMinor(amount, currency))
}

func email(c *Conversion) string {
	switch {
	case c.Link != nil && c.Link.Email != "":
		return c.Link.Email
	case c.Entry.Email != "":
		return c.Entry.Email
	case c.Record != nil:
		return c.Record.Email
	}
	return ""
}

// merged says why a payment merged into another is not sent as a conversion of its own.
func merged(c *Conversion) string {
	if c.Record != nil && c.Record.MergedInto != "" {
		return "the payment was merged into " + c.Record.MergedInto + ", which is sent instead"
	}
	return ""
}

func customer(c *Conversion) string {
	switch {
	case c.Entry.CustomerID != "":
		return c.Entry.CustomerID
	case c.Link != nil && c.Link.CustomerID != "":
		return c.Link.CustomerID
	case c.Record != nil:
		return c.Record.CustomerID
	}
	return ""
}

// ---- Meta Conversions API ----

type metaEvent struct {
	EventName      string         `json:"event_name"`
	EventTime      int64          `json:"event_time"`
	EventID        string         `json:"event_id"`
	ActionSource   string         `json:"action_source"`
	EventSourceURL string         `json:"event_source_url,omitempty"`
	UserData       metaUserData   `json:"user_data"`
	CustomData     metaCustomData `json:"custom_data"`
}

type metaUserData struct {
	Email      []string `json:"em,omitempty"`
	ExternalID []string `json:"external_id,omitempty"`
	FBC        string   `json:"fbc,omitempty"`
	FBP        string   `json:"fbp,omitempty"` // not hashed, as Meta documents
}

type metaCustomData struct {
	Value    json.Number `json:"value"`
	Currency string      `json:"currency"`
	OrderID  string      `json:"order_id"`
}

type metaBody struct {
	Data          []metaEvent `json:"data"`
	TestEventCode string      `json:"test_event_code,omitempty"`
}

func buildMeta(dest *tributary.Destination, token string, c *Conversion) (*request, string, error) {
	if !c.IsFirst {
		return nil, "Meta has no way to take a conversion back; only the payment itself is sent", nil
	}
	if why := merged(c); why != "" {
		return nil, why, nil
	}
	body := metaBody{}
	if !c.Entry.Livemode {
		if body.TestEventCode = dest.Config["test_event_code"]; body.TestEventCode == "" {
			return nil, "test-mode payment: set test_event_code to see it under Test events", nil
		}
	}
	ud := metaUserData{}
	if c.Click.Platform == "meta" {
		ud.FBC = fmt.Sprintf("fb.1.%d.%s", c.Click.At.UnixMilli(), c.Click.ID)
	}
	if e := email(c); e != "" {
		ud.Email = []string{hash(e)}
	}
	if id := customer(c); id != "" {
		ud.ExternalID = []string{hash(id)}
	}
	ud.FBP = c.FBP
	if ud.FBC == "" && ud.FBP == "" && ud.Email == nil && ud.ExternalID == nil {
		return nil, "no fbclid on the credited visit, no _fbp and no customer data to match", nil
	}
	body.Data = []metaEvent{{EventName: "Purchase", EventTime: c.Entry.OccurredAt.Unix(), EventID: c.Entry.PaymentID, ActionSource: "website",
		EventSourceURL: c.PageURL, UserData: ud,
		CustomData: metaCustomData{Value: value(c.Entry.Amount, c.Entry.Currency), Currency: c.Entry.Currency, OrderID: c.Entry.PaymentID}}}
	u := base(dest, MetaAPIBase) + "/" + MetaAPIVersion + "/" + url.PathEscape(dest.Config["pixel_id"]) + "/events?access_token=" + url.QueryEscape(token)
	return &request{method: http.MethodPost, url: u, header: http.Header{"Content-Type": {"application/json"}}, body: jsonBody(body)}, "", nil
}

// ---- TikTok Events API ----

type tiktokBody struct {
	EventSource   string        `json:"event_source"`
	EventSourceID string        `json:"event_source_id"`
	TestEventCode string        `json:"test_event_code,omitempty"`
	Data          []tiktokEvent `json:"data"`
}

type tiktokEvent struct {
	Event      string           `json:"event"`
	EventTime  int64            `json:"event_time"`
	EventID    string           `json:"event_id"`
	User       tiktokUser       `json:"user"`
	Properties tiktokProperties `json:"properties"`
	Page       *tiktokPage      `json:"page,omitempty"`
}

type tiktokUser struct {
	TTCLID     string `json:"ttclid,omitempty"`
	Email      string `json:"email,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
}

type tiktokProperties struct {
	Currency string      `json:"currency"`
	Value    json.Number `json:"value"`
	OrderID  string      `json:"order_id"`
}

type tiktokPage struct {
	URL string `json:"url"`
}

func buildTikTok(dest *tributary.Destination, token string, c *Conversion) (*request, string, error) {
	if !c.IsFirst {
		return nil, "TikTok has no way to take a conversion back; only the payment itself is sent", nil
	}
	if why := merged(c); why != "" {
		return nil, why, nil
	}
	body := tiktokBody{EventSource: "web", EventSourceID: dest.Config["pixel_code"]}
	if !c.Entry.Livemode {
		if body.TestEventCode = dest.Config["test_event_code"]; body.TestEventCode == "" {
			return nil, "test-mode payment: set test_event_code to see it under Test events", nil
		}
	}
	u := tiktokUser{}
	if c.Click.Platform == "tiktok" {
		u.TTCLID = c.Click.ID
	}
	if e := email(c); e != "" {
		u.Email = hash(e)
	}
	if id := customer(c); id != "" {
		u.ExternalID = hash(id)
	}
	if u == (tiktokUser{}) {
		return nil, "no ttclid on the credited visit and no customer data to match", nil
	}
	ev := tiktokEvent{Event: "CompletePayment", EventTime: c.Entry.OccurredAt.Unix(), EventID: c.Entry.PaymentID, User: u,
		Properties: tiktokProperties{Currency: c.Entry.Currency, Value: value(c.Entry.Amount, c.Entry.Currency), OrderID: c.Entry.PaymentID}}
	if c.PageURL != "" {
		ev.Page = &tiktokPage{URL: c.PageURL}
	}
	body.Data = []tiktokEvent{ev}
	return &request{method: http.MethodPost, url: base(dest, TikTokAPIBase) + "/open_api/v1.3/event/track/",
		header: http.Header{"Content-Type": {"application/json"}, "Access-Token": {token}}, body: jsonBody(body),
		check: func(b []byte) (string, bool) {
			var r struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if json.Unmarshal(b, &r) != nil || r.Code == 0 {
				return "", false
			}
			// 40100: too many requests; 5xxxx: TikTok's own errors.
			return fmt.Sprintf("tiktok code %d: %s", r.Code, r.Message), r.Code == 40100 || r.Code >= 50000
		}}, "", nil
}

// ---- Google Ads: click conversions and conversion adjustments ----

// googleConversion is a ClickConversion: exactly one of gclid, gbraid (app conversions from iOS
// clicks) and wbraid (web conversions from iOS clicks) names the click.
type googleConversion struct {
	GCLID              string      `json:"gclid,omitempty"`
	GBRAID             string      `json:"gbraid,omitempty"`
	WBRAID             string      `json:"wbraid,omitempty"`
	ConversionAction   string      `json:"conversionAction"`
	ConversionDateTime string      `json:"conversionDateTime"`
	ConversionValue    json.Number `json:"conversionValue"`
	CurrencyCode       string      `json:"currencyCode"`
	OrderID            string      `json:"orderId"`
}

type googleConversionsBody struct {
	Conversions    []googleConversion `json:"conversions"`
	PartialFailure bool               `json:"partialFailure"`
	ValidateOnly   bool               `json:"validateOnly"`
}

type googleRestatement struct {
	AdjustedValue json.Number `json:"adjustedValue"`
	CurrencyCode  string      `json:"currencyCode"`
}

type googleAdjustment struct {
	ConversionAction   string             `json:"conversionAction"`
	AdjustmentType     string             `json:"adjustmentType"`
	OrderID            string             `json:"orderId"`
	AdjustmentDateTime string             `json:"adjustmentDateTime"`
	RestatementValue   *googleRestatement `json:"restatementValue,omitempty"`
}

type googleAdjustmentsBody struct {
	ConversionAdjustments []googleAdjustment `json:"conversionAdjustments"`
	PartialFailure        bool               `json:"partialFailure"`
	ValidateOnly          bool               `json:"validateOnly"`
}

// googleTime is Google Ads' "yyyy-mm-dd hh:mm:ss+hh:mm", in the site's zone.
func googleTime(t time.Time, site *tributary.Site) string {
	return t.In(site.Location()).Format("2006-01-02 15:04:05-07:00")
}

func (s *Sender) buildGoogle(ctx context.Context, dest *tributary.Destination, secret string, c *Conversion, row *tributary.DestinationDelivery) (*request, string, error) {
	action := dest.Config["conversion_action"]
	// Test-mode money is only ever validated (validateOnly: Google checks the request and records
	// nothing), never uploaded as a conversion.
	validateOnly := !c.Entry.Livemode
	var body []byte
	path := ":uploadClickConversions"
	if c.IsFirst {
		if c.Click.Platform != "google_ads" {
			return nil, "no Google click id (gclid, gbraid or wbraid) on the credited visit", nil
		}
		if why := merged(c); why != "" {
			return nil, why, nil
		}
		conv := googleConversion{ConversionAction: action, ConversionDateTime: googleTime(c.Entry.OccurredAt, c.Site),
			ConversionValue: value(c.Entry.Amount, c.Entry.Currency), CurrencyCode: c.Entry.Currency, OrderID: c.Entry.PaymentID}
		// Each Google click id goes in the field of the parameter that carried it: Google refuses a
		// gbraid or wbraid sent as a gclid. Visits stored before the parameter was kept say "" and
		// were gclids as far as anyone knew.
		switch c.Click.Param {
		case "gbraid":
			conv.GBRAID = c.Click.ID
		case "wbraid":
			conv.WBRAID = c.Click.ID
		default:
			conv.GCLID = c.Click.ID
		}
		body = jsonBody(googleConversionsBody{Conversions: []googleConversion{conv}, PartialFailure: true, ValidateOnly: validateOnly})
	} else {
		if c.First.ID == "" {
			return nil, "the payment has no conversion to adjust", nil
		}
		conv, err := s.Meta.DestinationDelivery(ctx, row.SiteID, dest.ID, RowID(dest.ID, c.First.ID))
		if tributary.ErrorCode(err) == tributary.ENOTFOUND {
			return nil, "the payment's conversion was never queued for this destination", nil
		} else if err != nil {
			return nil, "", err
		}
		switch conv.Status {
		case tributary.OutboxPending:
			return nil, "", fmt.Errorf("waiting for the conversion %s to be sent first", conv.ID)
		case tributary.OutboxSent:
		default:
			return nil, "the payment's conversion was not sent (" + conv.Status + ")", nil
		}
		adj := googleAdjustment{ConversionAction: action, OrderID: c.Entry.PaymentID, AdjustmentDateTime: googleTime(adjustedAt(c, row), c.Site)}
		if c.Net <= 0 {
			adj.AdjustmentType = "RETRACTION"
		} else {
			adj.AdjustmentType = "RESTATEMENT"
			adj.RestatementValue = &googleRestatement{AdjustedValue: value(c.Net, c.Entry.Currency), CurrencyCode: c.Entry.Currency}
		}
		path = ":uploadConversionAdjustments"
		body = jsonBody(googleAdjustmentsBody{ConversionAdjustments: []googleAdjustment{adj}, PartialFailure: true, ValidateOnly: validateOnly})
	}
	var g GoogleSecret
	if err := json.Unmarshal([]byte(secret), &g); err != nil {
		return nil, "", fmt.Errorf("google_ads credential: %w", err)
	}
	token, err := s.googleToken(ctx, dest, g)
	if err != nil {
		return nil, "", err
	}
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}, "Developer-Token": {g.DeveloperToken}}
	if l := dest.Config["login_customer_id"]; l != "" {
		h.Set("Login-Customer-Id", l)
	}
	u := base(dest, GoogleAdsAPI) + "/" + GoogleAdsAPIVer + "/customers/" + url.PathEscape(dest.Config["customer_id"]) + path
	return &request{method: http.MethodPost, url: u, header: h, body: body, check: func(b []byte) (string, bool) {
		var r struct {
			PartialFailureError *struct {
				Message string `json:"message"`
			} `json:"partialFailureError"`
		}
		if json.Unmarshal(b, &r) != nil || r.PartialFailureError == nil || r.PartialFailureError.Message == "" {
			return "", false
		}
		m := r.PartialFailureError.Message
		// An adjustment sent before Google has processed its conversion is retried.
		return "google_ads: " + m, strings.Contains(m, "CONVERSION_NOT_FOUND") || strings.Contains(m, "TOO_RECENT")
	}}, "", nil
}

// adjustedAt is an adjustment's time: its entry's, unless that is not after the conversion, which Google
// refuses (ADJUSTMENT_PRECEDES_CONVERSION). A merged payment's reversal is dated with the entry it
// reverses (so reports keep it in the same period); Google hears of it when Tributary learnt it, the
// row's creation, fixed across retries (the dedup key includes the time).
func adjustedAt(c *Conversion, row *tributary.DestinationDelivery) time.Time {
	at := c.Entry.OccurredAt
	if at.After(c.First.OccurredAt) {
		return at
	}
	if row.CreatedAt.After(c.First.OccurredAt) {
		return row.CreatedAt
	}
	return c.First.OccurredAt.Add(time.Second)
}

type oauthToken struct {
	token string
	until time.Time
}

// googleToken exchanges the refresh token for an access token, kept until a minute before it ends.
func (s *Sender) googleToken(ctx context.Context, dest *tributary.Destination, g GoogleSecret) (string, error) {
	if t, ok := s.tokens.Load(dest.ID); ok && s.now().Before(t.(*oauthToken).until) {
		return t.(*oauthToken).token, nil
	}
	oauth := dest.Config["oauth_url"]
	if oauth == "" {
		oauth = GoogleOAuthURL
	}
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {dest.Config["client_id"]}, "client_secret": {g.ClientSecret}, "refresh_token": {g.RefreshToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, oauth, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("google oauth: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &r) != nil || r.AccessToken == "" {
		return "", fmt.Errorf("google oauth answered %d: %s", resp.StatusCode, snippet(b))
	}
	s.tokens.Store(dest.ID, &oauthToken{token: r.AccessToken, until: s.now().Add(time.Duration(r.ExpiresIn)*time.Second - time.Minute)})
	return r.AccessToken, nil
}

// ---- the signed generic webhook ----

// WebhookEvent is the generic webhook's body (docs/ad-platforms.md).
type WebhookEvent struct {
	ID           string               `json:"id"` // the outbox row id: the same on every retry
	Type         string               `json:"type"`
	Livemode     bool                 `json:"livemode"`
	SiteID       string               `json:"site_id"`
	Entry        *WebhookEntry        `json:"entry,omitempty"`        // money events
	Subscription *WebhookSubscription `json:"subscription,omitempty"` // subscription events
	Attribution  WebhookAttribution   `json:"attribution"`
}

// WebhookSubscription is the MRR movement a subscription event reports, amounts in major units.
type WebhookSubscription struct {
	ID         string      `json:"id"` // the subscription id
	MovementID string      `json:"movement_id"`
	Kind       string      `json:"kind"` // new, expansion, contraction, churn, reactivation
	At         time.Time   `json:"at"`
	MRRDelta   json.Number `json:"mrr_delta"`
	MRR        json.Number `json:"mrr"` // the subscription's MRR after this movement
	Currency   string      `json:"currency"`
	CustomerID string      `json:"customer_id,omitempty"`
	StartedAt  time.Time   `json:"started_at"` // its first movement: when its attribution is credited
}

// WebhookEntry is the ledger entry the event reports, amounts in major units.
type WebhookEntry struct {
	ID           string      `json:"id"`
	PaymentID    string      `json:"payment_id"`
	Kind         string      `json:"kind"`
	OccurredAt   time.Time   `json:"occurred_at"`
	Amount       json.Number `json:"amount"`
	Currency     string      `json:"currency"`
	PaymentNet   json.Number `json:"payment_net"` // the payment's money after this entry
	CustomerID   string      `json:"customer_id,omitempty"`
	Email        string      `json:"email,omitempty"`
	Subscription string      `json:"subscription_id,omitempty"`
	Detail       string      `json:"detail,omitempty"`
	// MergedInto names the payment this one was found to duplicate (Stripe reconciliation): its entries
	// are then reversed, the reversal a "payment" entry with a negative amount.
	MergedInto string `json:"merged_into,omitempty"`
}

// WebhookAttribution is how the payment was linked and credited.
type WebhookAttribution struct {
	Model       string   `json:"model"`
	LinkMethod  string   `json:"link_method"`
	VisitorID   string   `json:"visitor_id,omitempty"`
	SessionID   string   `json:"session_id,omitempty"`
	Channel     string   `json:"channel"`
	Source      string   `json:"source"`
	UTMSource   string   `json:"utm_source,omitempty"`
	UTMMedium   string   `json:"utm_medium,omitempty"`
	UTMCampaign string   `json:"utm_campaign,omitempty"`
	LandingPage string   `json:"landing_page,omitempty"`
	Click       *Click   `json:"click,omitempty"`
	Credits     []Credit `json:"credits"`
}

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>".
const SignatureHeader = "Tributary-Signature"

// Sign returns the signature header value of body at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

func buildWebhook(dest *tributary.Destination, secret string, c *Conversion, row *tributary.DestinationDelivery, now time.Time) (*request, string, error) {
	var ev WebhookEvent
	if m := c.Movement; m != nil {
		ev = WebhookEvent{ID: row.ID, Type: tributary.DeliverySubscription, Livemode: m.Livemode, SiteID: m.SiteID,
			Subscription: &WebhookSubscription{ID: m.SubscriptionID, MovementID: m.ID, Kind: m.Kind, At: m.At.UTC(), MRRDelta: value(m.Delta, m.Currency),
				MRR: value(c.Net, m.Currency), Currency: m.Currency, CustomerID: m.CustomerID, StartedAt: c.Started.UTC()}}
	} else {
		e := c.Entry
		ev = WebhookEvent{ID: row.ID, Type: e.Kind, Livemode: e.Livemode, SiteID: e.SiteID,
			Entry: &WebhookEntry{ID: e.ID, PaymentID: e.PaymentID, Kind: e.Kind, OccurredAt: e.OccurredAt.UTC(), Amount: value(e.Amount, e.Currency),
				Currency: e.Currency, PaymentNet: value(c.Net, e.Currency), CustomerID: e.CustomerID, Email: e.Email, Subscription: e.SubscriptionID, Detail: e.Detail}}
		if c.Record != nil {
			ev.Entry.MergedInto = c.Record.MergedInto
		}
	}
	ev.Attribution = WebhookAttribution{Model: string(c.Model), Credits: c.Credits}
	if ev.Attribution.Credits == nil {
		ev.Attribution.Credits = []Credit{}
	}
	a := &ev.Attribution
	if c.Link != nil {
		a.LinkMethod, a.VisitorID = c.Link.LinkMethod, c.Link.VisitorID
		a.Channel, a.Source = c.Link.Channel, c.Link.ReferrerSource
		a.UTMSource, a.UTMMedium, a.UTMCampaign = c.Link.UTMSource, c.Link.UTMMedium, c.Link.UTMCampaign
	}
	if v := c.Credited; v != nil {
		a.SessionID, a.Channel, a.Source, a.LandingPage = v.SessionID, v.Channel, v.Source, v.LandingPage
		a.UTMSource, a.UTMMedium, a.UTMCampaign = v.UTMSource, v.UTMMedium, v.UTMCampaign
	}
	if a.Channel == "" {
		a.Channel = "Direct"
	}
	if c.Click.ID != "" {
		click := c.Click
		a.Click = &click
	}
	body := jsonBody(ev)
	return &request{method: http.MethodPost, url: dest.Config["url"], body: body, header: http.Header{
		"Content-Type": {"application/json"}, "User-Agent": {"Tributary-Webhook/1"}, SignatureHeader: {Sign(secret, now, body)},
		"Tributary-Delivery": {row.ID}, "Tributary-Event": {ev.Type}}}, "", nil
}

// Package destinations sends paid conversions back to the ad platforms and takes them back when the
// money is refunded or lost to a dispute (issue 22, docs/ad-platforms.md).
//
// The flow has two halves, joined by a durable outbox in the MetaStore:
//
//  1. Outbox.BeforeAppend (ledger.Recorder's hook) writes one row per (destination, ledger entry) that
//     the destination may need to hear about, before the entries are appended: a crash between the two
//     loses nothing (the retried batch derives the same entries and rows, which are unique by
//     destination and entry).
//  2. Sender claims rows a few seconds old (so the payment's link and visits are stored), works out the
//     payment's credited visit under the attribution model, and sends the platform's request with the
//     platform's dedup key (the payment id), retrying with exponential backoff for up to three days. A
//     few requests are in flight at once; the rows of one payment at one destination go in order.
//
// Which rows a destination gets: Meta and TikTok get payments (they have no retraction API); Google Ads
// gets payments as click conversions and refunds, dispute losses and reinstatements as conversion
// adjustments; the webhook gets every money entry and every MRR movement (subscription events).
// Whether a row is sent is decided when it is sent: no click id (or, for Meta and TikTok, no hashed
// customer data either), consent declined, or test-mode money without the platform's test facility make
// it "skipped", with the reason.
package destinations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/metrics"
	"github.com/tributary/tributary/secretbox"
)

// Config keys per type. Keys not listed for a type are refused.
var configKeys = map[string][]string{
	tributary.DestinationMeta:      {"pixel_id", "test_event_code", "api_base_url"},
	tributary.DestinationGoogleAds: {"customer_id", "login_customer_id", "conversion_action", "api_base_url", "oauth_url", "client_id"},
	tributary.DestinationTikTok:    {"pixel_code", "test_event_code", "api_base_url"},
	tributary.DestinationWebhook:   {"url"},
}

// required config keys per type.
var requiredKeys = map[string][]string{
	tributary.DestinationMeta:      {"pixel_id"},
	tributary.DestinationGoogleAds: {"customer_id", "conversion_action", "client_id"},
	tributary.DestinationTikTok:    {"pixel_code"},
	tributary.DestinationWebhook:   {"url"},
}

// secretNames says what each type's secret is (for error messages and the docs).
var secretNames = map[string]string{
	tributary.DestinationMeta:      "access_token",
	tributary.DestinationGoogleAds: "developer_token, client_secret and refresh_token",
	tributary.DestinationTikTok:    "access_token",
	tributary.DestinationWebhook:   "signing_secret",
}

// Default API base URLs; "api_base_url" overrides them per destination (tests, proxies).
const (
	MetaAPIBase     = "https://graph.facebook.com"
	GoogleAdsAPI    = "https://googleads.googleapis.com"
	GoogleOAuthURL  = "https://oauth2.googleapis.com/token"
	TikTokAPIBase   = "https://business-api.tiktok.com"
	MetaAPIVersion  = "v21.0"
	GoogleAdsAPIVer = "v18"
)

// Input is what the API and the settings page give to create a destination. Secret holds the
// credentials: a string for meta/tiktok/webhook, an object {developer_token, client_secret,
// refresh_token} for google_ads. It is sealed at once and never returned.
type Input struct {
	Type    string            `json:"type"`
	Name    string            `json:"name"`
	Config  map[string]string `json:"config"`
	Secret  json.RawMessage   `json:"secret"`
	Enabled *bool             `json:"enabled"`
}

// GoogleSecret is a Google Ads destination's sealed credential.
type GoogleSecret struct {
	DeveloperToken string `json:"developer_token"`
	ClientSecret   string `json:"client_secret"`
	RefreshToken   string `json:"refresh_token"`
}

func purpose(id string) string { return "destination:" + id }

// New validates in and returns the destination to store, with its credential sealed.
func New(box *secretbox.Box, siteID string, in Input, now time.Time) (*tributary.Destination, error) {
	if _, ok := configKeys[in.Type]; !ok {
		return nil, tributary.FieldError("type", "type %q is unknown; use one of %s", in.Type, strings.Join(tributary.DestinationTypes, ", "))
	}
	d := &tributary.Destination{ID: "dst_" + tributary.RandomID(16), SiteID: siteID, Type: in.Type, Name: in.Name,
		Config: map[string]string{}, Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: now.UTC()}
	if err := apply(d, in.Config); err != nil {
		return nil, err
	}
	secret, err := readSecret(in)
	if err != nil {
		return nil, err
	}
	if d.SealedSecret, err = box.Seal(purpose(d.ID), secret); err != nil {
		return nil, err
	}
	return d, nil
}

// Patch changes a destination: only the fields sent. Config keys sent replace the stored ones (an empty
// value removes the key); a secret sent replaces the credential.
type Patch struct {
	Name    *string           `json:"name"`
	Config  map[string]string `json:"config"`
	Secret  json.RawMessage   `json:"secret"`
	Enabled *bool             `json:"enabled"`
}

// Update applies p to d, validated as New validates.
func Update(box *secretbox.Box, d *tributary.Destination, p Patch) error {
	if p.Name != nil {
		d.Name = *p.Name
	}
	if p.Enabled != nil {
		d.Enabled = *p.Enabled
	}
	cfg := map[string]string{}
	for k, v := range d.Config {
		cfg[k] = v
	}
	for k, v := range p.Config {
		cfg[k] = v
	}
	d.Config = map[string]string{}
	if err := apply(d, cfg); err != nil {
		return err
	}
	if len(p.Secret) > 0 && string(p.Secret) != "null" {
		secret, err := readSecret(Input{Type: d.Type, Secret: p.Secret})
		if err != nil {
			return err
		}
		if d.SealedSecret, err = box.Seal(purpose(d.ID), secret); err != nil {
			return err
		}
	}
	return nil
}

// apply validates the name and config of d's type and stores them in d.
func apply(d *tributary.Destination, config map[string]string) error {
	keys := configKeys[d.Type]
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		d.Name = d.Type
	}
	if len(d.Name) > 200 {
		return tributary.FieldError("name", "name is longer than 200 characters")
	}
	for k, v := range config {
		v = strings.TrimSpace(v)
		if !contains(keys, k) {
			return tributary.FieldError("config."+k, "%s destinations take no %q setting (they take %s)", d.Type, k, strings.Join(keys, ", "))
		}
		if len(v) > 2000 {
			return tributary.FieldError("config."+k, "%s is longer than 2000 characters", k)
		}
		if v != "" {
			d.Config[k] = v
		}
	}
	for _, k := range requiredKeys[d.Type] {
		if d.Config[k] == "" {
			return tributary.FieldError("config."+k, "%s destinations need config.%s", d.Type, k)
		}
	}
	for _, k := range []string{"api_base_url", "oauth_url", "url"} {
		if v := d.Config[k]; v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return tributary.FieldError("config."+k, "%s must be an http(s) URL", k)
			}
		}
	}
	if d.Type == tributary.DestinationGoogleAds {
		d.Config["customer_id"] = strings.ReplaceAll(d.Config["customer_id"], "-", "")
		if l := d.Config["login_customer_id"]; l != "" {
			d.Config["login_customer_id"] = strings.ReplaceAll(l, "-", "")
		}
		if !strings.HasPrefix(d.Config["conversion_action"], "customers/") {
			d.Config["conversion_action"] = "customers/" + d.Config["customer_id"] + "/conversionActions/" + d.Config["conversion_action"]
		}
	}
	return nil
}

func readSecret(in Input) (string, error) {
	missing := tributary.FieldError("secret", "%s destinations need secret: %s", in.Type, secretNames[in.Type])
	if len(in.Secret) == 0 || string(in.Secret) == "null" {
		return "", missing
	}
	if in.Type == tributary.DestinationGoogleAds {
		var g GoogleSecret
		dec := json.NewDecoder(strings.NewReader(string(in.Secret)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&g); err != nil || g.DeveloperToken == "" || g.ClientSecret == "" || g.RefreshToken == "" {
			return "", tributary.FieldError("secret", "google_ads destinations need secret {\"developer_token\", \"client_secret\", \"refresh_token\"}")
		}
		b, _ := json.Marshal(g)
		return string(b), nil
	}
	var s string
	if err := json.Unmarshal(in.Secret, &s); err != nil || strings.TrimSpace(s) == "" {
		return "", missing
	}
	if len(s) > 4000 {
		return "", tributary.FieldError("secret", "secret is longer than 4000 characters")
	}
	return strings.TrimSpace(s), nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// kinds says which ledger entry kinds a destination type gets an outbox row for.
func kinds(typ string) []string {
	switch typ {
	case tributary.DestinationMeta, tributary.DestinationTikTok:
		return []string{tributary.EntryPayment}
	default:
		return []string{tributary.EntryPayment, tributary.EntryRefund, tributary.EntryDisputeWithdrawn, tributary.EntryDisputeReinstated}
	}
}

// RowID is the outbox row id of (destination, entry): deterministic, so a row written twice is one row
// and the sender can find a payment's conversion row from an adjustment's.
func RowID(destinationID, entryID string) string {
	h := sha256.Sum256([]byte(destinationID + "\x00" + entryID))
	return "dlv_" + hex.EncodeToString(h[:12])
}

// hash is the platforms' customer-data hashing: SHA-256 hex of the trimmed, lower-cased value.
func hash(v string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(v))))
	return hex.EncodeToString(h[:])
}

// Backdate is how long before a destination's creation money may have occurred and still be sent to
// it (a payment made just before the destination was added, whose webhook arrives after).
const Backdate = time.Hour

// Outbox writes the rows (ledger.Recorder.BeforeAppend).
type Outbox struct {
	Store tributary.DestinationStore
	// Settle is how long a row waits before its first attempt, so the payment's link is stored (5 s).
	Settle time.Duration
	Now    func() time.Time
}

// MovementEntryID is the outbox EntryID of an MRR movement: prefixed, so it never meets a ledger
// entry's id in the (destination, entry) key.
func MovementEntryID(movementID string) string { return "mrr:" + movementID }

// BeforeAppend writes one row per enabled destination of the site and entry (or, for the webhook, MRR
// movement) it may need; rows already written are kept as they are.
func (o *Outbox) BeforeAppend(ctx context.Context, site *tributary.Site, entries []tributary.LedgerEntry, ms []tributary.MRRMovement) error {
	dests, err := o.Store.Destinations(ctx, site.ID)
	if err != nil || len(dests) == 0 {
		return err
	}
	now := time.Now().UTC()
	if o.Now != nil {
		now = o.Now().UTC()
	}
	settle := o.Settle
	if settle == 0 {
		settle = 5 * time.Second
	}
	var rows []tributary.DestinationDelivery
	for _, d := range dests {
		if !d.Enabled {
			continue
		}
		ks := kinds(d.Type)
		for _, e := range entries {
			if !contains(ks, e.Kind) || e.Amount == 0 {
				continue
			}
			// Money from before the destination existed (a history import, an old payment's entries
			// given again) is not sent: a platform would take months-old conversions as new.
			if e.OccurredAt.Before(d.CreatedAt.Add(-Backdate)) {
				continue
			}
			rows = append(rows, tributary.DestinationDelivery{ID: RowID(d.ID, e.ID), SiteID: site.ID, DestinationID: d.ID, EntryID: e.ID,
				PaymentID: e.PaymentID, Kind: e.Kind, Livemode: e.Livemode, Status: tributary.OutboxPending, NextAttemptAt: now.Add(settle), CreatedAt: now})
		}
		// Subscription (MRR) events go to the webhook only: no ad platform takes recurring revenue.
		if d.Type != tributary.DestinationWebhook {
			continue
		}
		for _, m := range ms {
			if m.Delta == 0 || m.At.Before(d.CreatedAt.Add(-Backdate)) {
				continue
			}
			id := MovementEntryID(m.ID)
			rows = append(rows, tributary.DestinationDelivery{ID: RowID(d.ID, id), SiteID: site.ID, DestinationID: d.ID, EntryID: id,
				PaymentID: m.SubscriptionID, Kind: tributary.DeliverySubscription, Livemode: m.Livemode, Status: tributary.OutboxPending,
				NextAttemptAt: now.Add(settle), CreatedAt: now})
		}
	}
	_, err = o.Store.EnqueueOutbox(ctx, rows)
	if err != nil {
		return fmt.Errorf("destinations: write outbox: %w", err)
	}
	return nil
}

// Replay puts a row back in the queue for an attempt now, with a fresh three-day window.
func Replay(ctx context.Context, store tributary.DestinationStore, siteID, destinationID, id string, now time.Time) (*tributary.DestinationDelivery, error) {
	d, err := store.DestinationDelivery(ctx, siteID, destinationID, id)
	if err != nil {
		return nil, err
	}
	if d.Status == tributary.OutboxPending {
		return nil, tributary.Errorf(tributary.ECONFLICT, "delivery %s is already waiting to be sent", id)
	}
	d.Status, d.Attempts, d.NextAttemptAt, d.LastError = tributary.OutboxPending, 0, now.UTC(), ""
	d.SentAt = nil
	if err := store.UpdateOutbox(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// PendingGauge reads the outbox's pending rows per destination for /metrics (a failed read shows none
// and is logged).
func PendingGauge(store tributary.DestinationStore, log *slog.Logger) func() []metrics.GaugeRow {
	return func() []metrics.GaugeRow {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cs, err := store.CountOutbox(ctx)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "destinations: count outbox", slog.Any("err", err))
			return nil
		}
		var out []metrics.GaugeRow
		for _, c := range cs {
			if c.Status == tributary.OutboxPending {
				out = append(out, metrics.GaugeRow{Labels: []string{c.DestinationID, c.Type}, Value: float64(c.Count)})
			}
		}
		return out
	}
}

package collect

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/clientip"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/web/core"
)

// stripeWebhookIPs are the addresses Stripe publishes for webhook deliveries
// (https://docs.stripe.com/ips#webhook-notifications), used only when the allowlist setting is on.
var stripeWebhookIPs = []netip.Addr{
	netip.MustParseAddr("3.18.12.63"), netip.MustParseAddr("3.130.192.231"), netip.MustParseAddr("13.235.14.237"),
	netip.MustParseAddr("13.235.122.149"), netip.MustParseAddr("18.211.135.69"), netip.MustParseAddr("35.154.171.200"),
	netip.MustParseAddr("52.15.183.38"), netip.MustParseAddr("54.88.130.119"), netip.MustParseAddr("54.88.130.237"),
	netip.MustParseAddr("54.187.174.169"), netip.MustParseAddr("54.187.205.235"), netip.MustParseAddr("54.187.216.72"),
}

func fromStripe(a netip.Addr) bool {
	a = a.Unmap()
	for _, ip := range stripeWebhookIPs {
		if ip == a {
			return true
		}
	}
	return false
}

// envelopeHead is the part of a Stripe event the intake needs; the processor decodes the rest.
type envelopeHead struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"`
	Type       string          `json:"type"`
	APIVersion *string         `json:"api_version"`
	Livemode   *bool           `json:"livemode"`
	Created    int64           `json:"created"`
	Data       json.RawMessage `json:"data"`
}

type webhookAnswer struct {
	Received  bool   `json:"received"`
	Duplicate bool   `json:"duplicate,omitempty"`
	EventID   string `json:"event_id,omitempty"`
}

// rejectedPrefixBytes is how much of an unsigned body the delivery log keeps: enough to recognise
// what was sent, never enough to fill the disk.
const rejectedPrefixBytes = 256

// maxEventCreatedAhead is how far past the server's clock a Stripe event's created time may lie.
const maxEventCreatedAhead = 24 * time.Hour

// HandleStripeWebhook is POST /stripe/webhook/{endpoint}: the raw body is committed to the inbox before
// any 2xx; Stripe retries on anything else, so a store failure answers 503.
func (s *Collector) HandleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ep, err := s.Opt.Intake.Endpoint(r.Context(), r.PathValue("endpoint"))
	if err != nil {
		if tributary.ErrorCode(err) == tributary.ENOTFOUND {
			err = tributary.Errorf(tributary.ENOTFOUND, "unknown webhook endpoint; copy the URL from the site's Stripe settings")
		}
		s.WriteError(w, r, err)
		return
	}
	addr := clientip.FromRequest(r, s.Opt.TrustedProxies)
	addrKey := "addr:" + addr.String()
	if blocked, wait := s.WebhookFails.Blocked(addrKey); blocked {
		// An address that keeps posting unsigned bodies costs nothing more: no read, no write, no log.
		s.Opt.Metrics.WebhookDeliveries.Inc("rejected")
		s.Opt.Metrics.WebhookRejected.Inc("rate_limited")
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.WriteError(w, r, tributary.Errorf(tributary.ERATELIMIT, "too many refused deliveries from this address; retry later"))
		return
	}
	limit := s.Opt.WebhookMaxBytes
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.WebhookFails.Fail(addrKey)
			s.Opt.Metrics.WebhookRejected.Inc("too_large")
			s.WriteError(w, r, tributary.Errorf(tributary.ETOOLARGE, "webhook body is larger than %d bytes", limit))
			return
		}
		s.WriteError(w, r, tributary.Errorf(tributary.EINVALID, "could not read body: %v", err))
		return
	}
	now := s.Opt.Now()
	d := &tributary.Delivery{ID: tributary.RandomID(20), SiteID: ep.SiteID, EndpointID: ep.ID, ReceivedAt: now.UTC(), Payload: body}
	// reject answers a refused delivery. A signed one (it comes from the secret's holder) is kept in
	// the delivery log whole. An unsigned one may come from anyone who knows the URL, so it costs
	// almost nothing: it counts against its address (which is then held back), and at most
	// webhookSample's share per endpoint is logged, with only the first bytes of its body.
	reject := func(code, metric, reason string, signed bool) {
		d.Status, d.Error = tributary.DeliveryRejected, reason
		s.Opt.Metrics.WebhookDeliveries.Inc("rejected")
		s.Opt.Metrics.WebhookRejected.Inc(metric)
		keep := true
		if !signed {
			s.WebhookFails.Fail(addrKey)
			d.Payload = body[:min(len(body), rejectedPrefixBytes)]
			keep, _ = s.WebhookSample.Allow("endpoint:" + ep.ID)
		}
		if keep {
			if _, err := s.Opt.Intake.Record(r.Context(), d); err != nil {
				s.Log.LogAttrs(r.Context(), slog.LevelWarn, "could not log rejected delivery", slog.String("endpoint", ep.ID), slog.Any("err", err))
			}
			s.Log.LogAttrs(r.Context(), slog.LevelWarn, "stripe delivery rejected", slog.String("endpoint", ep.ID), slog.String("reason", reason),
				slog.String("addr", addr.String()))
		}
		s.WriteError(w, r, tributary.Errorf(code, "%s", reason))
	}
	if s.Opt.StripeIPAllowlist && !fromStripe(addr) {
		reject(tributary.EFORBIDDEN, "allowlist", "delivery does not come from Stripe's published webhook addresses (check --trusted-proxies when behind a proxy)", false)
		return
	}
	if err := stripe.VerifySignature(body, r.Header.Get("Stripe-Signature"), ep.Secrets, s.Opt.WebhookTolerance, now); err != nil {
		reject(tributary.EINVALID, "signature", "signature check failed: "+err.Error(), false)
		return
	}
	var head envelopeHead
	if err := json.Unmarshal(body, &head); err != nil {
		reject(tributary.EINVALID, "malformed", "malformed JSON: "+err.Error(), true)
		return
	}
	d.EventID, d.Type, d.Livemode = head.ID, head.Type, head.Livemode != nil && *head.Livemode
	if head.APIVersion != nil {
		d.APIVersion = *head.APIVersion
	}
	if head.ID == "" || head.Type == "" || head.Livemode == nil || head.Created == 0 || len(head.Data) == 0 || (head.Object != "" && head.Object != "event") {
		reject(tributary.EINVALID, "malformed", "not a Stripe event: id, type, livemode, created and data are required", true)
		return
	}
	// The envelope's text goes into indexed columns (PostgreSQL refuses NUL bytes in text): it must be
	// short, clean text, as Stripe's always is.
	for _, f := range []string{head.ID, head.Type, d.APIVersion} {
		if len(f) > 255 || tributary.CleanText(f, 0) != f {
			reject(tributary.EINVALID, "malformed", "not a Stripe event: id, type and api_version must be short text without NUL bytes", true)
			return
		}
	}
	// created must be a real time: from 2010 (Stripe's first year) to a day ahead of this clock. An
	// int64-max or year-1 value is a 400 at intake, which Stripe does not retry, not a store failure.
	if head.Created < tributary.EarliestEventTime.Unix() || head.Created > now.Add(maxEventCreatedAhead).Unix() {
		reject(tributary.EINVALID, "event_time", "event created "+strconv.FormatInt(head.Created, 10)+" is outside the accepted window (2010-01-01 to a day ahead of the server's clock)", true)
		return
	}
	d.EventCreated = time.Unix(head.Created, 0).UTC()
	if want := ep.Mode == tributary.ModeLive; d.Livemode != want {
		reject(tributary.EINVALID, "mode", "event livemode="+strconv.FormatBool(d.Livemode)+" sent to a "+ep.Mode+"-mode endpoint; create a separate endpoint for "+core.ModeName(d.Livemode)+" mode", true)
		return
	}
	d.Status = tributary.DeliveryPending
	dup, err := s.Opt.Intake.Record(r.Context(), d)
	if err != nil {
		s.Opt.Metrics.WebhookDeliveries.Inc("unavailable")
		w.Header().Set("Retry-After", "10")
		s.WriteError(w, r, &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "could not store the event; Stripe will retry", Err: err})
		return
	}
	if dup {
		s.Opt.Metrics.WebhookDeliveries.Inc("duplicate")
	} else {
		s.Opt.Metrics.WebhookDeliveries.Inc("accepted")
	}
	s.Opt.Metrics.WebhookAck.Since(start)
	s.Log.LogAttrs(r.Context(), slog.LevelDebug, "stripe delivery accepted", slog.String("event", d.EventID), slog.String("type", d.Type),
		slog.Bool("duplicate", dup), slog.Duration("took", time.Since(start)))
	core.WriteJSON(w, http.StatusOK, webhookAnswer{Received: true, Duplicate: dup, EventID: d.EventID})
}

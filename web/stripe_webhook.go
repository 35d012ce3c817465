package web

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/clientip"
	"github.com/tributary/tributary/stripe"
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

// handleStripeWebhook is POST /stripe/webhook/{endpoint}: the raw body is committed to the inbox before
// any 2xx; Stripe retries on anything else, so a store failure answers 503.
func (s *Server) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ep, err := s.opt.Meta.StripeEndpoint(r.Context(), r.PathValue("endpoint"))
	if err != nil {
		if tributary.ErrorCode(err) == tributary.ENOTFOUND {
			err = tributary.Errorf(tributary.ENOTFOUND, "unknown webhook endpoint; copy the URL from the site's Stripe settings")
		}
		s.writeError(w, r, err)
		return
	}
	addr := clientip.FromRequest(r, s.opt.TrustedProxies)
	addrKey := "addr:" + addr.String()
	if blocked, wait := s.webhookFails.blocked(addrKey); blocked {
		// An address that keeps posting unsigned bodies costs nothing more: no read, no write, no log.
		s.opt.Metrics.WebhookDeliveries.Inc("rejected")
		s.opt.Metrics.WebhookRejected.Inc("rate_limited")
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.writeError(w, r, tributary.Errorf(tributary.ERATELIMIT, "too many refused deliveries from this address; retry later"))
		return
	}
	limit := s.opt.WebhookMaxBytes
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.webhookFails.fail(addrKey)
			s.opt.Metrics.WebhookRejected.Inc("too_large")
			s.writeError(w, r, tributary.Errorf(tributary.ETOOLARGE, "webhook body is larger than %d bytes", limit))
			return
		}
		s.writeError(w, r, tributary.Errorf(tributary.EINVALID, "could not read body: %v", err))
		return
	}
	now := s.opt.Now()
	d := &tributary.Delivery{ID: tributary.RandomID(20), SiteID: ep.SiteID, EndpointID: ep.ID, ReceivedAt: now.UTC(), Payload: body}
	// reject answers a refused delivery. A signed one (it comes from the secret's holder) is kept in
	// the delivery log whole. An unsigned one may come from anyone who knows the URL, so it costs
	// almost nothing: it counts against its address (which is then held back), and at most
	// webhookSample's share per endpoint is logged, with only the first bytes of its body.
	reject := func(code, metric, reason string, signed bool) {
		d.Status, d.Error = tributary.DeliveryRejected, reason
		s.opt.Metrics.WebhookDeliveries.Inc("rejected")
		s.opt.Metrics.WebhookRejected.Inc(metric)
		keep := true
		if !signed {
			s.webhookFails.fail(addrKey)
			d.Payload = body[:min(len(body), rejectedPrefixBytes)]
			keep, _ = s.webhookSample.allow("endpoint:" + ep.ID)
		}
		if keep {
			if _, err := s.opt.Meta.RecordDelivery(r.Context(), d); err != nil {
				s.log.LogAttrs(r.Context(), slog.LevelWarn, "could not log rejected delivery", slog.String("endpoint", ep.ID), slog.Any("err", err))
			}
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "stripe delivery rejected", slog.String("endpoint", ep.ID), slog.String("reason", reason),
				slog.String("addr", addr.String()))
		}
		s.writeError(w, r, tributary.Errorf(code, "%s", reason))
	}
	if s.opt.StripeIPAllowlist && !fromStripe(addr) {
		reject(tributary.EFORBIDDEN, "allowlist", "delivery does not come from Stripe's published webhook addresses (check --trusted-proxies when behind a proxy)", false)
		return
	}
	if err := stripe.VerifySignature(body, r.Header.Get("Stripe-Signature"), ep.Secrets, s.opt.WebhookTolerance, now); err != nil {
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
		reject(tributary.EINVALID, "mode", "event livemode="+strconv.FormatBool(d.Livemode)+" sent to a "+ep.Mode+"-mode endpoint; create a separate endpoint for "+modeName(d.Livemode)+" mode", true)
		return
	}
	d.Status = tributary.DeliveryPending
	dup, err := s.opt.Meta.RecordDelivery(r.Context(), d)
	if err != nil {
		s.opt.Metrics.WebhookDeliveries.Inc("unavailable")
		w.Header().Set("Retry-After", "10")
		s.writeError(w, r, &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "could not store the event; Stripe will retry", Err: err})
		return
	}
	if !dup && s.opt.Inbox != nil {
		s.opt.Inbox.Notify()
	}
	if dup {
		s.opt.Metrics.WebhookDeliveries.Inc("duplicate")
	} else {
		s.opt.Metrics.WebhookDeliveries.Inc("accepted")
	}
	s.opt.Metrics.WebhookAck.Since(start)
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "stripe delivery accepted", slog.String("event", d.EventID), slog.String("type", d.Type),
		slog.Bool("duplicate", dup), slog.Duration("took", time.Since(start)))
	writeJSON(w, http.StatusOK, webhookAnswer{Received: true, Duplicate: dup, EventID: d.EventID})
}

func modeName(live bool) string {
	if live {
		return tributary.ModeLive
	}
	return tributary.ModeTest
}

// endpointView is an endpoint as the API shows it: secrets are never returned, only how many are active
// and the last characters of each, to tell them apart during a rotation.
type endpointView struct {
	*tributary.StripeEndpoint
	URL            string   `json:"url"`
	ActiveSecrets  int      `json:"active_secrets"`
	SecretSuffixes []string `json:"secret_suffixes"`
}

func (s *Server) viewEndpoint(r *http.Request, e *tributary.StripeEndpoint) endpointView {
	v := endpointView{StripeEndpoint: e, URL: s.baseURL(r) + "/stripe/webhook/" + e.ID, ActiveSecrets: len(e.Secrets)}
	for _, sec := range e.Secrets {
		v.SecretSuffixes = append(v.SecretSuffixes, "…"+sec[max(0, len(sec)-4):])
	}
	return v
}

func validSecret(sec string) error {
	if !strings.HasPrefix(sec, "whsec_") || len(sec) < 16 || strings.ContainsAny(sec, " \t\r\n") {
		return tributary.FieldError("signing_secret", "signing_secret must be the endpoint's signing secret from Stripe, starting with whsec_")
	}
	return nil
}

type endpointInput struct {
	Mode          string `json:"mode"`
	SigningSecret string `json:"signing_secret"`
	// KeepPrevious keeps the old secret active beside the new one during a rotation (default true).
	KeepPrevious *bool `json:"keep_previous"`
}

func (s *Server) createEndpoint(r *http.Request, siteID string, in endpointInput) (*tributary.StripeEndpoint, error) {
	if _, err := s.opt.Meta.Site(r.Context(), siteID); err != nil {
		return nil, err
	}
	if in.Mode != tributary.ModeLive && in.Mode != tributary.ModeTest {
		return nil, tributary.FieldError("mode", "mode must be \"live\" or \"test\"")
	}
	// Stripe reveals an endpoint's secret only after its URL is added there: the URL comes first, the
	// secret may follow (PATCH); until then the endpoint refuses events.
	var secrets []string
	if in.SigningSecret != "" {
		if err := validSecret(in.SigningSecret); err != nil {
			return nil, err
		}
		secrets = []string{in.SigningSecret}
	}
	now := s.opt.Now().UTC()
	e := &tributary.StripeEndpoint{ID: "we_" + tributary.RandomID(24), SiteID: siteID, Mode: in.Mode, Secrets: secrets, CreatedAt: now, UpdatedAt: now}
	return e, s.opt.Meta.CreateStripeEndpoint(r.Context(), e)
}

// rotateSecret makes secret the primary one, keeping the previous one active unless told not to.
func (s *Server) rotateSecret(r *http.Request, siteID, id string, in endpointInput) (*tributary.StripeEndpoint, error) {
	e, err := s.opt.Meta.StripeEndpoint(r.Context(), id)
	if err != nil || e.SiteID != siteID {
		return nil, tributary.Errorf(tributary.ENOTFOUND, "stripe endpoint %q not found", id)
	}
	if in.Mode != "" && in.Mode != e.Mode {
		return nil, tributary.FieldError("mode", "an endpoint's mode cannot change; create another endpoint for %s mode", in.Mode)
	}
	if err := validSecret(in.SigningSecret); err != nil {
		return nil, err
	}
	secrets := []string{in.SigningSecret}
	if (in.KeepPrevious == nil || *in.KeepPrevious) && len(e.Secrets) > 0 && e.Secrets[0] != in.SigningSecret {
		secrets = append(secrets, e.Secrets[0])
	}
	e.Secrets, e.UpdatedAt = secrets, s.opt.Now().UTC()
	return e, s.opt.Meta.UpdateStripeEndpoint(r.Context(), e)
}

func (s *Server) handleCreateEndpoint(w http.ResponseWriter, r *http.Request) error {
	var in endpointInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	e, err := s.createEndpoint(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.viewEndpoint(r, e))
	return nil
}

func (s *Server) handleListEndpoints(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.opt.Meta.Site(r.Context(), id); err != nil {
		return err
	}
	eps, err := s.opt.Meta.StripeEndpoints(r.Context(), id)
	if err != nil {
		return err
	}
	out := []endpointView{}
	for _, e := range eps {
		out = append(out, s.viewEndpoint(r, e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"stripe_endpoints": out})
	return nil
}

func (s *Server) handleUpdateEndpoint(w http.ResponseWriter, r *http.Request) error {
	var in endpointInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	e, err := s.rotateSecret(r, r.PathValue("id"), r.PathValue("ep"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewEndpoint(r, e))
	return nil
}

func (s *Server) handleDeleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := s.opt.Meta.DeleteStripeEndpoint(r.Context(), r.PathValue("id"), r.PathValue("ep")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func parseTimeParam(q, name string) (time.Time, error) {
	if q == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, q)
	if err != nil {
		if d, derr := time.Parse("2006-01-02", q); derr == nil {
			return d, nil
		}
		return time.Time{}, tributary.FieldError(name, "%s must be RFC 3339 (2026-11-20T12:00:00Z) or a date (2026-11-20)", name)
	}
	return t, nil
}

var deliveryStatuses = []string{tributary.DeliveryPending, tributary.DeliveryProcessing, tributary.DeliveryProcessed, tributary.DeliveryIgnored,
	tributary.DeliveryFailed, tributary.DeliveryDuplicate, tributary.DeliveryRejected}

func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.opt.Meta.Site(r.Context(), id); err != nil {
		return err
	}
	q := r.URL.Query()
	f := tributary.DeliveryFilter{SiteID: id, Status: q.Get("status"), Type: q.Get("type"), Before: q.Get("before")}
	if f.Status != "" && !contains(deliveryStatuses, f.Status) {
		return tributary.FieldError("status", "status must be one of %s", strings.Join(deliveryStatuses, ", "))
	}
	var err error
	if f.From, err = parseTimeParam(q.Get("from"), "from"); err != nil {
		return err
	}
	if f.To, err = parseTimeParam(q.Get("to"), "to"); err != nil {
		return err
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return tributary.FieldError("limit", "limit must be 1 to 1000")
		}
		f.Limit = n
	}
	list, err := s.opt.Meta.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*tributary.Delivery{}
	}
	out := map[string]any{"deliveries": list}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(list) == limit {
		// A full page: the next one starts after its last delivery (?before=next_before).
		out["next_before"] = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleGetDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.opt.Meta.Delivery(r.Context(), r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		return err
	}
	out := struct {
		*tributary.Delivery
		Payload json.RawMessage `json:"payload,omitempty"`
		Raw     string          `json:"payload_raw,omitempty"`
	}{Delivery: d}
	if r.URL.Query().Get("payload") == "1" || r.URL.Query().Get("payload") == "true" {
		if json.Valid(d.Payload) {
			out.Payload = d.Payload
		} else {
			out.Raw = string(d.Payload)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleReplayDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := s.opt.Meta.ReplayDelivery(r.Context(), r.PathValue("id"), r.PathValue("delivery")); err != nil {
		return err
	}
	if s.opt.Inbox != nil {
		s.opt.Inbox.Notify()
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"replayed": 1})
	return nil
}

func (s *Server) handleReplayFailed(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.opt.Meta.Site(r.Context(), id); err != nil {
		return err
	}
	n, err := s.opt.Meta.ReplayFailed(r.Context(), id)
	if err != nil {
		return err
	}
	if s.opt.Inbox != nil && n > 0 {
		s.opt.Inbox.Notify()
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"replayed": n})
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package loadgen

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// verifyIndependently checks a Stripe-Signature header the way Stripe's libraries do, without Sign.
func verifyIndependently(t *testing.T, header, secret string, body []byte) time.Time {
	t.Helper()
	var ts string
	var v1 []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = append(v1, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(v1) != 1 {
		t.Fatalf("header %q: want t=<unix>,v1=<hex>", header)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	got, err := hex.DecodeString(v1[0])
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		t.Fatalf("signature %q does not verify with %q", header, secret)
	}
	return time.Unix(sec, 0)
}

func TestSign(t *testing.T) {
	tests := []struct {
		secret string
		body   string
		at     time.Time
		want   string
	}{
		// Computed with Python's hmac module: hmac.new(secret, b"1767225600." + body, sha256).hexdigest().
		{"whsec_test_secret", `{"id":"evt_1","object":"event"}`, time.Unix(1767225600, 0),
			"t=1767225600,v1=238d47ccc3251152491130a4587f0a855c0e33e88993ce968255c6d168ef7601"},
	}
	for _, tc := range tests {
		got := Sign(tc.secret, []byte(tc.body), tc.at)
		if got != tc.want {
			t.Errorf("Sign = %s, want %s", got, tc.want)
		}
		verifyIndependently(t, got, tc.secret, []byte(tc.body))
	}
	for _, w := range defaultScenario(t).Webhooks[:20] {
		verifyIndependently(t, Sign("whsec_abc", w.Body, fixedNow), "whsec_abc", w.Body)
	}
}

type envelope struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Livemode   *bool  `json:"livemode"`
	Type       string `json:"type"`
	Data       struct {
		Object   map[string]any `json:"object"`
		Previous map[string]any `json:"previous_attributes"`
	} `json:"data"`
}

func TestWebhookBodies(t *testing.T) {
	sc := defaultScenario(t)
	visitorIDs := map[string]bool{}
	for _, v := range sc.Visitors {
		visitorIDs[v.ID] = true
	}
	types := map[string]int{}
	bodies := map[string][]byte{}
	duplicates, reordered := 0, 0
	var lastCreated int64
	for _, w := range sc.Webhooks {
		var e envelope
		if err := json.Unmarshal(w.Body, &e); err != nil {
			t.Fatalf("webhook %s: %v", w.EventID, err)
		}
		if !strings.HasPrefix(e.ID, "evt_") || e.ID != w.EventID || e.Object != "event" || e.APIVersion != StripeAPIVersion ||
			e.Created <= 0 || e.Livemode == nil || *e.Livemode || e.Type != w.Type || e.Data.Object == nil {
			t.Fatalf("webhook %s has a malformed envelope: %s", w.EventID, w.Body[:min(len(w.Body), 300)])
		}
		if w.Duplicate {
			duplicates++
			if !bytes.Equal(bodies[w.EventID], w.Body) {
				t.Errorf("duplicate of %s is not the same event", w.EventID)
			}
		} else {
			if _, ok := bodies[w.EventID]; ok {
				t.Errorf("event id %s used twice", w.EventID)
			}
			bodies[w.EventID] = w.Body
			types[e.Type]++
		}
		if e.Created < lastCreated {
			reordered++
		}
		lastCreated = max(lastCreated, e.Created)
		if w.At.Before(time.Unix(e.Created, 0)) {
			t.Errorf("%s delivered before it was created", w.EventID)
		}
		o := e.Data.Object
		if cur, ok := o["currency"].(string); ok && cur != strings.ToLower(cur) {
			t.Errorf("%s: currency %q is not lower case", e.Type, cur)
		}
		switch e.Type {
		case "checkout.session.completed":
			ref, _ := o["client_reference_id"].(string)
			meta, _ := o["metadata"].(map[string]any)
			mv, _ := meta["tributary_visitor_id"].(string)
			switch {
			case ref != "":
				parts := strings.Split(strings.TrimPrefix(ref, "trib-"), "-")
				if !strings.HasPrefix(ref, "trib-") || len(parts) != 2 || !visitorIDs[parts[0]] || !id20.MatchString(parts[1]) {
					t.Errorf("client_reference_id %q is not trib-<visitor>-<session>", ref)
				}
			case mv != "":
				if !visitorIDs[mv] || !id20.MatchString(meta["tributary_session_id"].(string)) {
					t.Errorf("metadata %v does not name a visitor and session", meta)
				}
			default:
				details, _ := o["customer_details"].(map[string]any)
				if email, _ := details["email"].(string); !strings.Contains(email, "@") {
					t.Errorf("session %v carries no linking key at all", o["id"])
				}
			}
			if o["payment_status"] != "paid" || o["amount_total"] == nil {
				t.Errorf("session %v is not paid", o["id"])
			}
		case "charge.refunded":
			refunds := o["refunds"].(map[string]any)["data"].([]any)
			var sum float64
			for _, r := range refunds {
				sum += r.(map[string]any)["amount"].(float64)
			}
			if sum != o["amount_refunded"].(float64) || len(refunds) == 0 {
				t.Errorf("charge %v: refunds sum to %v, amount_refunded %v", o["id"], sum, o["amount_refunded"])
			}
		case "invoice.paid":
			if r := o["billing_reason"]; r != "subscription_create" && r != "subscription_cycle" {
				t.Errorf("invoice billing_reason %v", r)
			}
			if o["amount_paid"] == nil || o["subscription"] == nil || o["charge"] == nil || o["lines"] == nil {
				t.Errorf("invoice %v lacks amount_paid, subscription, charge or lines", o["id"])
			}
		case "customer.subscription.created", "customer.subscription.updated":
			item := o["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
			price := item["price"].(map[string]any)
			if price["unit_amount"] == nil || price["recurring"] == nil || item["quantity"] == nil {
				t.Errorf("subscription %v item lacks price or quantity", o["id"])
			}
		}
	}
	for _, typ := range []string{"checkout.session.completed", "payment_intent.succeeded", "charge.succeeded",
		"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted", "invoice.paid",
		"charge.refunded", "refund.created", "charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.closed"} {
		if types[typ] == 0 {
			t.Errorf("no %s event", typ)
		}
	}
	if duplicates == 0 || reordered == 0 {
		t.Errorf("duplicates %d, out-of-order deliveries %d: Stripe's habits are missing", duplicates, reordered)
	}
}

// The server-to-server bodies hold exactly the contract's fields (the server refuses unknown ones).
func TestServerEventBodies(t *testing.T) {
	sc := defaultScenario(t)
	type contract struct {
		EventID     string         `json:"event_id"`
		EventName   string         `json:"event_name"`
		Timestamp   string         `json:"timestamp"`
		CustomerID  string         `json:"customer_id"`
		Email       string         `json:"email"`
		VisitorID   string         `json:"visitor_id"`
		SessionID   string         `json:"session_id"`
		Metadata    map[string]any `json:"metadata"`
		Referrer    string         `json:"referrer"`
		UTMSource   string         `json:"utm_source"`
		UTMMedium   string         `json:"utm_medium"`
		UTMCampaign string         `json:"utm_campaign"`
		UTMTerm     string         `json:"utm_term"`
		UTMContent  string         `json:"utm_content"`
	}
	payments := map[string]*Payment{}
	for i := range sc.Payments {
		payments[sc.Payments[i].ID] = &sc.Payments[i]
	}
	dups := 0
	for _, e := range sc.ServerEvents {
		dec := json.NewDecoder(bytes.NewReader(e.Body))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		var c contract
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("server event %s: %v", e.EventID, err)
		}
		p := payments[c.EventID]
		if p == nil || p.Via != ViaAPI {
			t.Fatalf("server event %s is no API payment", c.EventID)
		}
		ts, err := time.Parse(time.RFC3339, c.Timestamp)
		if err != nil || !ts.Equal(p.At.Truncate(time.Second)) {
			t.Errorf("timestamp %q, payment at %v", c.Timestamp, p.At)
		}
		amount, _ := c.Metadata["amount"].(json.Number).Int64()
		if amount != p.Amount || c.Metadata["currency"] != strings.ToLower(p.Currency) || c.EventName != ServerEventName {
			t.Errorf("server event %s: metadata %v, want %d %s", c.EventID, c.Metadata, p.Amount, p.Currency)
		}
		if (p.Link == tributary.LinkMetadata) != (c.VisitorID != "" && c.SessionID != "") {
			t.Errorf("server event %s: link %s but visitor %q session %q", c.EventID, p.Link, c.VisitorID, c.SessionID)
		}
		if e.Duplicate {
			dups++
		}
	}
	if len(sc.ServerEvents) == 0 || dups == 0 {
		t.Errorf("%d server events, %d retries; want both", len(sc.ServerEvents), dups)
	}
}

func TestEventRequestBodies(t *testing.T) {
	sc := defaultScenario(t)
	type contract struct {
		Site        string         `json:"site"`
		Name        string         `json:"name"`
		URL         string         `json:"url"`
		Referrer    string         `json:"referrer"`
		VisitorID   string         `json:"visitor_id"`
		SessionID   string         `json:"session_id"`
		Props       map[string]any `json:"props"`
		ScreenWidth int            `json:"screen_width"`
		Identity    string         `json:"identity"`
	}
	kinds := map[string]int{}
	var last time.Time
	for r := range sc.Requests(fullTarget) {
		kinds[r.Kind]++
		if r.At.Before(last) {
			t.Fatalf("requests out of scenario order: %v after %v", r.At, last)
		}
		last = r.At
		if r.Kind != KindEvent {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.DisallowUnknownFields()
		var c contract
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("event body %s: %v", r.Body, err)
		}
		if c.Site != fullTarget.SiteID || !id20.MatchString(c.VisitorID) || !id20.MatchString(c.SessionID) ||
			c.ScreenWidth <= 0 || c.Name == "" || (c.Name == "identify") != (c.Identity != "") {
			t.Fatalf("event body %s breaks the contract", r.Body)
		}
		for k, v := range c.Props {
			switch v.(type) {
			case string, float64, bool:
			default:
				t.Errorf("prop %s = %T", k, v)
			}
		}
		if r.UserAgent == "" || r.ClientIP == "" || !strings.HasPrefix(r.ContentType, "text/plain") {
			t.Fatalf("event request lacks UA, client address or text/plain: %+v", r)
		}
	}
	want := sc.Counts(fullTarget)
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s requests: %d, Counts says %d", k, kinds[k], n)
		}
	}
	// A target without credentials for a kind leaves that kind out.
	n := 0
	for r := range sc.Requests(Target{SiteID: "s"}) {
		if r.Kind != KindEvent {
			t.Fatalf("%s request without credentials", r.Kind)
		}
		n++
	}
	if n != want[KindEvent] {
		t.Errorf("%d events for a browser-only target, want %d", n, want[KindEvent])
	}
}

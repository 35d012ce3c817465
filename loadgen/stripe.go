package loadgen

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tributary/tributary"
)

// StripeAPIVersion is the api_version of the generated events.
const StripeAPIVersion = "2024-06-20"

// Sign returns the Stripe-Signature header for body signed with the endpoint's whsec_ secret at t:
// "t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">", as Stripe computes it (the key is the whole secret
// string).
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

type obj = map[string]any

func unix(t time.Time) int64 { return t.Unix() }

// nameOf turns "maria.schmidt42@example.com" into "Maria Schmidt" for billing details.
func nameOf(email string) string {
	local, _, _ := strings.Cut(email, "@")
	local = strings.TrimRightFunc(local, unicode.IsDigit)
	parts := strings.Split(local, ".")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// trackerMeta is the metadata a site's checkout code copies from the tracker's cookies.
func (g *gen) trackerMeta(p *Payment) obj {
	return obj{"tributary_visitor_id": g.sc.Visitors[p.Visitor].ID, "tributary_session_id": p.SessionID}
}

// addWebhook wraps object in an event envelope and schedules its delivery: a little after the event,
// sometimes much later (Stripe retried after a failure), sometimes twice.
func (g *gen) addWebhook(typ string, created time.Time, object obj, previous obj) {
	evtID := "evt_1" + g.id(23)
	if strings.HasPrefix(typ, "charge.") || strings.HasPrefix(typ, "payment_intent.") {
		evtID = "evt_3" + g.id(23)
	}
	data := obj{"object": object}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	env := obj{
		"id": evtID, "object": "event", "api_version": StripeAPIVersion, "created": unix(created),
		"livemode": g.opt.Livemode, "pending_webhooks": 1, "type": typ, "data": data,
		"request": obj{"id": "req_" + g.id(14), "idempotency_key": g.uuid()},
	}
	body, err := json.Marshal(env)
	if err != nil {
		panic("loadgen: encode stripe event: " + err.Error()) // only maps of JSON values are built here
	}
	at := created.Add(g.between(time.Second, 30*time.Second))
	if g.chance(0.08) {
		at = at.Add(g.between(5*time.Minute, 3*time.Hour))
	}
	g.sc.Webhooks = append(g.sc.Webhooks, Webhook{At: at, EventID: evtID, Type: typ, Body: body})
	if g.chance(0.04) {
		g.sc.Webhooks = append(g.sc.Webhooks, Webhook{At: at.Add(g.between(time.Minute, 2*time.Hour)), EventID: evtID,
			Type: typ, Body: body, Duplicate: true})
	}
}

func (g *gen) priceObj(pl *plan, currency string) obj {
	o := obj{"id": priceID(pl, currency), "object": "price", "active": true, "currency": strings.ToLower(currency),
		"product": pl.product, "unit_amount": pl.amounts[currency], "nickname": pl.name, "livemode": g.opt.Livemode,
		"type": "one_time", "recurring": nil}
	if pl.interval != "" {
		o["type"] = "recurring"
		o["recurring"] = obj{"interval": pl.interval, "interval_count": 1, "usage_type": "licensed"}
	}
	return o
}

func (g *gen) chargeObj(p *Payment, at time.Time, refunded int64, refunds []Refund, disputed bool) obj {
	cur := strings.ToLower(p.Currency)
	var inv any
	if p.stripe.invoice != "" {
		inv = p.stripe.invoice
	}
	c := obj{
		"id": p.stripe.charge, "object": "charge", "amount": p.Amount, "amount_captured": p.Amount,
		"amount_refunded": refunded, "balance_transaction": p.stripe.txn, "captured": true, "created": unix(at),
		"currency": cur, "customer": p.CustomerID, "description": nil, "disputed": disputed, "invoice": inv,
		"livemode": g.opt.Livemode, "metadata": obj{}, "paid": true, "payment_intent": p.stripe.intent,
		"refunded": refunded >= p.Amount, "status": "succeeded", "receipt_email": p.Email,
		"billing_details": obj{"email": p.Email, "name": nameOf(p.Email),
			"address": obj{"country": g.countryOf(p)}},
		"payment_method_details": obj{"type": "card", "card": obj{"brand": "visa", "last4": "4242", "country": g.countryOf(p)}},
	}
	if refunds != nil {
		data := make([]any, 0, len(refunds))
		for _, r := range refunds {
			data = append(data, g.refundObj(p, r))
		}
		c["refunds"] = obj{"object": "list", "data": data, "has_more": false, "total_count": len(refunds),
			"url": "/v1/charges/" + p.stripe.charge + "/refunds"}
	}
	return c
}

func (g *gen) countryOf(p *Payment) string {
	if p.Visitor < 0 {
		return "US"
	}
	return g.sc.Visitors[p.Visitor].Country
}

func (g *gen) refundObj(p *Payment, r Refund) obj {
	return obj{"id": r.ID, "object": "refund", "amount": r.Amount, "charge": p.stripe.charge, "created": unix(r.At),
		"currency": strings.ToLower(p.Currency), "payment_intent": p.stripe.intent, "reason": "requested_by_customer",
		"status": "succeeded", "balance_transaction": "txn_3" + r.ID[4:], "metadata": obj{}}
}

func (g *gen) intentObj(p *Payment, at time.Time, meta obj) obj {
	var inv any
	if p.stripe.invoice != "" {
		inv = p.stripe.invoice
	}
	if meta == nil {
		meta = obj{}
	}
	return obj{"id": p.stripe.intent, "object": "payment_intent", "amount": p.Amount, "amount_received": p.Amount,
		"currency": strings.ToLower(p.Currency), "customer": p.CustomerID, "latest_charge": p.stripe.charge,
		"created": unix(at), "invoice": inv, "livemode": g.opt.Livemode, "metadata": meta, "status": "succeeded",
		"receipt_email": p.Email, "payment_method_types": []string{"card"}}
}

func (g *gen) sessionObj(p *Payment, sub *Subscription) obj {
	var ref any
	meta := obj{}
	switch p.Link {
	case tributary.LinkClientReferenceID:
		ref = "trib-" + g.sc.Visitors[p.Visitor].ID + "-" + p.SessionID
	case tributary.LinkMetadata:
		meta = g.trackerMeta(p)
	}
	pl := plans[p.Plan]
	subtotal := pl.amounts[p.Currency]
	s := obj{
		"id": p.stripe.session, "object": "checkout.session", "amount_subtotal": subtotal, "amount_total": p.Amount,
		"client_reference_id": ref, "created": unix(p.At.Add(-3 * time.Minute)), "currency": strings.ToLower(p.Currency),
		"customer": p.CustomerID, "customer_email": nil, "livemode": g.opt.Livemode, "metadata": meta,
		"customer_details": obj{"email": p.Email, "name": nameOf(p.Email), "address": obj{"country": g.countryOf(p)}},
		"mode":             "payment", "payment_intent": p.stripe.intent, "payment_status": "paid", "status": "complete",
		"subscription": nil, "invoice": nil,
		"success_url":   "https://" + g.opt.Domain + "/checkout/success?session_id={CHECKOUT_SESSION_ID}",
		"total_details": obj{"amount_discount": subtotal - p.Amount, "amount_shipping": 0, "amount_tax": 0},
	}
	if sub != nil {
		s["mode"], s["subscription"], s["invoice"], s["payment_intent"] = "subscription", sub.ID, p.stripe.invoice, nil
	}
	return s
}

// planAt is the subscription's plan at t: the last change announced by then, else the first plan.
func (s *Subscription) planAt(t time.Time) string {
	key := s.Periods[0].Plan
	for _, c := range s.Changes {
		if !c.At.After(t) {
			key = c.To
		}
	}
	return key
}

// periodAt is the billing period containing t (the last one after the end).
func (s *Subscription) periodAt(t time.Time) Period {
	for _, p := range s.Periods {
		if t.Before(p.End) {
			return p
		}
	}
	return s.Periods[len(s.Periods)-1]
}

func (g *gen) subscriptionObj(s *Subscription, at time.Time, planKey string) obj {
	pl := plans[planKey]
	per := s.periodAt(at)
	meta := obj{}
	if s.Metadata {
		meta = obj{"tributary_visitor_id": g.sc.Visitors[s.Visitor].ID, "tributary_session_id": s.SessionID}
	}
	price := g.priceObj(pl, s.Currency)
	item := obj{"id": s.itemID, "object": "subscription_item", "price": price, "quantity": 1, "subscription": s.ID,
		"current_period_start": unix(per.Start), "current_period_end": unix(per.End)}
	status := "active"
	var canceledAt, endedAt any
	cancelAtEnd := !s.CancelRequested.IsZero() && !at.Before(s.CancelRequested)
	if cancelAtEnd {
		canceledAt = unix(s.CancelRequested)
	}
	if !s.Ended.IsZero() && !at.Before(s.Ended) {
		status, endedAt, cancelAtEnd = "canceled", unix(s.Ended), false
	}
	return obj{
		"id": s.ID, "object": "subscription", "customer": s.CustomerID, "status": status, "created": unix(s.Start),
		"start_date": unix(s.Start), "current_period_start": unix(per.Start), "current_period_end": unix(per.End),
		"cancel_at_period_end": cancelAtEnd, "canceled_at": canceledAt, "ended_at": endedAt,
		"currency": strings.ToLower(s.Currency), "livemode": g.opt.Livemode, "metadata": meta, "quantity": 1,
		"items": obj{"object": "list", "data": []any{item}, "has_more": false, "total_count": 1,
			"url": "/v1/subscription_items?subscription=" + s.ID},
		"plan": obj{"id": price["id"], "object": "plan", "amount": pl.amounts[s.Currency], "currency": strings.ToLower(s.Currency),
			"interval": pl.interval, "interval_count": 1, "product": pl.product, "active": true},
	}
}

func (g *gen) invoiceObj(p *Payment, s *Subscription, reason string) obj {
	pl := plans[p.Plan]
	per := s.periodAt(p.At)
	meta := obj{}
	if s.Metadata {
		meta = obj{"tributary_visitor_id": g.sc.Visitors[s.Visitor].ID, "tributary_session_id": s.SessionID}
	}
	cur := strings.ToLower(p.Currency)
	line := obj{"id": "il_1" + p.stripe.invoice[4:], "object": "line_item", "amount": p.Amount, "currency": cur,
		"description": "1 × " + pl.name + " (per " + pl.interval + ")", "livemode": g.opt.Livemode,
		"period": obj{"start": unix(per.Start), "end": unix(per.End)}, "price": g.priceObj(pl, p.Currency),
		"quantity": 1, "subscription": s.ID, "type": "subscription", "proration": false}
	return obj{
		"id": p.stripe.invoice, "object": "invoice", "billing_reason": reason, "subscription": s.ID,
		"customer": p.CustomerID, "customer_email": p.Email, "amount_due": p.Amount, "amount_paid": p.Amount,
		"amount_remaining": 0, "currency": cur, "charge": p.stripe.charge, "payment_intent": p.stripe.intent,
		"paid": true, "status": "paid", "created": unix(p.At.Add(-time.Minute)), "livemode": g.opt.Livemode,
		"period_start": unix(per.Start), "period_end": unix(per.End), "subtotal": p.Amount, "total": p.Amount,
		"status_transitions":   obj{"paid_at": unix(p.At), "finalized_at": unix(p.At.Add(-time.Minute))},
		"subscription_details": obj{"metadata": meta},
		"lines":                obj{"object": "list", "data": []any{line}, "has_more": false, "total_count": 1},
	}
}

func (g *gen) disputeObj(p *Payment, d *Dispute, status string, withdrawn bool) obj {
	o := obj{"id": d.ID, "object": "dispute", "amount": d.Amount, "currency": strings.ToLower(p.Currency),
		"charge": p.stripe.charge, "payment_intent": p.stripe.intent, "created": unix(d.At), "reason": "fraudulent",
		"status": status, "is_charge_refundable": false, "livemode": g.opt.Livemode, "metadata": obj{},
		"evidence_details":     obj{"due_by": unix(d.At.Add(7 * 24 * time.Hour)), "has_evidence": false, "submission_count": 0},
		"balance_transactions": []any{}}
	if withdrawn {
		o["balance_transactions"] = []any{obj{"id": "txn_1" + d.ID[4:], "object": "balance_transaction",
			"amount": -d.Amount, "currency": strings.ToLower(p.Currency), "type": "adjustment", "reporting_category": "dispute"}}
	}
	return o
}

// buildWebhooks emits every Stripe event of the scenario's payments and subscriptions and orders the
// deliveries by when they arrive.
func (g *gen) buildWebhooks() {
	subs := map[string]*Subscription{}
	for _, s := range g.subs {
		subs[s.ID] = s
	}
	for i := range g.sc.Payments {
		p := &g.sc.Payments[i]
		if p.Via != ViaStripe {
			continue
		}
		var meta obj
		if p.Link == tributary.LinkMetadata && p.Kind == KindOneTime {
			meta = g.trackerMeta(p)
		}
		paid := p.At.Add(-3 * time.Second)
		switch p.Kind {
		case KindOneTime:
			g.addWebhook("payment_intent.succeeded", paid, g.intentObj(p, paid, meta), nil)
			g.addWebhook("charge.succeeded", paid, g.chargeObj(p, paid, 0, nil, false), nil)
			g.addWebhook("checkout.session.completed", p.At, g.sessionObj(p, nil), nil)
		case KindSubscriptionCreate:
			s := subs[p.SubscriptionID]
			g.addWebhook("customer.subscription.created", p.At.Add(-4*time.Second), g.subscriptionObj(s, p.At, s.planAt(p.At)), nil)
			g.addWebhook("payment_intent.succeeded", paid, g.intentObj(p, paid, nil), nil)
			g.addWebhook("charge.succeeded", paid, g.chargeObj(p, paid, 0, nil, false), nil)
			g.addWebhook("invoice.paid", p.At.Add(-2*time.Second), g.invoiceObj(p, s, "subscription_create"), nil)
			g.addWebhook("checkout.session.completed", p.At, g.sessionObj(p, s), nil)
		case KindSubscriptionCycle:
			s := subs[p.SubscriptionID]
			per := s.periodAt(p.At)
			prevPer := s.periodAt(per.Start.Add(-time.Second))
			g.addWebhook("customer.subscription.updated", per.Start, g.subscriptionObj(s, per.Start, s.planAt(per.Start)),
				obj{"current_period_start": unix(prevPer.Start), "current_period_end": unix(prevPer.End), "latest_invoice": nil})
			g.addWebhook("invoice.paid", p.At, g.invoiceObj(p, s, "subscription_cycle"), nil)
			g.addWebhook("payment_intent.succeeded", paid, g.intentObj(p, paid, nil), nil)
			g.addWebhook("charge.succeeded", paid, g.chargeObj(p, paid, 0, nil, false), nil)
		}
		var refunded int64
		for k, r := range p.Refunds {
			refunded += r.Amount
			g.addWebhook("charge.refunded", r.At, g.chargeObj(p, paid, refunded, p.Refunds[:k+1], false),
				obj{"amount_refunded": refunded - r.Amount, "refunded": false})
			g.addWebhook("refund.created", r.At, g.refundObj(p, r), nil)
		}
		if d := p.Dispute; d != nil {
			g.addWebhook("charge.dispute.created", d.At, g.disputeObj(p, d, "needs_response", false), nil)
			g.addWebhook("charge.dispute.funds_withdrawn", d.At.Add(time.Minute), g.disputeObj(p, d, "needs_response", true), nil)
			if !d.ClosedAt.IsZero() {
				g.addWebhook("charge.dispute.closed", d.ClosedAt, g.disputeObj(p, d, d.Status, true), obj{"status": "needs_response"})
			}
		}
	}
	for _, s := range g.subs {
		for _, c := range s.Changes {
			from := plans[c.From]
			prevPrice := g.priceObj(from, s.Currency)
			per := s.periodAt(c.At)
			g.addWebhook("customer.subscription.updated", c.At, g.subscriptionObj(s, c.At, c.To), obj{
				"items": obj{"object": "list", "data": []any{obj{"id": s.itemID, "object": "subscription_item",
					"price": prevPrice, "quantity": 1, "current_period_start": unix(per.Start), "current_period_end": unix(per.End)}}},
				"plan": obj{"id": prevPrice["id"], "object": "plan", "amount": from.amounts[s.Currency],
					"currency": strings.ToLower(s.Currency), "interval": from.interval, "interval_count": 1, "product": from.product},
			})
		}
		if !s.CancelRequested.IsZero() {
			g.addWebhook("customer.subscription.updated", s.CancelRequested, g.subscriptionObj(s, s.CancelRequested, s.planAt(s.CancelRequested)),
				obj{"cancel_at_period_end": false, "canceled_at": nil})
		}
		if !s.Ended.IsZero() {
			g.addWebhook("customer.subscription.deleted", s.Ended, g.subscriptionObj(s, s.Ended, s.planAt(s.Ended)),
				obj{"status": "active"})
		}
	}
	sort.SliceStable(g.sc.Webhooks, func(i, j int) bool { return g.sc.Webhooks[i].At.Before(g.sc.Webhooks[j].At) })
}

// serverEventBody is POST /api/v1/events as a site's backend sends it.
type serverEventBody struct {
	EventID     string `json:"event_id"`
	EventName   string `json:"event_name"`
	Timestamp   string `json:"timestamp"`
	CustomerID  string `json:"customer_id,omitempty"`
	Email       string `json:"email,omitempty"`
	VisitorID   string `json:"visitor_id,omitempty"`
	SessionID   string `json:"session_id,omitempty"`
	Metadata    obj    `json:"metadata"`
	Referrer    string `json:"referrer,omitempty"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
}

// ServerEventName is the event_name of server-side purchases; the amount is metadata.amount in minor
// units and the currency metadata.currency (Setup registers it as a revenue event).
const ServerEventName = "purchase"

// buildServerEvents emits the server-side purchases, a few retried by the client.
func (g *gen) buildServerEvents() {
	for i := range g.sc.Payments {
		p := &g.sc.Payments[i]
		if p.Via != ViaAPI {
			continue
		}
		b := serverEventBody{EventID: p.ID, EventName: ServerEventName, Timestamp: p.At.Format(time.RFC3339),
			CustomerID: p.CustomerID, Email: p.Email,
			Metadata: obj{"amount": p.Amount, "currency": strings.ToLower(p.Currency), "product": p.Plan},
			Referrer: p.Referrer, UTMSource: p.UTMSource, UTMMedium: p.UTMMedium, UTMCampaign: p.UTMCampaign}
		if p.Link == tributary.LinkMetadata {
			b.VisitorID, b.SessionID = g.sc.Visitors[p.Visitor].ID, p.SessionID
		}
		body, err := json.Marshal(b)
		if err != nil {
			panic("loadgen: encode server event: " + err.Error())
		}
		at := p.At.Add(g.between(500*time.Millisecond, 5*time.Second))
		g.sc.ServerEvents = append(g.sc.ServerEvents, ServerEvent{At: at, EventID: p.ID, Body: body})
		if g.chance(0.05) {
			g.sc.ServerEvents = append(g.sc.ServerEvents, ServerEvent{At: at.Add(g.between(time.Second, time.Minute)),
				EventID: p.ID, Body: body, Duplicate: true})
		}
	}
	sort.SliceStable(g.sc.ServerEvents, func(i, j int) bool { return g.sc.ServerEvents[i].At.Before(g.sc.ServerEvents[j].At) })
}

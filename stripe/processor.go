package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ledger"
)

// Event is the envelope of a Stripe event.
type Event struct {
	ID         string
	Type       string
	APIVersion string
	Created    time.Time
	Livemode   bool
	Object     obj
	raw        json.RawMessage
}

// DecodeEvent reads an event envelope of any API version.
func DecodeEvent(b []byte) (*Event, error) {
	o, err := decodeObj(b)
	if err != nil {
		return nil, fmt.Errorf("stripe: decode event: %w", err)
	}
	ev := &Event{ID: o.str("id"), Type: o.str("type"), APIVersion: o.str("api_version"), Created: o.time("created"), Livemode: o.bool("livemode")}
	data := o.obj("data")
	if data != nil {
		ev.Object = data.obj("object")
	}
	if ev.ID == "" || ev.Type == "" || ev.Object == nil {
		return nil, fmt.Errorf("stripe: not an event: id, type and data.object are required")
	}
	return ev, nil
}

// handled lists the event types the processor uses; every other type is ignored, never an error.
var handled = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`checkout.session.completed checkout.session.async_payment_succeeded checkout.session.async_payment_failed checkout.session.expired
	payment_intent.succeeded payment_intent.payment_failed payment_intent.canceled payment_intent.processing payment_intent.requires_action payment_intent.created
	charge.succeeded charge.captured charge.failed charge.refunded charge.updated
	refund.created refund.updated refund.failed charge.refund.updated
	charge.dispute.created charge.dispute.updated charge.dispute.closed charge.dispute.funds_withdrawn charge.dispute.funds_reinstated
	invoice.paid invoice.payment_succeeded invoice.payment_failed invoice_payment.paid
	customer.created customer.updated customer.deleted
	customer.subscription.created customer.subscription.updated customer.subscription.deleted customer.subscription.paused customer.subscription.resumed customer.subscription.trial_will_end`) {
		handled[t] = true
	}
}

// Handles reports whether Tributary uses events of type t.
func Handles(t string) bool { return handled[t] }

// Processor turns Stripe events into ledger entries, payment records, links and MRR movements. It is
// state-based: it keeps the newest snapshot of each object and derives money from facts that carry
// their own ids (a charge's capture, a refund, a dispute's balance transactions), so the ledger is the
// same whatever order and multiplicity events arrive in.
type Processor struct {
	Meta   tributary.MetaStore
	Events tributary.EventStore
	Ledger *ledger.Recorder
}

// result collects what one event yields.
type result struct {
	entries   []tributary.LedgerEntry
	movements []tributary.MRRMovement
	payment   *tributary.Payment // facts to merge into the payment record
	links     []string           // payment keys whose record changed
}

// Apply processes one event for site; it returns the delivery status (processed or ignored).
func (p *Processor) Apply(ctx context.Context, site *tributary.Site, raw []byte) (string, error) {
	ev, err := DecodeEvent(raw)
	if err != nil {
		return "", err
	}
	if !handled[ev.Type] {
		return tributary.DeliveryIgnored, nil
	}
	o := ev.Object
	kind := o.str("object")
	if kind == "" {
		kind = kindOf(ev.Type) // some recorded payloads omit "object"
		o["object"] = kind
	}
	fresh, err := p.snapshot(ctx, site, ev, o)
	if err != nil {
		return "", err
	}
	var res result
	switch kind {
	case "charge":
		err = p.charge(ctx, site, ev, o, &res)
	case "payment_intent":
		err = p.paymentIntent(ctx, site, ev, o, &res)
	case "checkout.session":
		err = p.session(ctx, site, ev, o, &res)
	case "refund":
		p.refund(site, ev, o, "", &res)
		err = p.mergeByCharge(ctx, site, ev, o.id("charge"), o.id("payment_intent"), &res)
	case "dispute":
		err = p.dispute(ctx, site, ev, o, &res)
	case "invoice":
		err = p.invoice(ctx, site, ev, o, &res)
	case "invoice_payment":
		err = p.invoicePayment(ctx, site, ev, o, &res)
	case "subscription":
		if fresh.prev != nil || fresh.fresh {
			res.movements = append(res.movements, subscriptionMovements(site, ev, fresh.prev, o)...)
		}
	case "customer":
		// Snapshot only: its e-mail and metadata are read when its payments are linked.
	default:
		return tributary.DeliveryIgnored, nil
	}
	if err != nil {
		return "", err
	}
	for i := range res.entries {
		res.entries[i].SiteID, res.entries[i].Livemode, res.entries[i].Source = site.ID, ev.Livemode, "stripe"
	}
	for i := range res.movements {
		res.movements[i].SiteID, res.movements[i].Livemode, res.movements[i].Source = site.ID, ev.Livemode, "stripe"
	}
	if err := p.Ledger.Record(ctx, site, res.entries, res.movements); err != nil {
		return "", err
	}
	if res.payment != nil {
		if err := p.mergePayment(ctx, site, ev, res.payment, res.entries); err != nil {
			return "", err
		}
	}
	return tributary.DeliveryProcessed, nil
}

// kindOf infers the object type from the event type.
func kindOf(t string) string {
	for _, p := range []struct{ prefix, kind string }{
		{"charge.dispute.", "dispute"}, {"charge.refund.", "refund"}, {"charge.", "charge"}, {"customer.subscription.", "subscription"},
		{"customer.", "customer"}, {"invoice_payment.", "invoice_payment"}, {"invoice.", "invoice"}, {"checkout.session.", "checkout.session"},
		{"payment_intent.", "payment_intent"}, {"refund.", "refund"},
	} {
		if strings.HasPrefix(t, p.prefix) {
			return p.kind
		}
	}
	return ""
}

type freshness struct {
	fresh bool
	prev  obj
}

// snapshot stores o when it is newer than the stored snapshot and reports the previous one.
func (p *Processor) snapshot(ctx context.Context, site *tributary.Site, ev *Event, o obj) (freshness, error) {
	id := o.str("id")
	if id == "" {
		return freshness{}, nil
	}
	prev, err := p.Meta.StripeObject(ctx, site.ID, id)
	if err != nil && tributary.ErrorCode(err) != tributary.ENOTFOUND {
		return freshness{}, err
	}
	var f freshness
	if prev != nil {
		if prev.EventCreated.After(ev.Created) {
			return freshness{}, nil // an older state arriving late changes nothing
		}
		f.prev, _ = decodeObj(prev.Data)
	}
	data, _ := json.Marshal(o)
	f.fresh = true
	return f, p.Meta.PutStripeObject(ctx, &tributary.StripeObject{SiteID: site.ID, ID: id, Type: o.str("object"), Livemode: ev.Livemode, EventCreated: ev.Created, Data: data})
}

// paymentKey is the payment identity all objects of one payment agree on: the payment intent when there
// is one, else the charge (legacy charges without intents).
func paymentKey(pi, charge string) string {
	if pi != "" {
		return pi
	}
	return charge
}

func (p *Processor) charge(ctx context.Context, site *tributary.Site, ev *Event, c obj, res *result) error {
	key := paymentKey(c.id("payment_intent"), c.str("id"))
	amount := c.int("amount_captured")
	if amount == 0 {
		amount = c.int("amount")
	}
	status := c.str("status")
	captured := c.bool("captured") || (!c.has("captured") && c.bool("paid"))
	switch {
	case (status == "succeeded" || (status == "paid" && c.bool("paid"))) && captured && amount > 0:
		res.entries = append(res.entries, tributary.LedgerEntry{ID: "pay:" + key, Kind: tributary.EntryPayment, PaymentID: key,
			OccurredAt: c.time("created"), Amount: amount, Currency: c.currency(), CustomerID: c.id("customer")})
	case status == "failed":
		res.entries = append(res.entries, tributary.LedgerEntry{ID: "fail:" + c.str("id"), Kind: tributary.EntryPaymentFailed, PaymentID: key,
			OccurredAt: c.time("created"), Amount: c.int("amount"), Currency: c.currency(), CustomerID: c.id("customer")})
	}
	// Before API version 2022-11-15 the charge embeds its refunds.
	for _, r := range c.list("refunds") {
		p.refund(site, ev, r, key, res)
	}
	if len(c.list("refunds")) == 0 && c.int("amount_refunded") > 0 && ev.Type == "charge.refunded" {
		// Newer versions omit refund objects here; refund.created carries them. Without it, record the
		// total once under a charge-level id so the money is not missed.
		res.entries = append(res.entries, tributary.LedgerEntry{ID: "refund:" + c.str("id") + ":total", Kind: tributary.EntryRefund, PaymentID: key,
			OccurredAt: ev.Created, Amount: -c.int("amount_refunded"), Currency: c.currency(), CustomerID: c.id("customer")})
	}
	pay := &tributary.Payment{ID: key, ChargeID: c.str("id"), CustomerID: c.id("customer"), Currency: c.currency(), Created: c.time("created"),
		Metadata: c.metadata(), InvoiceID: c.id("invoice")}
	if bd := c.obj("billing_details"); bd != nil {
		pay.Email = bd.str("email")
	}
	if pay.Email == "" {
		pay.Email = c.str("receipt_email")
	}
	if d := c.obj("dispute"); d != nil {
		pay.DisputeStatus = d.str("status")
	} else if c.bool("disputed") && pay.DisputeStatus == "" {
		pay.DisputeStatus = "disputed"
	}
	res.payment = pay
	return p.fromInvoice(ctx, site, c.id("invoice"), key, res)
}

// refund records one refund. A failed or canceled refund records both the refund and its reversal,
// so the ledger ends the same whether or not the earlier "succeeded" state was seen.
func (p *Processor) refund(site *tributary.Site, ev *Event, r obj, key string, res *result) {
	id := r.str("id")
	if id == "" || r.int("amount") == 0 {
		return
	}
	if key == "" {
		key = paymentKey(r.id("payment_intent"), r.id("charge"))
	}
	e := tributary.LedgerEntry{ID: "refund:" + id, Kind: tributary.EntryRefund, PaymentID: key, OccurredAt: r.time("created"),
		Amount: -r.int("amount"), Currency: r.currency()}
	switch r.str("status") {
	case "succeeded", "pending", "requires_action", "":
		res.entries = append(res.entries, e)
	case "failed", "canceled":
		rev := e
		rev.ID, rev.Amount = "refund_failed:"+id, -e.Amount
		res.entries = append(res.entries, e, rev)
	}
}

// dispute records the money a dispute moved. One dispute withdraws the disputed amount once and, when
// won, reinstates it once; payloads describe this either through balance transactions or (older ones,
// and some funds_withdrawn events with an empty list) only through the event type. Both descriptions
// get the same entry id per dispute and direction, so a withdrawal seen both ways counts once. The
// amounts are the dispute's own, in the payment's currency (a balance transaction may be in the
// settlement currency and includes the fee, which is a cost, not lost revenue).
func (p *Processor) dispute(ctx context.Context, site *tributary.Site, ev *Event, d obj, res *result) error {
	key := paymentKey(d.id("payment_intent"), d.id("charge"))
	id, amount, cur := d.str("id"), d.int("amount"), d.currency()
	withdrawn, reinstated := time.Time{}, time.Time{}
	for _, bt := range d.list("balance_transactions") {
		switch amt := bt.int("amount"); {
		case amt < 0 && withdrawn.IsZero():
			withdrawn = createdOr(bt, ev)
		case amt > 0 && reinstated.IsZero():
			reinstated = createdOr(bt, ev)
		}
	}
	switch ev.Type {
	case "charge.dispute.funds_withdrawn":
		if withdrawn.IsZero() {
			withdrawn = ev.Created
		}
	case "charge.dispute.funds_reinstated":
		if reinstated.IsZero() {
			reinstated = ev.Created
		}
	}
	if !withdrawn.IsZero() && amount > 0 {
		res.entries = append(res.entries, tributary.LedgerEntry{ID: "dispute_withdrawn:" + id, Kind: tributary.EntryDisputeWithdrawn,
			PaymentID: key, OccurredAt: withdrawn, Amount: -amount, Currency: cur})
	}
	if !reinstated.IsZero() && amount > 0 {
		res.entries = append(res.entries, tributary.LedgerEntry{ID: "dispute_reinstated:" + id, Kind: tributary.EntryDisputeReinstated,
			PaymentID: key, OccurredAt: reinstated, Amount: amount, Currency: cur})
	}
	res.payment = &tributary.Payment{ID: key, DisputeStatus: d.str("status"), ChargeID: d.id("charge")}
	return nil
}

func (p *Processor) paymentIntent(ctx context.Context, site *tributary.Site, ev *Event, pi obj, res *result) error {
	key := pi.str("id")
	pay := &tributary.Payment{ID: key, CustomerID: pi.id("customer"), Currency: pi.currency(), Created: pi.time("created"),
		Metadata: pi.metadata(), InvoiceID: pi.id("invoice"), Email: pi.str("receipt_email")}
	// Old versions embed the charges; their money, refunds and failures are read as from charge events.
	for _, c := range pi.list("charges") {
		sub := result{}
		if err := p.charge(ctx, site, ev, c, &sub); err != nil {
			return err
		}
		res.entries = append(res.entries, sub.entries...)
	}
	if pi.str("status") == "succeeded" && pi.int("amount_received") > 0 && len(pi.list("charges")) == 0 {
		res.entries = append(res.entries, tributary.LedgerEntry{ID: "pay:" + key, Kind: tributary.EntryPayment, PaymentID: key,
			OccurredAt: pi.time("created"), Amount: pi.int("amount_received"), Currency: pi.currency(), CustomerID: pi.id("customer")})
	}
	if c := pi.obj("latest_charge"); c != nil {
		sub := result{}
		if err := p.charge(ctx, site, ev, c, &sub); err != nil {
			return err
		}
		res.entries = append(res.entries, sub.entries...)
	}
	res.payment = pay
	return p.fromInvoice(ctx, site, pi.id("invoice"), key, res)
}

func (p *Processor) session(ctx context.Context, site *tributary.Site, ev *Event, s obj, res *result) error {
	pay := &tributary.Payment{CustomerID: s.id("customer"), Currency: s.currency(), Created: createdOr(s, ev), Metadata: s.metadata(),
		ClientReferenceID: s.str("client_reference_id"), CheckoutSessionID: s.str("id"), SubscriptionID: s.id("subscription"), InvoiceID: s.id("invoice")}
	if cd := s.obj("customer_details"); cd != nil {
		pay.Email = cd.str("email")
	}
	if pay.Email == "" {
		pay.Email = s.str("customer_email")
	}
	if pi := s.id("payment_intent"); pi != "" {
		pay.ID = pi
		if s.str("payment_status") == "paid" && s.int("amount_total") > 0 && ev.Type != "checkout.session.expired" {
			res.entries = append(res.entries, tributary.LedgerEntry{ID: "pay:" + pi, Kind: tributary.EntryPayment, PaymentID: pi,
				OccurredAt: createdOr(s, ev), Amount: s.int("amount_total"), Currency: s.currency(), CustomerID: s.id("customer")})
		}
		res.payment = pay
		return nil
	}
	// Subscription mode: the money is the first invoice; keep the session's facts under the invoice so
	// they join the payment once the invoice's payment intent is known.
	if inv := s.id("invoice"); inv != "" {
		return p.pend(ctx, site, inv, pay, res)
	}
	if sub := s.id("subscription"); sub != "" {
		return p.pend(ctx, site, "sub:"+sub, pay, res)
	}
	return nil
}

// createdOr is the object's creation time, or the event's when the object has none (some recorded
// checkout sessions of 2020 lack "created"); a zero time would put the money outside every report.
func createdOr(o obj, ev *Event) time.Time {
	if t := o.time("created"); !t.IsZero() {
		return t
	}
	return ev.Created
}

// invoiceKey returns the payment intent of an invoice in any version: the old field, or the
// invoice_payment alias stored when an invoice_payment was seen.
func (p *Processor) invoiceKey(ctx context.Context, site *tributary.Site, inv obj) (string, error) {
	if pi := inv.id("payment_intent"); pi != "" {
		return pi, nil
	}
	if c := inv.id("charge"); c != "" {
		if o, err := p.Meta.StripeObject(ctx, site.ID, c); err == nil {
			co, _ := decodeObj(o.Data)
			return paymentKey(co.id("payment_intent"), c), nil
		}
	}
	for _, pay := range inv.list("payments") {
		if pi := pay.obj("payment").id("payment_intent"); pi != "" {
			return pi, nil
		}
	}
	a, err := p.alias(ctx, site, inv.str("id"))
	return a.Payment, err
}

func invoiceSubscription(inv obj) string {
	if s := inv.id("subscription"); s != "" {
		return s
	}
	return inv.path("parent", "subscription_details").id("subscription")
}

func (p *Processor) invoice(ctx context.Context, site *tributary.Site, ev *Event, inv obj, res *result) error {
	key, err := p.invoiceKey(ctx, site, inv)
	if err != nil {
		return err
	}
	pay := &tributary.Payment{ID: key, InvoiceID: inv.str("id"), CustomerID: inv.id("customer"), Email: inv.str("customer_email"),
		Currency: inv.currency(), SubscriptionID: invoiceSubscription(inv), BillingReason: inv.str("billing_reason"), Metadata: inv.metadata()}
	if md := inv.path("parent", "subscription_details").metadata(); len(md) > 0 {
		pay.Metadata = mergeMap(pay.Metadata, md)
	}
	if md := inv.obj("subscription_details").metadata(); len(md) > 0 {
		pay.Metadata = mergeMap(pay.Metadata, md)
	}
	if lines := inv.list("lines"); len(lines) > 0 {
		if pr := lines[0].obj("price"); pr != nil {
			pay.Product = pr.id("product")
		} else if pl := lines[0].obj("plan"); pl != nil {
			pay.Product = pl.id("product")
		} else if pr := lines[0].path("pricing", "price_details"); pr != nil {
			pay.Product = pr.str("product")
		}
	}
	if key == "" {
		return p.pend(ctx, site, inv.str("id"), pay, res)
	}
	// Money comes from the charge or payment intent (they carry their own ids); old invoices carry the
	// payment intent id, so the entry has the same id as the charge's.
	if (ev.Type == "invoice.paid" || ev.Type == "invoice.payment_succeeded") && inv.int("amount_paid") > 0 && inv.id("payment_intent") != "" {
		res.entries = append(res.entries, tributary.LedgerEntry{ID: "pay:" + key, Kind: tributary.EntryPayment, PaymentID: key,
			OccurredAt: inv.time("created"), Amount: inv.int("amount_paid"), Currency: inv.currency(), CustomerID: inv.id("customer")})
	}
	if err := p.setAlias(ctx, site, inv.str("id"), key, res); err != nil {
		return err
	}
	// A subscription-mode checkout session without an "invoice" field (versions before 2022-08-01)
	// waits under its subscription; the subscription's first invoice is the session's payment.
	if sub := invoiceSubscription(inv); sub != "" && inv.str("billing_reason") == "subscription_create" {
		if err := p.setAlias(ctx, site, "sub:"+sub, key, res); err != nil {
			return err
		}
	}
	res.payment = pay
	return nil
}

func (p *Processor) invoicePayment(ctx context.Context, site *tributary.Site, ev *Event, ip obj, res *result) error {
	pay := ip.obj("payment")
	key := paymentKey(pay.id("payment_intent"), pay.id("charge"))
	if key == "" {
		return nil
	}
	inv := ip.id("invoice")
	res.payment = &tributary.Payment{ID: key, InvoiceID: inv, Currency: ip.currency()}
	return p.setAlias(ctx, site, inv, key, res)
}

// fromInvoice joins what is known of an invoice (subscription, billing reason, product, pending
// session facts) to the payment key.
func (p *Processor) fromInvoice(ctx context.Context, site *tributary.Site, inv, key string, res *result) error {
	if inv == "" {
		return nil
	}
	return p.setAlias(ctx, site, inv, key, res)
}

// aliasRecord links an invoice (or subscription) to its payment key and holds facts that arrived
// before the key was known.
type aliasRecord struct {
	Payment string               `json:"payment"`
	Pending []*tributary.Payment `json:"pending,omitempty"`
}

func (p *Processor) alias(ctx context.Context, site *tributary.Site, id string) (aliasRecord, error) {
	var a aliasRecord
	if id == "" {
		return a, nil
	}
	o, err := p.Meta.StripeObject(ctx, site.ID, "alias:"+id)
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	return a, json.Unmarshal(o.Data, &a)
}

func (p *Processor) putAlias(ctx context.Context, site *tributary.Site, id string, a aliasRecord) error {
	b, _ := json.Marshal(a)
	return p.Meta.PutStripeObject(ctx, &tributary.StripeObject{SiteID: site.ID, ID: "alias:" + id, Type: "alias", Data: b})
}

// pend keeps facts of a payment whose key is not known yet under the invoice id.
func (p *Processor) pend(ctx context.Context, site *tributary.Site, id string, pay *tributary.Payment, res *result) error {
	a, err := p.alias(ctx, site, id)
	if err != nil {
		return err
	}
	if a.Payment != "" {
		pay.ID = a.Payment
		res.payment = pay
		return nil
	}
	a.Pending = append(a.Pending, pay)
	return p.putAlias(ctx, site, id, a)
}

// setAlias records invoice → key and merges any pending facts into the payment.
func (p *Processor) setAlias(ctx context.Context, site *tributary.Site, id, key string, res *result) error {
	a, err := p.alias(ctx, site, id)
	if err != nil {
		return err
	}
	if a.Payment == key && len(a.Pending) == 0 {
		return nil
	}
	pending := a.Pending
	a.Payment, a.Pending = key, nil
	if err := p.putAlias(ctx, site, id, a); err != nil {
		return err
	}
	// Facts stored under the invoice before (including a basil invoice's own attributes).
	for _, pp := range pending {
		pp.ID = key
		if err := p.mergePayment(ctx, site, nil, pp, nil); err != nil {
			return err
		}
	}
	if o, err := p.Meta.StripeObject(ctx, site.ID, id); err == nil && o.Type == "invoice" {
		inv, _ := decodeObj(o.Data)
		sub := result{}
		inv["payment_intent"] = key // resolve through the alias just written
		if err := p.invoice(ctx, site, &Event{Type: "invoice.resolved", Created: o.EventCreated, Livemode: o.Livemode}, inv, &sub); err != nil {
			return err
		}
		if sub.payment != nil {
			if err := p.mergePayment(ctx, site, nil, sub.payment, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Processor) mergeByCharge(ctx context.Context, site *tributary.Site, ev *Event, charge, pi string, res *result) error {
	if key := paymentKey(pi, charge); key != "" {
		res.payment = &tributary.Payment{ID: key, ChargeID: charge}
	}
	return nil
}

func mergeMap(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// mergePayment unions facts into the stored payment record (non-empty fields win), recomputes its status
// from its ledger entries, and links it to a visitor.
func (p *Processor) mergePayment(ctx context.Context, site *tributary.Site, ev *Event, f *tributary.Payment, entries []tributary.LedgerEntry) error {
	if f.ID == "" {
		return nil
	}
	cur, err := p.Meta.Payment(ctx, site.ID, f.ID)
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		cur, err = &tributary.Payment{SiteID: site.ID, ID: f.ID, Source: "stripe", Metadata: map[string]string{}}, nil
	}
	if err != nil {
		return err
	}
	if ev != nil {
		cur.Livemode = ev.Livemode
	}
	cur.CustomerID = firstNonEmpty(f.CustomerID, cur.CustomerID)
	cur.Email = strings.ToLower(firstNonEmpty(f.Email, cur.Email))
	cur.Currency = firstNonEmpty(cur.Currency, f.Currency)
	cur.SubscriptionID = firstNonEmpty(f.SubscriptionID, cur.SubscriptionID)
	cur.InvoiceID = firstNonEmpty(f.InvoiceID, cur.InvoiceID)
	cur.CheckoutSessionID = firstNonEmpty(f.CheckoutSessionID, cur.CheckoutSessionID)
	cur.ChargeID = firstNonEmpty(f.ChargeID, cur.ChargeID)
	cur.Product = firstNonEmpty(f.Product, cur.Product)
	cur.BillingReason = firstNonEmpty(f.BillingReason, cur.BillingReason)
	cur.ClientReferenceID = firstNonEmpty(f.ClientReferenceID, cur.ClientReferenceID)
	cur.DisputeStatus = firstNonEmpty(f.DisputeStatus, cur.DisputeStatus)
	cur.Metadata = mergeMap(cur.Metadata, f.Metadata)
	if !f.Created.IsZero() && (cur.Created.IsZero() || f.Created.Before(cur.Created)) {
		cur.Created = f.Created
	}
	for _, e := range entries {
		if e.PaymentID != cur.ID {
			continue
		}
		if cur.Created.IsZero() || (e.Kind == tributary.EntryPayment && e.OccurredAt.Before(cur.Created)) {
			cur.Created = e.OccurredAt
		}
	}
	if err := p.status(ctx, site, cur); err != nil {
		return err
	}
	cur.UpdatedAt = time.Now().UTC()
	if err := p.Meta.PutPayment(ctx, cur); err != nil {
		return err
	}
	if cur.Status == tributary.PaymentPending || cur.Status == tributary.PaymentFailed {
		return nil // only money that arrived is attributed
	}
	vid, sid := linkIDs(cur.Metadata)
	_, err = p.Ledger.Link(ctx, site, ledger.Payment{SiteID: site.ID, PaymentID: cur.ID, At: cur.Created, VisitorID: vid, SessionID: sid,
		ClientReferenceID: cur.ClientReferenceID, CustomerID: cur.CustomerID, Email: cur.Email, Source: "stripe",
		Referrer: cur.Metadata["referrer"], UTMSource: cur.Metadata["utm_source"], UTMMedium: cur.Metadata["utm_medium"], UTMCampaign: cur.Metadata["utm_campaign"]})
	return err
}

// linkIDs reads the visitor and session ids from metadata keys (DESIGN §4).
func linkIDs(md map[string]string) (visitor, session string) {
	visitor = firstNonEmpty(md["tributary_visitor_id"], md["visitor_id"], md["visitorId"])
	session = firstNonEmpty(md["tributary_session_id"], md["session_id"], md["sessionId"])
	return visitor, session
}

// status derives the payment status from its ledger entries.
func (p *Processor) status(ctx context.Context, site *tributary.Site, pay *tributary.Payment) error {
	entries, err := p.Events.LedgerForPayment(ctx, site.ID, pay.ID)
	if err != nil {
		return err
	}
	var paid, refunded, disputed int64
	failed := false
	for _, e := range entries {
		switch e.Kind {
		case tributary.EntryPayment:
			paid += e.Amount
			if pay.Currency == "" {
				pay.Currency = e.Currency
			}
		case tributary.EntryRefund:
			refunded -= e.Amount
		case tributary.EntryDisputeWithdrawn, tributary.EntryDisputeReinstated:
			disputed -= e.Amount
		case tributary.EntryPaymentFailed:
			failed = true
		}
	}
	pay.Amount, pay.Refunded = paid, refunded
	switch {
	case paid == 0 && failed:
		pay.Status = tributary.PaymentFailed
	case paid == 0:
		pay.Status = tributary.PaymentPending
	case disputed != 0 || pay.DisputeStatus == "lost" || pay.DisputeStatus == "needs_response" || pay.DisputeStatus == "under_review":
		pay.Status = tributary.PaymentDisputed
	case refunded >= paid:
		pay.Status = tributary.PaymentRefunded
	case refunded > 0:
		pay.Status = tributary.PaymentPartiallyRefunded
	default:
		pay.Status = tributary.PaymentSucceeded
	}
	return nil
}

// subscriptionMRR is the monthly recurring revenue of a subscription snapshot in minor units of its
// currency: Σ unit_amount × quantity per item, normalised to a month exactly (year ÷ 12, week × 52 ÷ 12,
// day × 365 ÷ 12, divided by interval_count), less a percent discount, rounded half-even once at the end.
// Trialing, canceled, incomplete and paused subscriptions bring no MRR.
func subscriptionMRR(s obj) (int64, string) {
	cur := subscriptionCurrency(s)
	switch s.str("status") {
	case "active", "past_due":
	default:
		return 0, cur
	}
	if s.has("pause_collection") && s.obj("pause_collection") != nil {
		return 0, cur
	}
	total := new(big.Rat)
	for _, it := range s.list("items") {
		pr := it.obj("price")
		if pr == nil {
			pr = it.obj("plan")
		}
		if pr == nil {
			continue
		}
		if cur == "" {
			cur = pr.currency()
		}
		rec := pr.obj("recurring")
		interval, count := pr.str("interval"), pr.int("interval_count")
		if rec != nil {
			interval, count = rec.str("interval"), rec.int("interval_count")
		}
		if count <= 0 {
			count = 1
		}
		q := it.int("quantity")
		if q == 0 && !it.has("quantity") {
			q = 1
		}
		unit := pr.int("unit_amount")
		if unit == 0 {
			unit = pr.int("amount")
		}
		num, den := int64(1), count
		switch interval {
		case "year":
			den *= 12
		case "week":
			num, den = 52, 12*count
		case "day":
			num, den = 365, 12*count
		}
		total.Add(total, new(big.Rat).SetFrac(big.NewInt(unit*q*num), big.NewInt(den)))
	}
	if d := s.obj("discount"); d != nil {
		if c := d.obj("coupon"); c != nil && c.str("duration") != "once" {
			if pct := c.str("percent_off"); pct != "" {
				if r, ok := new(big.Rat).SetString(pct); ok {
					total.Mul(total, new(big.Rat).Sub(big.NewRat(1, 1), new(big.Rat).Quo(r, big.NewRat(100, 1))))
				}
			}
		}
	}
	return tributary.RoundHalfEven(total), cur
}

// subscriptionCurrency is the subscription's currency: top-level since 2021, before only on each item's
// price or plan. Every state (canceled included) needs it, or a churn movement cannot be converted.
func subscriptionCurrency(s obj) string {
	if c := s.currency(); c != "" {
		return c
	}
	for _, it := range s.list("items") {
		for _, k := range []string{"price", "plan"} {
			if pr := it.obj(k); pr != nil && pr.currency() != "" {
				return pr.currency()
			}
		}
	}
	if pl := s.obj("plan"); pl != nil {
		return pl.currency()
	}
	return ""
}

// subscriptionMovements compares the previous snapshot with the new one.
func subscriptionMovements(site *tributary.Site, ev *Event, prev, cur obj) []tributary.MRRMovement {
	before, _ := int64(0), ""
	wasActive := false
	if prev != nil {
		before, _ = subscriptionMRR(prev)
		wasActive = before > 0
	}
	after, currency := subscriptionMRR(cur)
	if currency == "" && prev != nil {
		currency = subscriptionCurrency(prev)
	}
	if ev.Type == "customer.subscription.deleted" {
		after = 0
	}
	if after == before {
		return nil
	}
	var kind string
	switch {
	case before == 0 && prev != nil && prev.str("status") == "canceled":
		kind = tributary.MRRReactivation
	case before == 0 && !wasActive && prev != nil && sawPaid(prev):
		kind = tributary.MRRReactivation
	case before == 0:
		kind = tributary.MRRNew
	case after == 0:
		kind = tributary.MRRChurn
	case after > before:
		kind = tributary.MRRExpansion
	default:
		kind = tributary.MRRContraction
	}
	id := cur.str("id")
	return []tributary.MRRMovement{{ID: fmt.Sprintf("mrr:%s:%d:%s", id, ev.Created.Unix(), kind), SubscriptionID: id, CustomerID: cur.id("customer"),
		At: ev.Created, Kind: kind, Delta: after - before, Currency: currency}}
}

// sawPaid reports whether a subscription snapshot had been paying (paused or past trial).
func sawPaid(s obj) bool { return s.str("status") == "paused" || s.obj("pause_collection") != nil }

// sortEntries orders entries for stable comparisons in tests and exports.
func sortEntries(es []tributary.LedgerEntry) {
	sort.Slice(es, func(i, j int) bool { return es[i].ID < es[j].ID })
}

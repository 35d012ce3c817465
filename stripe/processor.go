package stripe

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/reconcile"
)

// Event is the envelope of a Stripe event.
type Event struct {
	ID         string
	Type       string
	APIVersion string
	Created    time.Time
	Livemode   bool
	Object     obj
}

// Events dated before tributary.EarliestEventTime or more than a day ahead are malformed, not money.
const maxAhead = 24 * time.Hour

// DecodeEvent reads an event envelope of any API version.
func DecodeEvent(b []byte) (*Event, error) {
	o, err := decodeObj(b)
	if err != nil {
		return nil, tributary.Errorf(tributary.EINVALID, "stripe: decode event: %v", err)
	}
	ev := &Event{ID: o.str("id"), Type: o.str("type"), APIVersion: o.str("api_version"), Livemode: o.bool("livemode")}
	if n := o.int("created"); n > 0 {
		ev.Created = time.Unix(n, 0).UTC()
	}
	if data := o.obj("data"); data != nil {
		ev.Object = data.obj("object")
	}
	if ev.ID == "" || ev.Type == "" || ev.Object == nil {
		return nil, tributary.Errorf(tributary.EINVALID, "stripe: not an event: id, type and data.object are required")
	}
	if ev.Created.Before(tributary.EarliestEventTime) || ev.Created.After(time.Now().Add(maxAhead)) {
		return nil, tributary.Errorf(tributary.EINVALID, "stripe: event %s: created %s is not a plausible event time", ev.ID, o.str("created"))
	}
	return ev, nil
}

// handled lists the event types the processor uses; every other type is ignored, never an error.
var handled = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`checkout.session.completed checkout.session.async_payment_succeeded checkout.session.async_payment_failed checkout.session.expired
	payment_intent.succeeded payment_intent.payment_failed payment_intent.canceled payment_intent.processing payment_intent.requires_action payment_intent.created payment_intent.amount_capturable_updated
	charge.succeeded charge.captured charge.failed charge.refunded charge.updated charge.pending charge.expired
	refund.created refund.updated refund.failed charge.refund.updated
	charge.dispute.created charge.dispute.updated charge.dispute.closed charge.dispute.funds_withdrawn charge.dispute.funds_reinstated
	invoice.paid invoice.payment_succeeded invoice.payment_failed invoice.updated invoice.finalized invoice.voided invoice.marked_uncollectible invoice_payment.paid
	customer.created customer.updated
	customer.subscription.created customer.subscription.updated customer.subscription.deleted customer.subscription.paused customer.subscription.resumed customer.subscription.trial_will_end`) {
		handled[t] = true
	}
}

// Processor maps Stripe events into the provider-neutral reconciliation (package reconcile): each object
// becomes a part of its payment, a subscription state or a customer; the reconciliation derives the
// ledger from them. The ledger is therefore the same whatever order, multiplicity or subset of events
// arrives, for every money the events carry.
type Processor struct {
	Meta   tributary.MetaStore
	Events tributary.EventStore
	Ledger *ledger.Recorder
}

// Apply processes one event for site; it returns the delivery status (processed or ignored).
func (p *Processor) Apply(ctx context.Context, site *tributary.Site, raw []byte) (string, error) {
	out := p.ApplyBatch(ctx, []Item{{Site: site, Raw: raw}})
	return out[0].Status, out[0].Err
}

// Item is one delivery of a batch: the site it is for and its raw event.
type Item struct {
	Site *tributary.Site
	Raw  []byte
}

// Outcome is the result of one item of a batch.
type Outcome struct {
	Status string
	Err    error
}

// ApplyBatch processes many events in one unit of work: their payments' state is read in a few queries,
// and the state, ledger differences, records and links of all of them are written once at the end. An
// event that cannot be decoded fails alone; when the batch's write fails, every item is retried on its
// own, so one bad event cannot hold back the others.
func (p *Processor) ApplyBatch(ctx context.Context, items []Item) []Outcome {
	out := make([]Outcome, len(items))
	ops := make([]*op, len(items))
	ids := map[string][]string{}
	for i, it := range items {
		o, err := decode(it.Raw)
		if err != nil {
			out[i].Err = err
			continue
		}
		ops[i] = o
		for _, part := range o.parts {
			ids[it.Site.ID] = append(ids[it.Site.ID], part.Ids()...)
		}
	}
	b := reconcile.NewBatch(p.Meta, p.Events, p.Ledger)
	for site, list := range ids {
		if err := b.Prefetch(ctx, site, list); err != nil {
			for i := range out {
				if out[i].Err == nil {
					out[i].Err = err
				}
			}
			return out
		}
	}
	used := 0
	for i, it := range items {
		if ops[i] == nil {
			continue
		}
		out[i].Status, out[i].Err = ops[i].put(ctx, b, it.Site)
		if out[i].Err == nil && out[i].Status == tributary.DeliveryProcessed {
			used++
		}
	}
	if used == 0 {
		return out
	}
	if _, err := b.Flush(ctx); err != nil {
		if len(items) == 1 {
			out[0] = Outcome{Err: err}
			return out
		}
		for i, it := range items {
			if out[i].Err == nil && out[i].Status == tributary.DeliveryProcessed {
				out[i].Status, out[i].Err = p.Apply(ctx, it.Site, it.Raw)
			}
		}
	}
	return out
}

// op is what one event tells the reconciliation.
type op struct {
	ev       *Event
	status   string
	parts    []*reconcile.Part
	sub      *reconcile.SubState
	subID    string
	customer string
	cust     *reconcile.Customer
}

// decode maps one event into parts, a subscription state or a customer.
func decode(raw []byte) (*op, error) {
	ev, err := DecodeEvent(raw)
	if err != nil {
		return nil, err
	}
	if !handled[ev.Type] {
		return &op{ev: ev, status: tributary.DeliveryIgnored}, nil
	}
	return decodeObject(ev)
}

// decodeObject maps the object of ev (a delivered event, or an object read from the API wrapped in one)
// into parts, a subscription state or a customer.
func decodeObject(ev *Event) (*op, error) {
	var err error
	o := &op{ev: ev, status: tributary.DeliveryProcessed}
	obj := ev.Object
	kind := obj.str("object")
	if kind == "" {
		kind = kindOf(ev.Type) // some recorded payloads omit "object"
	}
	one := func(p *reconcile.Part, err error) ([]*reconcile.Part, error) { return []*reconcile.Part{p}, err }
	switch kind {
	case "charge":
		o.parts, err = chargeParts(ev, obj)
	case "payment_intent":
		o.parts, err = intentParts(ev, obj)
	case "checkout.session":
		o.parts, err = sessionParts(ev, obj)
	case "refund":
		o.parts, err = one(refundPart(ev, obj, ""))
	case "dispute":
		o.parts, err = one(disputePart(ev, obj))
	case "invoice":
		o.parts, err = invoiceParts(ev, obj)
	case "invoice_payment":
		o.parts, err = one(invoicePaymentPart(ev, obj))
	case "subscription":
		var id, customer string
		var st reconcile.SubState
		id, customer, st, err = subscriptionState(ev, obj)
		o.subID, o.customer, o.sub = id, customer, &st
	case "customer":
		if ev.Type == "customer.deleted" {
			o.status = tributary.DeliveryIgnored
			return o, nil
		}
		o.cust = &reconcile.Customer{ID: obj.str("id"), At: ev.Created, Email: obj.str("email"), Metadata: obj.metadata()}
	default:
		o.status = tributary.DeliveryIgnored
	}
	if err != nil {
		return nil, tributary.Errorf(tributary.EINVALID, "stripe: event %s (%s): %v", ev.ID, ev.Type, err)
	}
	return o, nil
}

// ImportObjects processes objects read from the Stripe API (history import, daily re-listing) through the
// same reconciliation as webhooks: each is the object's state at `at`, the time it was read. A
// subscription seen for the first time also gets its start (and, when it ended, its end) in its
// history, so MRR is dated when it began rather than when it was imported.
// It returns how many ledger entries the objects changed money by.
func (p *Processor) ImportObjects(ctx context.Context, site *tributary.Site, livemode bool, at time.Time, raws [][]byte) (int, error) {
	b := reconcile.NewBatch(p.Meta, p.Events, p.Ledger)
	var ops []*op
	var ids, subs []string
	for _, raw := range raws {
		o, err := decodeObj(raw)
		if err != nil {
			return 0, tributary.Errorf(tributary.EINVALID, "stripe: decode imported object: %v", err)
		}
		kind := o.str("object")
		ev := &Event{ID: "import", Type: kind + ".imported", Created: at, Livemode: livemode, Object: o}
		op, err := decodeObject(ev)
		if err != nil {
			return 0, err
		}
		for _, part := range op.parts {
			ids = append(ids, part.Ids()...)
		}
		if op.subID != "" {
			subs = append(subs, op.subID)
		}
		ops = append(ops, op)
	}
	if err := b.Prefetch(ctx, site.ID, ids); err != nil {
		return 0, err
	}
	if err := b.PrefetchSubscriptions(ctx, site.ID, subs); err != nil {
		return 0, err
	}
	for _, op := range ops {
		if op.sub != nil {
			known, err := b.SubscriptionKnown(ctx, site.ID, op.subID)
			if err != nil {
				return 0, err
			}
			if !known {
				if err := importedHistory(ctx, b, site, op); err != nil {
					return 0, err
				}
			}
		}
		if _, err := op.put(ctx, b, site); err != nil {
			return 0, err
		}
	}
	res, err := b.Flush(ctx)
	if err != nil {
		return 0, err
	}
	return len(res.Entries), nil
}

// importedHistory adds what a subscription listed from the API tells of its past: it paid its current
// MRR since it started, and nothing since it ended.
func importedHistory(ctx context.Context, b *reconcile.Batch, site *tributary.Site, op *op) error {
	s := op.ev.Object
	start := firstTime(s.time("start_date"), s.time("created"))
	if start.IsZero() || !start.Before(op.ev.Created) {
		return nil
	}
	active := obj{}
	for k, v := range s {
		active[k] = v
	}
	switch s.str("status") {
	case "canceled", "incomplete_expired":
		active["status"] = "active"
	case "active", "past_due":
	default:
		return nil // trialing, incomplete, paused: nothing paid yet to date
	}
	if trial := s.time("trial_end"); !trial.IsZero() && trial.After(start) {
		start = trial
	}
	mrr, cur := subscriptionMRR(active)
	if mrr <= 0 {
		return nil
	}
	md := s.metadata()
	if err := b.PutSubscription(ctx, site, "stripe", op.ev.Livemode, op.subID, op.customer, reconcile.SubState{At: start, Status: "active", MRR: mrr, Currency: cur}, md); err != nil {
		return err
	}
	if end := firstTime(s.time("ended_at"), s.time("canceled_at")); s.str("status") == "canceled" && !end.IsZero() && end.After(start) {
		return b.PutSubscription(ctx, site, "stripe", op.ev.Livemode, op.subID, op.customer, reconcile.SubState{At: end, Status: "canceled", MRR: 0, Currency: cur}, md)
	}
	return nil
}

// put hands the op to the batch for site.
func (o *op) put(ctx context.Context, b *reconcile.Batch, site *tributary.Site) (string, error) {
	if o.status != tributary.DeliveryProcessed {
		return o.status, nil
	}
	switch {
	case o.sub != nil:
		if err := b.PutSubscription(ctx, site, "stripe", o.ev.Livemode, o.subID, o.customer, *o.sub, o.ev.Object.metadata()); err != nil {
			return "", err
		}
	case o.cust != nil:
		if err := b.PutCustomer(ctx, site, o.ev.Livemode, o.cust); err != nil {
			return "", err
		}
	}
	for _, part := range o.parts {
		if part == nil {
			continue
		}
		if err := b.PutPart(ctx, site, "stripe", o.ev.Livemode, part); err != nil {
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

// amounts reads several money fields, keeping the first error.
type amounts struct{ err error }

func (a *amounts) get(o obj, k string) int64 {
	n, err := o.amount(k)
	if err != nil && a.err == nil {
		a.err = err
	}
	return n
}

// key is the payment identity an object names: its payment intent, else its charge.
func key(pi, charge string) (string, int) {
	if pi != "" {
		return pi, reconcile.KeyIntent
	}
	return charge, reconcile.KeyCharge
}

func refs(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// subFirst joins a subscription-mode checkout session with its subscription's first invoice: before
// 2022-08-01 the session does not name its invoice.
func subFirst(sub string) string {
	if sub == "" {
		return ""
	}
	return "subfirst:" + sub
}

func chargeParts(ev *Event, c obj) ([]*reconcile.Part, error) {
	var a amounts
	id := c.str("id")
	k, rank := key(c.id("payment_intent"), id)
	part := &reconcile.Part{ID: id, Kind: reconcile.Charge, At: ev.Created, Created: c.time("created"), Key: k, KeyRank: rank,
		Refs: refs(c.id("payment_intent"), c.id("invoice")), Currency: c.currency(), Customer: c.id("customer"), Metadata: c.metadata(),
		Invoice: c.id("invoice"), Refunded: a.get(c, "amount_refunded")}
	amount := a.get(c, "amount")
	captured := c.bool("captured") || (!c.has("captured") && c.bool("paid"))
	switch status := c.str("status"); {
	case (status == "succeeded" || (status == "paid" && c.bool("paid"))) && captured:
		part.Paid = amount
		if c.has("amount_captured") {
			part.Paid = a.get(c, "amount_captured")
		}
	case status == "failed":
		part.Failed = amount
	}
	if bd := c.obj("billing_details"); bd != nil {
		part.Email = bd.str("email")
	}
	if part.Email == "" {
		part.Email = c.str("receipt_email")
	}
	if d := c.obj("dispute"); d != nil {
		part.DisputeStatus = d.str("status")
	}
	parts := []*reconcile.Part{part}
	// Before API version 2022-11-15 the charge embeds its refunds.
	for _, r := range c.list("refunds") {
		rp, err := refundPart(ev, r, id)
		if err != nil {
			return nil, err
		}
		if rp.Key == "" {
			rp.Key, rp.KeyRank = k, rank
		}
		parts = append(parts, rp)
	}
	return parts, a.err
}

// refundPart maps a refund. Failed, canceled (and returned, which Stripe reports as failed) refunds do
// not stand; a pending one does, as Stripe counts it in the charge's amount_refunded.
func refundPart(ev *Event, r obj, charge string) (*reconcile.Part, error) {
	var a amounts
	if charge == "" {
		charge = r.id("charge")
	}
	k, rank := key(r.id("payment_intent"), charge)
	part := &reconcile.Part{ID: r.str("id"), Kind: reconcile.Refund, At: ev.Created, Created: r.time("created"), Key: k, KeyRank: rank,
		Refs: refs(charge, r.id("payment_intent")), Currency: r.currency(), Amount: a.get(r, "amount"), Charge: charge}
	switch r.str("status") {
	case "succeeded", "pending", "requires_action", "":
		part.Active = true
	}
	return part, a.err
}

func intentParts(ev *Event, pi obj) ([]*reconcile.Part, error) {
	var a amounts
	id := pi.str("id")
	part := &reconcile.Part{ID: id, Kind: reconcile.Intent, At: ev.Created, Created: pi.time("created"), Key: id, KeyRank: reconcile.KeyIntent,
		Refs: refs(pi.id("invoice"), pi.id("latest_charge")), Currency: pi.currency(), Customer: pi.id("customer"), Email: pi.str("receipt_email"),
		Metadata: pi.metadata(), Invoice: pi.id("invoice")}
	if pi.str("status") == "succeeded" {
		part.Paid = a.get(pi, "amount_received")
	}
	parts := []*reconcile.Part{part}
	// Old versions embed the charges (and their refunds).
	for _, c := range pi.list("charges") {
		cp, err := chargeParts(ev, c)
		if err != nil {
			return nil, err
		}
		for _, p := range cp {
			if p.Key == "" || p.KeyRank < reconcile.KeyIntent {
				p.Key, p.KeyRank = id, reconcile.KeyIntent
			}
		}
		parts = append(parts, cp...)
	}
	return parts, a.err
}

func sessionParts(ev *Event, s obj) ([]*reconcile.Part, error) {
	var a amounts
	id, pi, inv, sub := s.str("id"), s.id("payment_intent"), s.id("invoice"), s.id("subscription")
	part := &reconcile.Part{ID: id, Kind: reconcile.Order, At: ev.Created, Created: s.time("created"), Currency: s.currency(),
		Customer: s.id("customer"), ClientReferenceID: s.str("client_reference_id"), Metadata: s.metadata(), Subscription: sub, Invoice: inv}
	switch {
	case pi != "":
		part.Key, part.KeyRank = pi, reconcile.KeyIntent
	case inv != "":
		part.Key, part.KeyRank = inv, reconcile.KeyInvoice
	default:
		part.Key, part.KeyRank = id, reconcile.KeyOrder
	}
	part.Refs = refs(pi, inv)
	if s.str("mode") == "subscription" {
		part.Refs = append(part.Refs, subFirst(sub))
	}
	if cd := s.obj("customer_details"); cd != nil {
		part.Email = cd.str("email")
	}
	if part.Email == "" {
		part.Email = s.str("customer_email")
	}
	if s.str("payment_status") == "paid" {
		part.Paid = a.get(s, "amount_total")
	}
	return []*reconcile.Part{part}, a.err
}

func invoiceSubscription(inv obj) string {
	if s := inv.id("subscription"); s != "" {
		return s
	}
	return inv.path("parent", "subscription_details").id("subscription")
}

func invoiceParts(ev *Event, inv obj) ([]*reconcile.Part, error) {
	var a amounts
	id, sub := inv.str("id"), invoiceSubscription(inv)
	pi, charge := inv.id("payment_intent"), inv.id("charge")
	for _, pay := range inv.list("payments") { // basil, when expanded
		if p := pay.obj("payment"); p != nil && pi == "" {
			pi, charge = p.id("payment_intent"), firstNonEmpty(charge, p.id("charge"))
		}
	}
	part := &reconcile.Part{ID: id, Kind: reconcile.Invoice, At: ev.Created, Created: invoicePaidAt(inv), Currency: inv.currency(),
		Customer: inv.id("customer"), Email: inv.str("customer_email"), Subscription: sub, BillingReason: inv.str("billing_reason"), Metadata: inv.metadata()}
	switch {
	case pi != "":
		part.Key, part.KeyRank = pi, reconcile.KeyIntent
	case charge != "":
		part.Key, part.KeyRank = charge, reconcile.KeyCharge
	default:
		part.Key, part.KeyRank = id, reconcile.KeyInvoice
	}
	part.Refs = refs(pi, charge)
	if part.BillingReason == "subscription_create" {
		part.Refs = append(part.Refs, subFirst(sub))
	}
	for _, md := range []map[string]string{inv.path("parent", "subscription_details").metadata(), inv.obj("subscription_details").metadata()} {
		for k, v := range md {
			if part.Metadata == nil {
				part.Metadata = map[string]string{}
			}
			if v != "" {
				part.Metadata[k] = v
			}
		}
	}
	if lines := inv.list("lines"); len(lines) > 0 {
		if pr := lines[0].obj("price"); pr != nil {
			part.Product = pr.id("product")
		} else if pl := lines[0].obj("plan"); pl != nil {
			part.Product = pl.id("product")
		} else if pr := lines[0].path("pricing", "price_details"); pr != nil {
			part.Product = pr.str("product")
		}
	}
	if inv.str("status") == "paid" || (!inv.has("status") && inv.bool("paid")) {
		part.Paid = a.get(inv, "amount_paid")
	}
	return []*reconcile.Part{part}, a.err
}

// invoicePaidAt is when the invoice was paid (its money's time), else when it was created.
func invoicePaidAt(inv obj) time.Time {
	if t := inv.obj("status_transitions").time("paid_at"); !t.IsZero() {
		return t
	}
	return inv.time("created")
}

func invoicePaymentPart(ev *Event, ip obj) (*reconcile.Part, error) {
	var a amounts
	pay := ip.obj("payment")
	pi, charge := pay.id("payment_intent"), pay.id("charge")
	k, rank := key(pi, charge)
	inv := ip.id("invoice")
	part := &reconcile.Part{ID: ip.str("id"), Kind: reconcile.InvoicePayment, At: ev.Created, Created: ip.obj("status_transitions").time("paid_at"),
		Key: k, KeyRank: rank, Refs: refs(inv, pi, charge), Currency: ip.currency(), Invoice: inv}
	if part.Created.IsZero() {
		part.Created = ip.time("created")
	}
	if k == "" {
		part.Key, part.KeyRank = inv, reconcile.KeyInvoice
	}
	if ip.str("status") == "paid" || (!ip.has("status") && ev.Type == "invoice_payment.paid") {
		part.Paid = a.get(ip, "amount_paid")
	}
	return part, a.err
}

// disputePart maps a dispute. Funds move once each way: withdrawn when the dispute opens (inquiries,
// "warning_*", move none) and reinstated when it is won. Payloads tell this through balance
// transactions, through the event type (funds_withdrawn / funds_reinstated) or only through the final
// status; each way gives the same facts. The amounts are the dispute's own, in the payment's currency
// (a balance transaction may be in the settlement currency and includes the fee, a cost, not revenue).
func disputePart(ev *Event, d obj) (*reconcile.Part, error) {
	var a amounts
	charge := d.id("charge")
	k, rank := key(d.id("payment_intent"), charge)
	status := d.str("status")
	part := &reconcile.Part{ID: d.str("id"), Kind: reconcile.Dispute, At: ev.Created, Created: d.time("created"), Key: k, KeyRank: rank,
		Refs: refs(charge, d.id("payment_intent")), Currency: d.currency(), Amount: a.get(d, "amount"), Charge: charge, DisputeStatus: status}
	for _, bt := range d.list("balance_transactions") {
		switch amt := bt.int("amount"); {
		case amt < 0 && part.Withdrawn.IsZero():
			part.Withdrawn = createdOr(bt, ev)
		case amt > 0 && part.Reinstated.IsZero():
			part.Reinstated = createdOr(bt, ev)
		}
	}
	inquiry := strings.HasPrefix(status, "warning_")
	switch {
	case ev.Type == "charge.dispute.funds_withdrawn" && part.Withdrawn.IsZero():
		part.Withdrawn = ev.Created
	case ev.Type == "charge.dispute.funds_reinstated" && part.Reinstated.IsZero():
		part.Reinstated = ev.Created
	}
	if !inquiry && (status == "lost" || status == "won") && part.Withdrawn.IsZero() {
		part.Withdrawn = firstTime(d.time("created"), ev.Created)
	}
	if status == "won" && part.Reinstated.IsZero() {
		part.Reinstated = ev.Created
	}
	if !part.Reinstated.IsZero() && part.Withdrawn.IsZero() {
		part.Withdrawn = firstTime(d.time("created"), part.Reinstated)
	}
	return part, a.err
}

func createdOr(o obj, ev *Event) time.Time {
	if t := o.time("created"); !t.IsZero() {
		return t
	}
	return ev.Created
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// subscriptionState maps a subscription snapshot to a state of its history.
func subscriptionState(ev *Event, s obj) (id, customer string, st reconcile.SubState, err error) {
	mrr, cur := subscriptionMRR(s)
	if mrr < 0 {
		return "", "", st, fmt.Errorf("subscription %s: its MRR is negative or beyond %d minor units", s.str("id"), tributary.MaxAmountMinor)
	}
	status := s.str("status")
	if ev.Type == "customer.subscription.deleted" {
		mrr, status = 0, "canceled"
	}
	return s.str("id"), s.id("customer"), reconcile.SubState{At: ev.Created, Status: status, MRR: mrr, Currency: cur}, nil
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
		// In big integers: a price times a quantity times 52 must not wrap around int64.
		amt := new(big.Int).Mul(big.NewInt(unit), big.NewInt(q))
		amt.Mul(amt, big.NewInt(num))
		total.Add(total, new(big.Rat).SetFrac(amt, big.NewInt(den)))
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
	if total.Cmp(new(big.Rat).SetInt64(tributary.MaxAmountMinor)) > 0 || total.Sign() < 0 {
		return -1, cur // not a real subscription: subscriptionState refuses it
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

// Package stripesim plays the webhook events Stripe sends for a catalogue of payment, refund, dispute and
// subscription flows, shaped per API version, together with the ground truth of the money each flow moved.
//
// It is test support: the money core's property tests feed a flow's events (any subset, any order, any
// number of times) to a reconciler and compare its totals with Flow.Expect for the same selection of event
// types. Everything is deterministic: ids are derived from the flow, the version and a counter, and clocks
// start at fixed instants, so two calls return identical bytes.
//
// Conventions the ground truth follows:
//
//   - Gross is money captured; a payment's facts are keyed by its PaymentIntent (every simulated payment
//     has one), so the session, intent, charge, invoice and invoice_payment of one payment reveal one fact.
//   - Refunded counts refunds that are pending or succeeded at the end; failed, returned (succeeded, later
//     failed) and canceled refunds count zero. A refund object seen only in a failed state reveals both
//     the refund and its reversal, netting to zero, since the endpoint learns the refund existed.
//   - Disputed counts lost disputes; a won dispute was withdrawn and reinstated; inquiries move nothing.
//   - MRR counts subscriptions that are active or past_due, after percentage discounts, normalised to a
//     month (yearly / 12); trialing and canceled count zero. Movements are per customer: from zero is
//     new (reactivation if the customer had MRR before), to zero is churn, else expansion/contraction.
//     Flow.MRR holds the summed delta per kind, churn and contraction negative.
//   - Event objects are snapshots of the state when the event is emitted, and Event.Created increases
//     strictly along a flow. Out-of-order delivery is the caller's shuffle; refund_before_charge_event is
//     the case where Stripe itself emits a payment's refund before the charge's own events.
package stripesim

import (
	"sort"
	"strings"
	"time"
)

// Versions are the Stripe API versions simulated, oldest first. They bracket the shape changes that matter
// for money: 2022-08-01 (checkout session gains invoice), 2022-11-15 (charges stop embedding refunds,
// intents stop embedding charges), 2025-03-31.basil (invoices lose their payment references and
// invoice_payment appears, billing periods move to subscription items) and the newest GA version in
// Stripe's published OpenAPI spec at the time of writing.
var Versions = []string{
	"2020-08-27",
	"2022-08-01",
	"2022-11-15",
	"2023-10-16",
	"2024-06-20",
	"2025-03-31.basil",
	"2025-09-30.clover",
	"2026-07-29.dahlia",
}

// Event is one webhook delivery as Stripe would POST it.
type Event struct {
	ID      string    // evt_…, unique per flow and version
	Type    string    // e.g. "charge.refunded"
	Created time.Time // the event's own created stamp
	Raw     []byte    // the full event JSON
	Reveals []Fact    // money facts an endpoint learns from this event's object
}

// Fact is one piece of money knowledge. Two reveals of the same Kind and Ref describe the same money.
type Fact struct {
	Kind     string // "gross" | "refund" | "refund_reversed" | "dispute_withdrawn" | "dispute_reinstated"
	Ref      string // pi_/ch_/in_ for gross, re_ for refunds, dp_ for disputes
	Amount   int64  // positive, minor units of Currency
	Currency string // upper case
}

// Fact kinds.
const (
	KindGross             = "gross"
	KindRefund            = "refund"
	KindRefundReversed    = "refund_reversed"
	KindDisputeWithdrawn  = "dispute_withdrawn"
	KindDisputeReinstated = "dispute_reinstated"
)

// MRR movement kinds, the keys of Flow.MRR.
const (
	MRRNew          = "new"
	MRRExpansion    = "expansion"
	MRRContraction  = "contraction"
	MRRChurn        = "churn"
	MRRReactivation = "reactivation"
)

// Flow is one simulated customer story in one API version.
type Flow struct {
	Name     string
	Version  string
	Livemode bool
	Events   []Event // in the order Stripe emits them
	Truth    Totals  // what really happened to the money
	// MRR is the summed MRR delta per movement kind (contraction and churn negative), in minor units of
	// Truth.Currency; FinalMRR is the flow's MRR at its end. MRR counts subscriptions that are active or
	// past_due, after discounts, normalised to a month; trials count zero.
	MRR      map[string]int64
	FinalMRR int64
	// Visitor is the tracker's visitor id the flow's linking keys carry (metadata or
	// client_reference_id), empty for a flow that carries none.
	Visitor string
}

// Totals are money figures of one currency. Refunded and Disputed are positive amounts taken back.
type Totals struct {
	Currency string
	Gross    int64
	Refunded int64
	Disputed int64
	Payments int // distinct successful payments
}

// Types lists the distinct event types the flow emits, sorted.
func (f Flow) Types() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range f.Events {
		if !seen[e.Type] {
			seen[e.Type] = true
			out = append(out, e.Type)
		}
	}
	sort.Strings(out)
	return out
}

// Only returns the flow's events whose type is in sel, in emission order.
func (f Flow) Only(sel map[string]bool) []Event {
	var out []Event
	for _, e := range f.Events {
		if sel[e.Type] {
			out = append(out, e)
		}
	}
	return out
}

// Select turns a selection predicate (see Selections) into the set of this flow's event types it keeps.
func (f Flow) Select(pred func(eventType string) bool) map[string]bool {
	sel := map[string]bool{}
	for _, t := range f.Types() {
		if pred(t) {
			sel[t] = true
		}
	}
	return sel
}

// Expect is what an endpoint that receives only the event types in sel can know: the distinct facts (by
// Kind and Ref, the newest reveal's amount winning) revealed by at least one selected event, summed.
// Arrival order cannot matter for it: a reconciler that keeps the newest state of each object sees the same
// set of facts.
func (f Flow) Expect(sel map[string]bool) Totals {
	facts := map[string]Fact{}
	var order []string
	for _, e := range f.Events {
		if !sel[e.Type] {
			continue
		}
		for _, x := range e.Reveals {
			k := x.Kind + "|" + x.Ref
			if _, ok := facts[k]; !ok {
				order = append(order, k)
			}
			facts[k] = x
		}
	}
	t := Totals{Currency: f.Truth.Currency}
	for _, k := range order {
		x := facts[k]
		switch x.Kind {
		case KindGross:
			t.Gross += x.Amount
			t.Payments++
		case KindRefund:
			t.Refunded += x.Amount
		case KindRefundReversed:
			t.Refunded -= x.Amount
		case KindDisputeWithdrawn:
			t.Disputed += x.Amount
		case KindDisputeReinstated:
			t.Disputed -= x.Amount
		}
	}
	return t
}

// Documented is the event list docs/stripe.md tells users to select.
var Documented = []string{
	"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed", "checkout.session.expired",
	"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.processing", "payment_intent.requires_action", "payment_intent.created",
	"charge.succeeded", "charge.captured", "charge.failed", "charge.refunded", "charge.updated",
	"refund.created", "refund.updated", "refund.failed", "charge.refund.updated",
	"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed", "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
	"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed", "invoice_payment.paid",
	"customer.created", "customer.updated", "customer.deleted",
	"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted", "customer.subscription.paused", "customer.subscription.resumed", "customer.subscription.trial_will_end",
}

func setOf(types ...string) func(string) bool {
	m := map[string]bool{}
	for _, t := range types {
		m[t] = true
	}
	return func(t string) bool { return m[t] }
}

// Selections are the event-type sets worth testing: every type ("all"), the documented list, and the
// smaller sets other analytics products tell their users to select (A, B, C).
func Selections() map[string]func(eventType string) bool {
	return map[string]func(string) bool{
		"all":        func(string) bool { return true },
		"documented": setOf(Documented...),
		"A":          setOf("checkout.session.completed", "payment_intent.succeeded", "charge.refunded"),
		"B": setOf("checkout.session.completed", "invoice.payment_succeeded", "customer.subscription.updated",
			"customer.subscription.deleted", "charge.refunded"),
		"C": func(t string) bool {
			for _, p := range []string{"payment_intent.", "charge.", "refund.", "customer.subscription."} {
				if strings.HasPrefix(t, p) {
					return true
				}
			}
			return t == "invoice.payment_succeeded" || t == "invoice.payment_failed"
		},
	}
}

// Flows returns every flow of the catalogue for one API version. It panics on a version it does not know,
// because a silently empty catalogue would make a property test pass vacuously.
func Flows(version string) []Flow {
	known := false
	for _, v := range Versions {
		known = known || v == version
	}
	if !known {
		panic("stripesim: unknown API version " + version)
	}
	out := make([]Flow, 0, len(catalogue))
	for _, c := range catalogue {
		s := newSim(c.name, version, c.live)
		c.play(s)
		out = append(out, s.flow())
	}
	return out
}

// Names lists the flows of the catalogue in order.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, c := range catalogue {
		out[i] = c.name
	}
	return out
}

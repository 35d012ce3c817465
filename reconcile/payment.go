// Package reconcile is Tributary's provider-neutral money core. A payment is the union of every provider
// object that describes the same money (a checkout session, a payment intent, its charges, an invoice, an
// invoice payment, refunds and disputes); each object is kept as a Part in its newest known state. The
// payment's target figures (gross, refunded, disputed, failed attempts) are derived from the parts, and
// the difference between the targets and what the ledger already holds is appended as new entries with
// deterministic ids. So the ledger is a function of what the provider says, not of the order, the
// multiplicity or the subset of events that told it. Subscriptions work the same way: MRR movements are
// derived from the ordered history of each subscription's states.
//
// Adapters (stripe/, later Paddle, Lemon Squeezy, Polar) map their objects into Parts and SubStates; this
// package knows nothing of any provider's payload.
package reconcile

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// Kind is what a part is to its payment.
type Kind string

// Part kinds.
const (
	Order          Kind = "order"           // a checkout session or order: proves money only once paid
	Intent         Kind = "intent"          // a payment intent: the payment's identity where there is one
	Charge         Kind = "charge"          // one attempt to move money: the most direct evidence
	Invoice        Kind = "invoice"         // an invoice: its amount paid
	InvoicePayment Kind = "invoice_payment" // the join of an invoice and the intent or charge that paid it
	Refund         Kind = "refund"          // one refund of a charge
	Dispute        Kind = "dispute"         // one dispute of a charge
)

// evidence ranks how directly a kind's paid amount measures money collected: the gross is taken from
// the most direct kind that claims any.
func (k Kind) evidence() int {
	switch k {
	case Charge:
		return 5
	case Intent:
		return 4
	case InvoicePayment:
		return 3
	case Invoice:
		return 2
	case Order:
		return 1
	}
	return 0
}

// Key ranks: a payment is keyed by the strongest identity any of its parts names.
const (
	KeyOrder   = 0 // a checkout session alone
	KeyInvoice = 1 // an invoice whose payment is not named
	KeyCharge  = 2 // a charge without an intent (legacy)
	KeyIntent  = 3 // a payment intent
)

// Part is the newest known state of one provider object that describes (part of) a payment's money.
type Part struct {
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// At is when the provider stamped this state (the event's time); a newer state replaces an older one.
	At      time.Time `json:"at"`
	Created time.Time `json:"created"`
	// Key is the payment identity this object names (its intent, else its charge, else its invoice or
	// order) with its rank; Refs are every other object id it names that describes the same money.
	Key      string   `json:"key"`
	KeyRank  int      `json:"key_rank"`
	Refs     []string `json:"refs,omitempty"`
	Currency string   `json:"currency,omitempty"`

	// Paid is the money the object says was collected (captured, received, paid), 0 when it proves none.
	Paid int64 `json:"paid,omitempty"`
	// Failed is the amount of a failed attempt (a charge).
	Failed int64 `json:"failed,omitempty"`
	// Refunded is a charge's cumulative refunded amount as of At.
	Refunded int64 `json:"refunded,omitempty"`
	// Amount is a refund's or a dispute's amount.
	Amount int64 `json:"amount,omitempty"`
	// Active: a refund that stands (succeeded or pending); failed, canceled and returned ones do not.
	Active bool `json:"active,omitempty"`
	// Charge is the charge a refund or dispute belongs to.
	Charge string `json:"charge,omitempty"`
	// Withdrawn and Reinstated are when a dispute took and returned funds (zero: not seen). They only
	// ever become known, so states merge by keeping the earliest time seen.
	Withdrawn  time.Time `json:"withdrawn,omitzero"`
	Reinstated time.Time `json:"reinstated,omitzero"`

	// Descriptions: not money, merged into the payment record and used to link it to a visitor.
	Customer          string            `json:"customer,omitempty"`
	Email             string            `json:"email,omitempty"`
	ClientReferenceID string            `json:"client_reference_id,omitempty"`
	Subscription      string            `json:"subscription,omitempty"`
	Invoice           string            `json:"invoice,omitempty"`
	Product           string            `json:"product,omitempty"`
	BillingReason     string            `json:"billing_reason,omitempty"`
	DisputeStatus     string            `json:"dispute_status,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
}

// ids returns every id that joins this part to a payment.
func (p *Part) ids() []string {
	out := make([]string, 0, len(p.Refs)+2)
	out = append(out, p.ID)
	if p.Key != "" && p.Key != p.ID {
		out = append(out, p.Key)
	}
	for _, r := range p.Refs {
		if r != "" && r != p.ID && r != p.Key {
			out = append(out, r)
		}
	}
	return out
}

// newer reports whether q is a state at least as new as p (ties go to the later arrival, which is
// harmless: two states stamped in the same second describe the same money).
func (q *Part) newer(p *Part) bool { return !q.At.Before(p.At) }

// mergeSticky carries facts that only ever become known from the older state o into q.
func (q *Part) mergeSticky(o *Part) {
	if !o.Withdrawn.IsZero() && (q.Withdrawn.IsZero() || o.Withdrawn.Before(q.Withdrawn)) {
		q.Withdrawn = o.Withdrawn
	}
	if !o.Reinstated.IsZero() && (q.Reinstated.IsZero() || o.Reinstated.Before(q.Reinstated)) {
		q.Reinstated = o.Reinstated
	}
	if q.Created.IsZero() {
		q.Created = o.Created
	}
}

// Payment is one payment: the union of its parts, keyed by the strongest identity seen when it was
// first recorded. A payment found to describe the same money as another is merged into the stronger
// one (MergedInto); its own entries are then reversed, so each key's ledger nets to what it stands for.
type Payment struct {
	Key        string           `json:"key"`
	KeyRank    int              `json:"key_rank"`
	Livemode   bool             `json:"livemode"`
	Parts      map[string]*Part `json:"parts"`
	MergedInto string           `json:"merged_into,omitempty"`
	// Linked is what the payment was last linked with (its linking inputs), so a redelivery that
	// changes none of them costs no link lookups.
	Linked string `json:"linked,omitempty"`
}

// Put keeps part p in its newest state; it reports whether anything changed.
func (pay *Payment) Put(p *Part) bool {
	if pay.Parts == nil {
		pay.Parts = map[string]*Part{}
	}
	old := pay.Parts[p.ID]
	if old == nil {
		pay.Parts[p.ID] = p
		return true
	}
	if !p.newer(old) {
		before := *old
		old.mergeSticky(p)
		return old.Withdrawn != before.Withdrawn || old.Reinstated != before.Reinstated
	}
	p.mergeSticky(old)
	pay.Parts[p.ID] = p
	return true
}

// Component is one target figure of a payment: the amount the ledger should hold under one entry id
// stem, in one currency.
type Component struct {
	Stem     string    // entry id stem, e.g. "pay:pi_1", "refund:re_1", "refund:ch_1:total"
	Kind     string    // ledger entry kind
	Amount   int64     // signed, minor units
	Currency string    // upper case
	At       time.Time // when the money moved
}

// Figures are a payment's derived totals, for its record.
type Figures struct {
	Gross, Refunded, Disputed, Failed int64
	Currency                          string
	PaidAt                            time.Time
	DisputeStatus                     string
}

// parts returns the parts in a stable order (by kind, then id), so derivation is deterministic.
func (pay *Payment) sortedParts() []*Part {
	out := make([]*Part, 0, len(pay.Parts))
	for _, p := range pay.Parts {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Targets derives the ledger components of the payment from its parts. A payment merged into another
// has no targets of its own.
func (pay *Payment) Targets() ([]Component, Figures) {
	var f Figures
	if pay.MergedInto != "" {
		return nil, f
	}
	parts := pay.sortedParts()
	var comps []Component

	// Gross: from the most direct kind of evidence that claims money. Charges add up (a payment may be
	// captured by one charge after others failed); every other kind states the payment's total.
	best := 0
	for _, p := range parts {
		if p.Paid > 0 && p.Kind.evidence() > best {
			best = p.Kind.evidence()
		}
	}
	if best > 0 {
		var at time.Time
		byCur := map[string]int64{}
		for _, p := range parts {
			if p.Paid <= 0 || p.Kind.evidence() != best {
				continue
			}
			if best == Charge.evidence() {
				byCur[p.Currency] += p.Paid
			} else if byCur[p.Currency] < p.Paid {
				byCur[p.Currency] = p.Paid
			}
			if t := p.Created; !t.IsZero() && (at.IsZero() || t.Before(at)) {
				at = t
			}
			if at.IsZero() {
				at = p.At
			}
		}
		for _, cur := range sortedKeys(byCur) {
			comps = append(comps, Component{Stem: "pay:" + pay.Key, Kind: tributary.EntryPayment, Amount: byCur[cur], Currency: cur, At: at})
			if f.Currency == "" {
				f.Currency = cur
			}
			f.Gross += byCur[cur]
		}
		f.PaidAt = at
	}

	// Refunds: each refund object stands for itself; a charge's cumulative amount_refunded adds only
	// what its known refunds do not explain (newer API versions send the charge without its refunds,
	// and an endpoint may receive only charge.refunded). A refund counted in the charge's figure is one
	// created at or before the charge's state that had not failed by then.
	for _, p := range parts {
		if p.Kind == Refund && p.Active && p.Amount > 0 {
			comps = append(comps, Component{Stem: "refund:" + p.ID, Kind: tributary.EntryRefund, Amount: -p.Amount, Currency: p.Currency, At: firstTime(p.Created, p.At)})
			f.Refunded += p.Amount
		}
	}
	for _, c := range parts {
		if c.Kind != Charge || c.Refunded <= 0 {
			continue
		}
		explained := int64(0)
		for _, r := range parts {
			if r.Kind != Refund || r.Charge != c.ID || r.Amount <= 0 {
				continue
			}
			created := firstTime(r.Created, r.At)
			if created.After(c.At) {
				continue
			}
			if r.Active || r.At.After(c.At) {
				explained += r.Amount
			}
		}
		if rest := c.Refunded - explained; rest > 0 {
			comps = append(comps, Component{Stem: "refund:" + c.ID + ":total", Kind: tributary.EntryRefund, Amount: -rest, Currency: c.Currency, At: c.At})
			f.Refunded += rest
		}
	}

	// Disputes: funds withdrawn once and, when the dispute is won, reinstated once.
	for _, p := range parts {
		if p.Kind != Dispute {
			continue
		}
		if p.DisputeStatus != "" {
			f.DisputeStatus = p.DisputeStatus
		}
		if p.Amount <= 0 {
			continue
		}
		if !p.Withdrawn.IsZero() {
			comps = append(comps, Component{Stem: "dispute_withdrawn:" + p.ID, Kind: tributary.EntryDisputeWithdrawn, Amount: -p.Amount, Currency: p.Currency, At: p.Withdrawn})
			f.Disputed += p.Amount
		}
		if !p.Reinstated.IsZero() {
			comps = append(comps, Component{Stem: "dispute_reinstated:" + p.ID, Kind: tributary.EntryDisputeReinstated, Amount: p.Amount, Currency: p.Currency, At: p.Reinstated})
			f.Disputed -= p.Amount
		}
	}

	// Failed attempts: recorded, never revenue.
	for _, p := range parts {
		if p.Kind == Charge && p.Failed > 0 {
			comps = append(comps, Component{Stem: "fail:" + p.ID, Kind: tributary.EntryPaymentFailed, Amount: p.Failed, Currency: p.Currency, At: firstTime(p.Created, p.At)})
			f.Failed += p.Failed
			if f.Currency == "" {
				f.Currency = p.Currency
			}
		}
	}
	if f.Currency == "" {
		for _, p := range parts {
			if p.Currency != "" {
				f.Currency = p.Currency
				break
			}
		}
	}
	return comps, f
}

// Describe merges the parts' descriptions (non-empty values of more direct parts win) into a payment
// record; figures come from Targets.
func (pay *Payment) Describe(rec *tributary.Payment, f Figures) {
	parts := pay.sortedParts()
	// Less direct parts first, so a charge's e-mail overrides a session's, metadata of every part merges.
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].Kind.evidence() < parts[j].Kind.evidence() })
	if rec.Metadata == nil {
		rec.Metadata = map[string]string{}
	}
	for _, p := range parts {
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&rec.CustomerID, p.Customer)
		set(&rec.Email, strings.ToLower(p.Email))
		set(&rec.ClientReferenceID, p.ClientReferenceID)
		set(&rec.SubscriptionID, p.Subscription)
		set(&rec.Product, p.Product)
		set(&rec.BillingReason, p.BillingReason)
		switch p.Kind {
		case Invoice:
			set(&rec.InvoiceID, p.ID)
		case Order:
			set(&rec.CheckoutSessionID, p.ID)
		case Charge:
			if p.Paid > 0 || rec.ChargeID == "" {
				rec.ChargeID = p.ID
			}
		default:
			set(&rec.InvoiceID, p.Invoice)
		}
		if p.Kind == Refund || p.Kind == Dispute {
			set(&rec.ChargeID, p.Charge)
		}
		for k, v := range p.Metadata {
			if v != "" {
				rec.Metadata[k] = v
			}
		}
	}
	rec.ID, rec.Livemode = pay.Key, pay.Livemode
	rec.Amount, rec.Refunded, rec.Currency = f.Gross, f.Refunded, firstNonEmpty(f.Currency, rec.Currency)
	rec.DisputeStatus = firstNonEmpty(f.DisputeStatus, rec.DisputeStatus)
	if !f.PaidAt.IsZero() {
		rec.Created = f.PaidAt
	} else if rec.Created.IsZero() {
		for _, p := range parts {
			if t := firstTime(p.Created, p.At); !t.IsZero() && (rec.Created.IsZero() || t.Before(rec.Created)) {
				rec.Created = t
			}
		}
	}
	switch {
	case pay.MergedInto != "":
		rec.Status = tributary.PaymentMerged
		rec.Amount, rec.Refunded = 0, 0
	case f.Gross == 0 && f.Failed > 0:
		rec.Status = tributary.PaymentFailed
	case f.Gross == 0:
		rec.Status = tributary.PaymentPending
	case f.Disputed != 0 || rec.DisputeStatus == "lost" || rec.DisputeStatus == "needs_response" || rec.DisputeStatus == "under_review":
		rec.Status = tributary.PaymentDisputed
	case f.Refunded >= f.Gross:
		rec.Status = tributary.PaymentRefunded
	case f.Refunded > 0:
		rec.Status = tributary.PaymentPartiallyRefunded
	default:
		rec.Status = tributary.PaymentSucceeded
	}
}

// Stem returns the component an entry id belongs to: ids are the stem for the first entry and
// stem#n for later differences; "refund_failed:re_…" is the reversal id of earlier releases.
func Stem(id string) string {
	if i := strings.LastIndexByte(id, '#'); i > 0 {
		id = id[:i]
	}
	if rest, ok := strings.CutPrefix(id, "refund_failed:"); ok {
		return "refund:" + rest
	}
	return id
}

// Diff returns the entries to append so that held (the payment's entries already in the ledger) sums
// to the targets, per component and currency. New ids are deterministic: the stem for a component's
// first entry, stem#n after n held entries. A held component with no target is reversed.
func Diff(paymentID string, targets []Component, held []tributary.LedgerEntry) []tributary.LedgerEntry {
	type key struct{ stem, cur string }
	want := map[key]Component{}
	for _, c := range targets {
		k := key{c.Stem, c.Currency}
		if w, ok := want[k]; ok {
			w.Amount += c.Amount
			want[k] = w
			continue
		}
		want[k] = c
	}
	have := map[key]int64{}
	count := map[string]int{}
	last := map[key]tributary.LedgerEntry{}
	for _, e := range held {
		k := key{Stem(e.ID), strings.ToUpper(e.Currency)}
		have[k] += e.Amount
		count[k.stem]++
		last[k] = e
	}
	keys := make([]key, 0, len(want)+len(have))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].stem != keys[j].stem {
			return keys[i].stem < keys[j].stem
		}
		return keys[i].cur < keys[j].cur
	})
	var out []tributary.LedgerEntry
	for _, k := range keys {
		w, ok := want[k]
		d := w.Amount - have[k]
		if d == 0 {
			continue
		}
		e := tributary.LedgerEntry{PaymentID: paymentID, Currency: k.cur, Amount: d}
		if ok {
			e.Kind, e.OccurredAt = w.Kind, w.At
		} else {
			// A reversal of money no longer derived (a merged payment, a failed refund): dated with the
			// entry it reverses, so it lands in the same period.
			l := last[k]
			e.Kind, e.OccurredAt = l.Kind, l.OccurredAt
		}
		e.ID = k.stem
		if n := count[k.stem]; n > 0 {
			e.ID = k.stem + "#" + strconv.Itoa(n)
		}
		count[k.stem]++
		out = append(out, e)
	}
	return out
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package stripesim

import (
	"bytes"
	"strings"
	"time"
)

// diff is Stripe's previous_attributes: the old value of every key that changed, recursing into nested
// objects so that a list's unchanged total_count or an item's unchanged id is left out.
func diff(old, cur jmap) jmap {
	out := jmap{}
	for k, ov := range old {
		nv, ok := cur[k]
		if !ok {
			out[k] = ov
			continue
		}
		om, oIsM := ov.(jmap)
		nm, nIsM := nv.(jmap)
		if oIsM && nIsM {
			if d := diff(om, nm); len(d) > 0 {
				out[k] = d
			}
			continue
		}
		if !bytes.Equal(compact(ov), compact(nv)) {
			out[k] = ov
		}
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			out[k] = nil
		}
	}
	return out
}

// visitorID is the flow's one visitor: every linking key of a flow names the same person.
func (s *sim) visitorID() string {
	if s.visitor == "" {
		s.visitor = s.rand(20)
	}
	return s.visitor
}

// visitorMeta is the metadata the docs tell merchants to set, with a fresh session each time.
func (s *sim) visitorMeta() map[string]string {
	return map[string]string{"tributary_visitor_id": s.visitorID(), "tributary_session_id": s.rand(20)}
}

func (s *sim) newCustomer(name string, m map[string]string) *customer {
	c := &customer{id: s.id("cus"), name: name, created: s.now, meta: m,
		email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}
	s.emit("customer.created", s.customerObj(c), nil, false)
	return c
}

func (s *sim) newPayment(amount int64, cur, pmType string, m map[string]string, cust *customer) *payment {
	p := &payment{pi: s.id("pi"), amount: amount, cur: cur, pmType: pmType, meta: m, cust: cust,
		status: "requires_payment_method", capture: "automatic", created: s.now, pm: s.id("pm")}
	s.payOf[p.pi] = p
	s.payments = append(s.payments, p)
	return p
}

func (s *sim) addCharge(p *payment, status string) *charge {
	c := &charge{id: s.id("ch"), status: status, amount: p.amount, created: s.now}
	if status == "succeeded" {
		c.isCapt, c.captured, c.txn = true, p.amount, s.id("txn")
	}
	if status == "failed" {
		c.failure = "insufficient_funds"
		p.lastErr = "insufficient_funds"
	}
	p.charges = append(p.charges, c)
	s.payOf[c.id] = p
	return c
}

// payCard confirms an intent with a card that succeeds: Stripe emits the charge before the intent.
func (s *sim) payCard(p *payment) {
	s.tick(3)
	c := s.addCharge(p, "succeeded")
	p.status, p.received, p.lastErr = "succeeded", p.amount, ""
	s.emit("charge.succeeded", s.chargeObj(p, c), nil, false)
	s.emit("payment_intent.succeeded", s.intentObj(p), nil, false)
}

func (s *sim) newSession(mode, cur string, m map[string]string, cref, plink string, pmTypes ...string) *session {
	prefix := "cs_live"
	if !s.live {
		prefix = "cs_test"
	}
	if len(pmTypes) == 0 {
		pmTypes = []string{"card"}
	}
	cs := &session{id: s.id(prefix), mode: mode, cur: cur, meta: m, cref: cref, plink: plink,
		status: "open", paymentStatus: "unpaid", created: s.now, expires: s.now + 86400, pmTypes: pmTypes}
	s.tick(95) // the buyer fills in the form
	return cs
}

func (s *sim) completeSession(cs *session, typ string) {
	cs.status = "complete"
	s.emit(typ, s.sessionObj(cs), nil, false)
}

// checkoutPayment is a one-time Checkout payment by card, the session's metadata copied to the intent as
// payment_intent_data.metadata does.
func (s *sim) checkoutPayment(amount int64, cur string, m map[string]string, cref, plink string) (*session, *payment) {
	cs := s.newSession("payment", cur, m, cref, plink)
	cs.amountSubtotal, cs.amountTotal = amount, amount
	p := s.newPayment(amount, cur, "card", m, nil)
	s.payOf[cs.id] = p
	cs.p = p
	s.emit("payment_intent.created", s.intentObj(p), nil, false)
	s.payCard(p)
	cs.paymentStatus = "paid"
	s.completeSession(cs, "checkout.session.completed")
	return cs, p
}

// bareIntent is a PaymentIntent created and confirmed by the merchant's server, no Checkout.
func (s *sim) bareIntent(amount int64, cur string, m map[string]string) *payment {
	p := s.newPayment(amount, cur, "card", m, nil)
	p.desc = "Order " + s.rand(6)
	s.emit("payment_intent.created", s.intentObj(p), nil, true)
	s.payCard(p)
	return p
}

func (s *sim) chargeRefunded(p *payment, c *charge, old jmap) {
	cur := s.chargeObj(p, c)
	s.emit("charge.refunded", cur, diff(old, cur), true)
}

// refund creates a refund through the API; Stripe answers with charge.refunded and refund.created.
func (s *sim) refund(p *payment, amount int64, status string) *refund {
	c := p.current()
	s.tick(1)
	old := s.chargeObj(p, c)
	r := &refund{id: s.id("re"), p: p, ch: c.id, amount: amount, status: status, created: s.now,
		reason: "requested_by_customer", txn: s.id("txn")}
	p.refunds = append(p.refunds, r)
	s.chargeRefunded(p, c, old)
	s.emit("refund.created", s.refundObj(r), nil, true)
	return r
}

// refundStatus moves a refund to a new status: failed (bank rejected it, also after it had succeeded,
// which is how a returned refund shows), canceled, or succeeded (a pending one settling).
func (s *sim) refundStatus(r *refund, status, failure string) {
	old := s.refundObj(r)
	r.status, r.failure = status, failure
	if status == "failed" {
		r.failTxn = s.id("txn")
	}
	cur := s.refundObj(r)
	prev := diff(old, cur)
	if status == "failed" {
		s.emit("refund.failed", cur, nil, false)
	}
	s.emit("refund.updated", cur, prev, status == "canceled")
	s.emit("charge.refund.updated", cur, prev, status == "canceled")
}

func (s *sim) disputeOpen(p *payment, reason string, inquiry bool) *dispute {
	c := p.current()
	// A cardholder can only dispute what was not refunded already.
	d := &dispute{id: s.id("dp"), p: p, ch: c.id, amount: p.received - p.refunded(), status: "needs_response",
		created: s.now, reason: reason}
	p.disputes = append(p.disputes, d)
	if inquiry {
		d.status = "warning_needs_response"
		s.emit("charge.dispute.created", s.disputeObj(d), nil, false)
		return d
	}
	d.txns = append(d.txns, s.btObj(s.id("txn"), -d.amount, 1500, p.cur, "Chargeback withdrawal for "+c.id, "dispute", d.id))
	s.emit("charge.dispute.created", s.disputeObj(d), nil, false)
	s.emit("charge.dispute.funds_withdrawn", s.disputeObj(d), nil, false)
	return d
}

func (s *sim) disputeEvidence(d *dispute) {
	s.tick(5 * 86400)
	old := s.disputeObj(d)
	d.subs++
	if strings.HasPrefix(d.status, "warning_") {
		d.status = "warning_under_review"
	} else {
		d.status = "under_review"
	}
	cur := s.disputeObj(d)
	s.emit("charge.dispute.updated", cur, diff(old, cur), true)
}

func (s *sim) disputeClose(d *dispute, won bool) {
	s.tick(40 * 86400)
	old := s.disputeObj(d)
	switch {
	case strings.HasPrefix(d.status, "warning_"):
		d.status = "warning_closed"
	case won:
		d.status = "won"
		d.txns = append(d.txns, s.btObj(s.id("txn"), d.amount, 0, d.p.cur, "Chargeback reversal for "+d.ch, "dispute_reversal", d.id))
	default:
		d.status = "lost"
	}
	cur := s.disputeObj(d)
	s.emit("charge.dispute.closed", cur, diff(old, cur), false)
	if d.status == "won" {
		s.emit("charge.dispute.funds_reinstated", cur, nil, false)
	}
}

// Subscriptions.

func (s *sim) newPrice(unit int64, cur, interval string, count int64, nickname string) *price {
	return &price{id: s.id("price"), product: s.id("prod"), nickname: nickname, unit: unit, cur: cur,
		interval: interval, count: count, created: s.now - 90*86400}
}

func addInterval(t int64, p *price) int64 {
	tm := time.Unix(t, 0).UTC()
	switch p.interval {
	case "year":
		return tm.AddDate(int(p.count), 0, 0).Unix()
	case "week":
		return tm.AddDate(0, 0, 7*int(p.count)).Unix()
	case "day":
		return tm.AddDate(0, 0, int(p.count)).Unix()
	}
	return tm.AddDate(0, int(p.count), 0).Unix()
}

func (s *sim) newSubscription(cust *customer, pr *price, qty int64, m map[string]string) *subscription {
	sub := &subscription{id: s.id("sub"), cust: cust, status: "incomplete", created: s.now, start: s.now,
		periodStart: s.now, meta: m}
	sub.items = []*item{{id: s.id("si"), price: pr, qty: qty, created: s.now}}
	sub.periodEnd = addInterval(s.now, pr)
	s.subs = append(s.subs, sub)
	return sub
}

func (s *sim) subUpdated(sub *subscription, old jmap, req bool) {
	cur := s.subscriptionObj(sub)
	s.emit("customer.subscription.updated", cur, diff(old, cur), req)
	s.track(sub)
}

func (s *sim) subLines(sub *subscription) []*line {
	var ls []*line
	for _, it := range sub.items {
		ls = append(ls, &line{id: s.id("il"), amount: it.price.unit * it.qty, price: it.price, qty: it.qty,
			item: it, start: sub.periodStart, end: sub.periodEnd,
			desc: itoa(it.qty) + " × " + it.price.nickname + " (at " + money(it.price.unit, it.price.cur) + " / " + it.price.interval + ")"})
	}
	return ls
}

func money(v int64, cur string) string {
	return strings.ToUpper(cur) + " " + itoa(v)
}

func (s *sim) newInvoice(sub *subscription, reason string, lines []*line) *invoice {
	in := &invoice{id: s.id("in"), sub: sub, cust: sub.cust, cur: sub.items[0].price.cur, lines: lines,
		status: "draft", reason: reason, created: s.now, periodStart: sub.periodStart, periodEnd: sub.periodEnd,
		number: strings.ToUpper(sub.cust.id[len(sub.cust.id)-8:]) + "-" + itoa(int64(len(s.payments)+1))}
	if sub.coupon != nil {
		in.coupon = sub.coupon
	}
	return in
}

// collect finalizes an invoice and collects it by card: a first attempt that fails when failFirst (the
// subscription goes past_due and Smart Retries succeed three days later on the same intent).
func (s *sim) collect(in *invoice, draftDelay int64, failFirst bool, onPaid func()) {
	s.collectWith(in, draftDelay, failFirst, onPaid, nil)
}

// collectWith is collect for an invoice whose payment, when prepaid is set, was taken before the invoice
// existed (basil's Checkout subscriptions).
func (s *sim) collectWith(in *invoice, draftDelay int64, failFirst bool, onPaid func(), prepaid *payment) {
	if prepaid != nil {
		s.linkPayment(in, prepaid)
	}
	s.emit("invoice.created", s.invoiceObj(in), nil, false)
	s.tick(draftDelay)
	in.status, in.finalizedAt = "open", s.now
	s.emit("invoice.finalized", s.invoiceObj(in), nil, false)
	if in.total() == 0 {
		in.status, in.paidAt = "paid", s.now
		s.emit("invoice.paid", s.invoiceObj(in), nil, false)
		s.emit("invoice.payment_succeeded", s.invoiceObj(in), nil, false)
		if onPaid != nil {
			onPaid()
		}
		return
	}
	p := prepaid
	if p == nil {
		p = s.newPayment(in.total(), in.cur, "card", nil, in.cust)
		p.desc = map[string]string{"subscription_create": "Subscription creation"}[in.reason]
		if p.desc == "" {
			p.desc = "Subscription update"
		}
		s.linkPayment(in, p)
		s.emit("payment_intent.created", s.intentObj(p), nil, false)
	}
	if failFirst {
		s.tick(2)
		c := s.addCharge(p, "failed")
		in.attempts = 1
		in.nextAttempt = s.now + 3*86400
		s.emit("charge.failed", s.chargeObj(p, c), nil, false)
		s.emit("payment_intent.payment_failed", s.intentObj(p), nil, false)
		s.emit("invoice.payment_failed", s.invoiceObj(in), nil, false)
		old := s.subscriptionObj(in.sub)
		in.sub.status = "past_due"
		s.subUpdated(in.sub, old, false)
		s.tick(3 * 86400)
	}
	in.attempts++
	in.nextAttempt = 0
	if prepaid == nil {
		s.payCard(p)
	}
	in.status, in.paidAt = "paid", s.now
	s.emit("invoice.paid", s.invoiceObj(in), nil, false)
	s.emit("invoice.payment_succeeded", s.invoiceObj(in), nil, false)
	if s.basil() {
		s.emit("invoice_payment.paid", s.invoicePaymentObj(in), nil, false)
	}
	if onPaid != nil {
		onPaid()
	}
	if failFirst {
		old := s.subscriptionObj(in.sub)
		in.sub.status = "active"
		s.subUpdated(in.sub, old, false)
	}
}

func (s *sim) linkPayment(in *invoice, p *payment) {
	p.inv, in.pay = in, p
	s.payOf[in.id] = p
	if s.basil() {
		in.ipay, in.ipayCreated = s.id("inpay"), s.now
		s.payOf[in.ipay] = p
	}
}

// checkoutSubscription is a Checkout Session in subscription mode. Before basil the subscription starts
// incomplete and turns active once its first invoice is paid; from basil on the payment comes first. The
// session completes last either way.
func (s *sim) checkoutSubscription(name string, pr *price, qty int64, m map[string]string) (*session, *subscription) {
	cs := s.newSession("subscription", pr.cur, m, "", "")
	cs.amountSubtotal, cs.amountTotal = pr.unit*qty, pr.unit*qty
	cust := s.newCustomer(name, nil)
	cs.cust = cust
	sub := s.newSubscription(cust, pr, qty, m)
	cs.sub = sub
	in := s.newInvoice(sub, "subscription_create", s.subLines(sub))
	sub.latestInvoice = in.id
	cs.inv = in
	if s.basil() {
		// Basil takes the payment first and creates the subscription and its invoice once the session
		// completes: the subscription is never seen incomplete and the intent never names the invoice.
		p := s.newPayment(in.total(), in.cur, "card", nil, cust)
		p.desc = "Subscription creation"
		s.emit("payment_intent.created", s.intentObj(p), nil, false)
		s.payCard(p)
		sub.status = "active"
		s.emit("customer.subscription.created", s.subscriptionObj(sub), nil, false)
		s.track(sub)
		in.created = s.now
		s.collectWith(in, 0, false, nil, p)
	} else {
		s.emit("customer.subscription.created", s.subscriptionObj(sub), nil, false)
		s.collect(in, 0, false, func() {
			old := s.subscriptionObj(sub)
			sub.status = "active"
			s.subUpdated(sub, old, false)
		})
	}
	if in.pay != nil {
		s.payOf[cs.id] = in.pay
	}
	// Checkout saves the card as the customer's default for invoices.
	old := s.customerObj(cust)
	cust.defaultPM = in.pay.pm
	cur := s.customerObj(cust)
	s.emit("customer.updated", cur, diff(old, cur), false)
	cs.paymentStatus = "paid"
	s.completeSession(cs, "checkout.session.completed")
	return cs, sub
}

// renew moves a subscription into its next period and collects the renewal invoice, with any prorations
// left pending by an earlier plan change.
func (s *sim) renew(sub *subscription, pending []*line, failFirst bool) *invoice {
	if up := sub.periodEnd - 7*86400; up > s.now && sub.status != "trialing" {
		// The upcoming-invoice preview has no id and moves no money, but endpoints receive it.
		s.now = up
		next := &subscription{}
		*next = *sub
		next.periodStart, next.periodEnd = sub.periodEnd, addInterval(sub.periodEnd, sub.items[0].price)
		preview := s.newInvoice(next, "upcoming", append(append([]*line{}, pending...), s.subLines(next)...))
		o := s.invoiceObj(preview)
		delete(o, "id")
		o["created"] = s.now
		s.emit("invoice.upcoming", o, nil, false)
	}
	if s.now < sub.periodEnd {
		s.now = sub.periodEnd
	}
	old := s.subscriptionObj(sub)
	sub.periodStart = sub.periodEnd
	sub.periodEnd = addInterval(sub.periodStart, sub.items[0].price)
	if sub.coupon != nil && sub.coupon.end != 0 && sub.coupon.end <= s.now {
		sub.coupon = nil
	}
	if sub.status == "trialing" {
		sub.status = "active"
	}
	in := s.newInvoice(sub, "subscription_cycle", append(pending, s.subLines(sub)...))
	sub.latestInvoice = in.id
	s.subUpdated(sub, old, false)
	s.collect(in, 3600, failFirst, nil)
	return in
}

// changePlan swaps the subscription's price halfway through the period. Prorations are invoiced at once
// (proration_behavior always_invoice) when invoiceNow, else left for the next renewal (create_prorations),
// which this returns.
func (s *sim) changePlan(sub *subscription, pr *price, invoiceNow bool) []*line {
	return s.changeItem(sub, pr, sub.items[0].qty, invoiceNow)
}

// changeItem swaps the price and quantity of the subscription's item halfway through the period.
func (s *sim) changeItem(sub *subscription, pr *price, qty int64, invoiceNow bool) []*line {
	mid := sub.periodStart + (sub.periodEnd-sub.periodStart)/2
	if s.now < mid {
		s.now = mid
	}
	old := s.subscriptionObj(sub)
	it := sub.items[0]
	oldPrice := it.price
	sub.items[0] = &item{id: it.id, price: pr, qty: qty, created: it.created}
	lines := []*line{
		{id: s.id("il"), amount: -oldPrice.unit * it.qty / 2, price: oldPrice, qty: it.qty, proration: true,
			start: s.now, end: sub.periodEnd, ii: s.id("ii"), desc: "Unused time on " + oldPrice.nickname},
		{id: s.id("il"), amount: pr.unit * qty / 2, price: pr, qty: qty, proration: true,
			start: s.now, end: sub.periodEnd, ii: s.id("ii"), desc: "Remaining time on " + pr.nickname},
	}
	if invoiceNow {
		in := s.newInvoice(sub, "subscription_update", lines)
		sub.latestInvoice = in.id
		s.subUpdated(sub, old, true)
		s.collect(in, 0, false, nil)
		return nil
	}
	s.subUpdated(sub, old, true)
	return lines
}

func (s *sim) cancelAtPeriodEnd(sub *subscription) {
	s.tick(86400)
	old := s.subscriptionObj(sub)
	sub.cancelAtPeriodEnd, sub.cancelAt, sub.canceledAt = true, sub.periodEnd, s.now
	s.subUpdated(sub, old, true)
}

func (s *sim) endSubscription(sub *subscription) {
	if s.now < sub.periodEnd {
		s.now = sub.periodEnd
	}
	sub.status, sub.endedAt = "canceled", s.now
	s.emit("customer.subscription.deleted", s.subscriptionObj(sub), nil, false)
	s.track(sub)
}

// apiSubscription is a subscription the merchant's server creates for an existing customer
// (payment_behavior default_incomplete): incomplete until its first invoice is paid.
func (s *sim) apiSubscription(cust *customer, pr *price, qty int64, m map[string]string) *subscription {
	sub := s.newSubscription(cust, pr, qty, m)
	in := s.newInvoice(sub, "subscription_create", s.subLines(sub))
	sub.latestInvoice = in.id
	s.emit("customer.subscription.created", s.subscriptionObj(sub), nil, true)
	s.collect(in, 0, false, func() {
		old := s.subscriptionObj(sub)
		sub.status = "active"
		s.subUpdated(sub, old, false)
	})
	return sub
}

// cancelNow ends a subscription at once (the customer asked for a refund and left).
func (s *sim) cancelNow(sub *subscription) {
	s.tick(600)
	sub.status, sub.endedAt, sub.canceledAt = "canceled", s.now, s.now
	s.emit("customer.subscription.deleted", s.subscriptionObj(sub), nil, true)
	s.track(sub)
}

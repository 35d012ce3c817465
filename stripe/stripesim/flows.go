package stripesim

type entry struct {
	name string
	live bool
	play func(*sim)
}

// catalogue lists the flows. Amounts are minor units of the flow's currency.
var catalogue = []entry{
	{"checkout_metadata", true, func(s *sim) {
		s.checkoutPayment(4900, "usd", s.visitorMeta(), "", "")
	}},
	{"checkout_metadata_testmode", false, func(s *sim) {
		s.checkoutPayment(4900, "usd", s.visitorMeta(), "", "")
	}},
	{"payment_link_client_reference", true, func(s *sim) {
		cref := "trib-" + s.visitorID() + "-" + s.rand(20)
		s.checkoutPayment(2500, "usd", nil, cref, s.id("plink"))
	}},
	{"bare_payment_intent", true, func(s *sim) {
		// The short aliases DESIGN §4 accepts, as a hand-written server integration might use them.
		s.bareIntent(15000, "usd", map[string]string{"visitor_id": s.visitorID(), "session_id": s.rand(20)})
	}},
	{"repeat_customer", true, func(s *sim) {
		// The first purchase carries the visitor and creates a customer; the second, a month later from
		// the merchant's server, names only the customer.
		cust := s.newCustomer("Ida Rhodes", nil)
		cs := s.newSession("payment", "usd", s.visitorMeta(), "", "")
		cs.cust = cust
		cs.amountSubtotal, cs.amountTotal = 5900, 5900
		p := s.newPayment(5900, "usd", "card", cs.meta, cust)
		s.payOf[cs.id], cs.p = p, p
		s.emit("payment_intent.created", s.intentObj(p), nil, false)
		s.payCard(p)
		cs.paymentStatus = "paid"
		s.completeSession(cs, "checkout.session.completed")
		s.tick(30 * 86400)
		again := s.newPayment(2400, "usd", "card", nil, cust)
		again.desc = "Refill"
		s.emit("payment_intent.created", s.intentObj(again), nil, true)
		s.payCard(again)
	}},
	{"unattributed_payment", true, func(s *sim) {
		s.checkoutPayment(3900, "usd", nil, "", "")
	}},
	{"refund_partial", true, func(s *sim) {
		_, p := s.checkoutPayment(10000, "usd", s.visitorMeta(), "", "")
		s.tick(2 * 86400)
		s.refund(p, 2000, "succeeded")
	}},
	{"refund_partial_multiple", true, func(s *sim) {
		_, p := s.checkoutPayment(10000, "usd", s.visitorMeta(), "", "")
		for _, amt := range []int64{1000, 1500, 2500} {
			s.tick(86400)
			s.refund(p, amt, "succeeded")
		}
	}},
	{"refund_full", true, func(s *sim) {
		_, p := s.checkoutPayment(7900, "usd", s.visitorMeta(), "", "")
		s.tick(3600)
		s.refund(p, 7900, "succeeded")
	}},
	{"refund_before_charge_event", true, func(s *sim) {
		// The charge's own events lag behind the intent's and the refund's: the stream shows the refund
		// before any charge.* event of its payment.
		p := s.newPayment(6000, "usd", "card", s.visitorMeta(), nil)
		s.emit("payment_intent.created", s.intentObj(p), nil, true)
		s.tick(3)
		c := s.addCharge(p, "succeeded")
		p.status, p.received = "succeeded", p.amount
		s.emit("payment_intent.succeeded", s.intentObj(p), nil, false)
		s.tick(20)
		r := &refund{id: s.id("re"), p: p, ch: c.id, amount: 6000, status: "succeeded", created: s.now,
			reason: "duplicate", txn: s.id("txn")}
		p.refunds = append(p.refunds, r)
		s.emit("refund.created", s.refundObj(r), nil, true)
		s.tick(40)
		s.emit("charge.succeeded", s.chargeObj(p, c), nil, false)
		s.emit("charge.refunded", s.chargeObj(p, c), jmap{"amount_refunded": int64(0), "refunded": false}, true)
	}},
	{"refund_failed", true, func(s *sim) {
		_, p := s.checkoutPayment(5000, "usd", s.visitorMeta(), "", "")
		s.tick(86400)
		r := s.refund(p, 3000, "pending")
		s.tick(4 * 86400)
		s.refundStatus(r, "failed", "expired_or_canceled_card")
	}},
	{"refund_returned", true, func(s *sim) {
		_, p := s.checkoutPayment(5000, "usd", s.visitorMeta(), "", "")
		s.tick(86400)
		r := s.refund(p, 5000, "succeeded")
		s.tick(9 * 86400)
		s.refundStatus(r, "failed", "lost_or_stolen_card")
	}},
	{"refund_canceled", true, func(s *sim) {
		_, p := s.checkoutPayment(5000, "usd", s.visitorMeta(), "", "")
		s.tick(86400)
		s.refund(p, 1000, "succeeded")
		s.tick(3600)
		r := s.refund(p, 2000, "pending")
		s.tick(3600)
		s.refundStatus(r, "canceled", "")
	}},
	{"dispute_lost", true, func(s *sim) {
		_, p := s.checkoutPayment(8900, "usd", s.visitorMeta(), "", "")
		s.tick(12 * 86400)
		d := s.disputeOpen(p, "fraudulent", false)
		s.disputeEvidence(d)
		s.disputeClose(d, false)
	}},
	{"dispute_won", true, func(s *sim) {
		_, p := s.checkoutPayment(8900, "usd", s.visitorMeta(), "", "")
		s.tick(12 * 86400)
		d := s.disputeOpen(p, "product_not_received", false)
		s.disputeEvidence(d)
		s.disputeClose(d, true)
	}},
	{"refund_then_dispute_lost", true, func(s *sim) {
		_, p := s.checkoutPayment(8900, "usd", s.visitorMeta(), "", "")
		s.tick(3 * 86400)
		s.refund(p, 2000, "succeeded")
		s.tick(10 * 86400)
		d := s.disputeOpen(p, "product_unacceptable", false)
		s.disputeEvidence(d)
		s.disputeClose(d, false)
	}},
	{"dispute_inquiry", true, func(s *sim) {
		_, p := s.checkoutPayment(8900, "usd", s.visitorMeta(), "", "")
		s.tick(12 * 86400)
		d := s.disputeOpen(p, "fraudulent", true)
		s.disputeEvidence(d)
		s.disputeClose(d, true)
	}},
	{"subscription_checkout_renewals", true, func(s *sim) {
		pr := s.newPrice(2900, "usd", "month", 1, "Pro monthly")
		_, sub := s.checkoutSubscription("Ada Lovelace", pr, 1, s.visitorMeta())
		s.renew(sub, nil, false)
		s.renew(sub, nil, false)
	}},
	{"subscription_upgrade_proration", true, func(s *sim) {
		basic := s.newPrice(4000, "usd", "month", 1, "Team")
		pro := s.newPrice(10000, "usd", "month", 1, "Business")
		_, sub := s.checkoutSubscription("Grace Hopper", basic, 1, s.visitorMeta())
		s.changePlan(sub, pro, true)
		s.renew(sub, nil, false)
	}},
	{"subscription_downgrade", true, func(s *sim) {
		basic := s.newPrice(4000, "usd", "month", 1, "Team")
		pro := s.newPrice(10000, "usd", "month", 1, "Business")
		_, sub := s.checkoutSubscription("Alan Turing", pro, 1, s.visitorMeta())
		pending := s.changePlan(sub, basic, false)
		s.renew(sub, pending, false)
	}},
	{"subscription_cancel", true, func(s *sim) {
		pr := s.newPrice(2900, "usd", "month", 1, "Pro monthly")
		_, sub := s.checkoutSubscription("Edsger Dijkstra", pr, 1, s.visitorMeta())
		s.renew(sub, nil, false)
		s.cancelAtPeriodEnd(sub)
		s.endSubscription(sub)
	}},
	{"subscription_reactivation", true, func(s *sim) {
		// The customer churns, then subscribes again on a dearer plan three weeks later.
		pr := s.newPrice(2900, "usd", "month", 1, "Pro monthly")
		_, sub := s.checkoutSubscription("Radia Perlman", pr, 1, s.visitorMeta())
		s.cancelAtPeriodEnd(sub)
		s.endSubscription(sub)
		s.tick(21 * 86400)
		s.apiSubscription(sub.cust, s.newPrice(4900, "usd", "month", 1, "Business monthly"), 1, s.visitorMeta())
	}},
	{"subscription_failed_renewal_retried", true, func(s *sim) {
		pr := s.newPrice(2900, "usd", "month", 1, "Pro monthly")
		_, sub := s.checkoutSubscription("Barbara Liskov", pr, 1, s.visitorMeta())
		s.renew(sub, nil, true)
	}},
	{"subscription_trial", true, func(s *sim) {
		// Created by the merchant's server with a 14-day trial, seats as quantity.
		pr := s.newPrice(1000, "usd", "month", 1, "Seat")
		cust := s.newCustomer("Katherine Johnson", s.visitorMeta())
		sub := s.newSubscription(cust, pr, 3, s.visitorMeta())
		sub.status, sub.trialStart, sub.trialEnd = "trialing", s.now, s.now+14*86400
		sub.periodEnd = sub.trialEnd
		lines := s.subLines(sub)
		for _, l := range lines {
			l.amount, l.desc = 0, "Trial period for Seat"
		}
		in := s.newInvoice(sub, "subscription_create", lines)
		sub.latestInvoice = in.id
		s.emit("customer.subscription.created", s.subscriptionObj(sub), nil, true)
		s.collect(in, 0, false, nil)
		s.now = sub.trialEnd - 3*86400
		s.emit("customer.subscription.trial_will_end", s.subscriptionObj(sub), nil, false)
		s.renew(sub, nil, false)
	}},
	{"subscription_yearly", true, func(s *sim) {
		pr := s.newPrice(120000, "usd", "year", 1, "Pro yearly")
		s.checkoutSubscription("Donald Knuth", pr, 1, s.visitorMeta())
	}},
	{"subscription_quarterly", true, func(s *sim) {
		pr := s.newPrice(9000, "usd", "month", 3, "Pro quarterly")
		_, sub := s.checkoutSubscription("Leslie Lamport", pr, 1, s.visitorMeta())
		s.renew(sub, nil, false)
	}},
	{"subscription_seats_added", true, func(s *sim) {
		pr := s.newPrice(1200, "usd", "month", 1, "Seat")
		_, sub := s.checkoutSubscription("Margaret Hamilton", pr, 3, s.visitorMeta())
		s.changeItem(sub, pr, 5, true)
		s.renew(sub, nil, false)
	}},
	{"subscription_refunded_and_canceled", true, func(s *sim) {
		pr := s.newPrice(4900, "usd", "month", 1, "Business monthly")
		_, sub := s.checkoutSubscription("John Backus", pr, 1, s.visitorMeta())
		s.tick(2 * 86400)
		s.refund(s.payments[0], 4900, "succeeded")
		s.cancelNow(sub)
	}},
	{"subscription_100_off_invoice", true, func(s *sim) {
		// A one-month 100% coupon: the first invoice is $0 (no payment), the second is charged in full.
		pr := s.newPrice(2900, "usd", "month", 1, "Pro monthly")
		cust := s.newCustomer("Frances Allen", nil)
		sub := s.newSubscription(cust, pr, 1, s.visitorMeta())
		sub.status = "active"
		sub.coupon = &coupon{id: "LAUNCH100", percent: 100, duration: "repeating", months: 1,
			created: s.now - 86400, start: s.now, end: sub.periodEnd, disc: "di_1Tb" + s.rand(21)}
		in := s.newInvoice(sub, "subscription_create", s.subLines(sub))
		sub.latestInvoice = in.id
		s.emit("customer.subscription.created", s.subscriptionObj(sub), nil, true)
		s.track(sub)
		s.collect(in, 0, false, nil)
		s.renew(sub, nil, false)
	}},
	{"checkout_expired", true, func(s *sim) {
		// An abandoned Checkout: since 2022-08-01 no intent exists before the buyer confirms, and the
		// session expires a day later.
		cs := s.newSession("payment", "usd", s.visitorMeta(), "", "")
		cs.amountSubtotal, cs.amountTotal = 4900, 4900
		s.now = cs.expires
		cs.status = "expired"
		s.emit("checkout.session.expired", s.sessionObj(cs), nil, false)
	}},
	{"checkout_100_off", true, func(s *sim) {
		cs := s.newSession("payment", "usd", s.visitorMeta(), "", "")
		cs.amountSubtotal, cs.amountTotal, cs.discount = 5000, 0, 5000
		cs.paymentStatus = "no_payment_required"
		s.completeSession(cs, "checkout.session.completed")
	}},
	{"async_payment_succeeded", true, func(s *sim) {
		s.asyncCheckout(25000, "usd", "us_bank_account", true)
	}},
	{"async_payment_failed", true, func(s *sim) {
		s.cur = "eur"
		s.asyncCheckout(25000, "eur", "sepa_debit", false)
	}},
	{"partial_capture", true, func(s *sim) {
		p := s.newPayment(10000, "usd", "card", s.visitorMeta(), nil)
		p.capture = "manual"
		s.emit("payment_intent.created", s.intentObj(p), nil, true)
		s.tick(3)
		c := &charge{id: s.id("ch"), status: "succeeded", amount: p.amount, created: s.now}
		p.charges = append(p.charges, c)
		s.payOf[c.id] = p
		p.status = "requires_capture"
		s.emit("charge.succeeded", s.chargeObj(p, c), nil, false)
		s.emit("payment_intent.amount_capturable_updated", s.intentObj(p), nil, false)
		s.tick(86400)
		old := s.chargeObj(p, c)
		c.isCapt, c.captured, c.txn = true, 6000, s.id("txn")
		p.status, p.received = "succeeded", 6000
		cur := s.chargeObj(p, c)
		s.emit("charge.captured", cur, diff(old, cur), true)
		s.emit("payment_intent.succeeded", s.intentObj(p), nil, false)
	}},
	{"zero_decimal_jpy", true, func(s *sim) {
		s.cur = "jpy"
		_, p := s.checkoutPayment(4980, "jpy", s.visitorMeta(), "", "")
		s.tick(86400)
		s.refund(p, 980, "succeeded")
	}},
	{"three_decimal_bhd", true, func(s *sim) {
		// Stripe wants the last digit of BHD/KWD/JOD/OMR/TND amounts to be 0 for card payments.
		s.cur = "bhd"
		_, p := s.checkoutPayment(12340, "bhd", s.visitorMeta(), "", "")
		s.tick(86400)
		s.refund(p, 2340, "succeeded")
	}},
	{"three_decimal_kwd", true, func(s *sim) {
		s.cur = "kwd"
		s.bareIntent(45670, "kwd", s.visitorMeta())
	}},
	{"foreign_currency_eur", true, func(s *sim) {
		s.cur = "eur"
		s.checkoutPayment(4900, "eur", s.visitorMeta(), "", "")
	}},
}

// asyncCheckout is a Checkout payment by bank debit: the session completes unpaid while the debit is
// processing and settles or fails days later.
func (s *sim) asyncCheckout(amount int64, cur, pmType string, succeed bool) {
	cs := s.newSession("payment", cur, s.visitorMeta(), "", "", pmType)
	cs.amountSubtotal, cs.amountTotal = amount, amount
	p := s.newPayment(amount, cur, pmType, cs.meta, nil)
	s.payOf[cs.id] = p
	cs.p = p
	s.emit("payment_intent.created", s.intentObj(p), nil, false)
	s.tick(3)
	c := &charge{id: s.id("ch"), status: "pending", amount: amount, created: s.now}
	p.charges = append(p.charges, c)
	s.payOf[c.id] = p
	p.status = "processing"
	s.emit("charge.pending", s.chargeObj(p, c), nil, false)
	s.emit("payment_intent.processing", s.intentObj(p), nil, false)
	s.completeSession(cs, "checkout.session.completed")
	s.tick(4 * 86400)
	if succeed {
		c.status, c.isCapt, c.captured, c.txn = "succeeded", true, amount, s.id("txn")
		p.status, p.received = "succeeded", amount
		s.emit("charge.succeeded", s.chargeObj(p, c), nil, false)
		s.emit("payment_intent.succeeded", s.intentObj(p), nil, false)
		cs.paymentStatus = "paid"
		s.emit("checkout.session.async_payment_succeeded", s.sessionObj(cs), nil, false)
		return
	}
	c.status, c.failure = "failed", "insufficient_funds"
	p.status, p.lastErr = "requires_payment_method", "insufficient_funds"
	s.emit("charge.failed", s.chargeObj(p, c), nil, false)
	s.emit("payment_intent.payment_failed", s.intentObj(p), nil, false)
	s.emit("checkout.session.async_payment_failed", s.sessionObj(cs), nil, false)
}

package e2e

import (
	"testing"
	"time"
)

// ids names every Stripe object of one payment after its person.
func ids(name string) pay {
	return pay{intent: "pi_E2E" + name, charge: "ch_E2E" + name, session: "cs_E2E" + name}
}

// The plans of the two subscriptions.
var (
	planPro      = plan{price: "price_E2EProEUR", product: "prod_E2EPro", unitAmount: 3000, currency: "EUR"}
	planBusiness = plan{price: "price_E2EBusinessEUR", product: "prod_E2EBusiness", unitAmount: 5000, currency: "EUR"}
	planStarter  = plan{price: "price_E2EStarterUSD", product: "prod_E2EStarter", unitAmount: 2000, currency: "USD"}
	planLite     = plan{price: "price_E2ELiteUSD", product: "prod_E2ELite", unitAmount: 1000, currency: "USD"}
)

// sendPayments sends the Stripe side of the scenario in the order Stripe could send it, each delivery handled
// before the next is sent.
func sendPayments(t *testing.T, st *stripeAccount) {
	t.Helper()
	sec := time.Second

	// P1 alice: Checkout in payment mode; her site copies the tracker's ids into the session metadata.
	// The 2020-08-27 session has no "created"; the charge and the intent arrive first, as they do.
	p1 := ids("Alice")
	p1.customer, p1.email, p1.amount, p1.currency, p1.at = "cus_E2EAlice", "alice@example.com", 11999, "EUR", day(11, 3, 10, 5)
	p1.metadata = object{"tributary_visitor_id": "VAlice", "tributary_session_id": "SAlice3", "order": "A-1001"}
	c1 := st.charge(fxCharge2020, p1)
	st.deliver(fxCharge2020, "charge.succeeded", p1.at.Add(sec), c1, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", p1.at.Add(2*sec), st.intent(fxIntent2020, p1, c1), nil)
	st.deliver(fxSession2020, "checkout.session.completed", p1.at.Add(3*sec), st.session(fxSession2020, p1), nil)

	// P2 bob: a Payment Link (buy.stripe.com) the tracker decorated with client_reference_id
	// "trib-<visitor>-<session>"; no customer object. The session comes first this time.
	p2 := ids("Bob")
	p2.email, p2.amount, p2.currency, p2.at = "bob@example.com", 4900, "USD", day(11, 6, 9, 10)
	p2.clientRef, p2.paymentLink = "trib-VBob-SBob2", "plink_E2EBob"
	c2 := st.charge(fxChargeSupabase, p2)
	st.deliver(fxSessionNew, "checkout.session.completed", p2.at.Add(sec), st.session(fxSessionNew, p2), nil)
	st.deliver(fxChargeSupabase, "charge.succeeded", p2.at.Add(2*sec), c2, nil)
	st.deliver(fxIntentSupabase, "payment_intent.succeeded", p2.at.Add(3*sec), st.intent(fxIntentSupabase, p2, c2), nil)
	// Partial refund of USD 19.00 on 11-10: the charge with the refund embedded, and the refund itself.
	r2 := st.refund(p2, "re_E2EBob", 1900, day(11, 10, 12, 0))
	st.deliver(fxChargeRefunded, "charge.refunded", day(11, 10, 12, 0).Add(sec), st.refundedCharge(p2, r2, 1900),
		object{"amount_refunded": 0, "refunded": false, "refunds": object{"data": []any{}, "total_count": 0}})
	st.deliver(fxRefundCreated, "refund.created", day(11, 10, 12, 0).Add(2*sec), r2, nil)

	// P3 carol: her backend charges a saved card (no Checkout, no metadata); the customer is new, so the
	// payment can only be linked by the e-mail she identified with.
	p3 := ids("Carol")
	p3.customer, p3.email, p3.amount, p3.currency, p3.at = "cus_E2ECarol", "Carol@Example.com", 8000, "EUR", day(11, 8, 14, 30)
	c3 := st.charge(fxCharge2020, p3)
	st.deliver(fxIntent2020, "payment_intent.succeeded", p3.at.Add(sec), st.intent(fxIntent2020, p3, c3), nil)
	st.deliver(fxCharge2020, "charge.succeeded", p3.at.Add(2*sec), c3, nil)

	// P4 dave: Checkout with the short metadata aliases; later disputed and lost.
	p4 := ids("Dave")
	p4.customer, p4.email, p4.amount, p4.currency, p4.at = "cus_E2EDave", "dave@example.com", 6000, "EUR", day(11, 10, 16, 0)
	p4.metadata = object{"visitor_id": "VDave", "session_id": "SDave2"}
	c4 := st.charge(fxCharge2020, p4)
	st.deliver(fxCharge2020, "charge.succeeded", p4.at.Add(sec), c4, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", p4.at.Add(2*sec), st.intent(fxIntent2020, p4, c4), nil)
	st.deliver(fxSession2020, "checkout.session.completed", p4.at.Add(3*sec), st.session(fxSession2020, p4), nil)
	opened := day(11, 15, 9, 0)
	st.deliver(fxDisputeCreated, "charge.dispute.created", opened, st.dispute(fxDisputeCreated, p4, "dp_E2EDave", opened, "needs_response", false), nil)
	st.deliver(fxDisputeWithdrawn, "charge.dispute.funds_withdrawn", opened.Add(time.Minute),
		st.dispute(fxDisputeWithdrawn, p4, "dp_E2EDave", opened, "needs_response", true), nil)
	st.deliver(fxDisputeClosed, "charge.dispute.closed", day(11, 19, 9, 0), st.dispute(fxDisputeClosed, p4, "dp_E2EDave", opened, "lost", true),
		object{"status": "needs_response"})

	// P5 emi: JPY, a zero-decimal currency: 12,500 is 12500 minor units.
	p5 := ids("Emi")
	p5.customer, p5.email, p5.amount, p5.currency, p5.at = "cus_E2EEmi", "emi@example.jp", 12500, "JPY", day(11, 12, 11, 0)
	p5.metadata = object{"tributary_visitor_id": "VEmi"}
	c5 := st.charge(fxCharge2020, p5)
	st.deliver(fxCharge2020, "charge.succeeded", p5.at.Add(sec), c5, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", p5.at.Add(2*sec), st.intent(fxIntent2020, p5, c5), nil)
	st.deliver(fxSession2020, "checkout.session.completed", p5.at.Add(3*sec), st.session(fxSession2020, p5), nil)

	// P6 farah: BHD, a three-decimal currency: 12.345 is 12345 fils; paid on a Saturday.
	p6 := ids("Farah")
	p6.customer, p6.email, p6.amount, p6.currency, p6.at = "cus_E2EFarah", "farah@example.bh", 12345, "BHD", day(11, 14, 9, 0)
	p6.metadata = object{"tributary_visitor_id": "VFarah", "tributary_session_id": "SFarah1"}
	c6 := st.charge(fxCharge2020, p6)
	st.deliver(fxCharge2020, "charge.succeeded", p6.at.Add(sec), c6, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", p6.at.Add(2*sec), st.intent(fxIntent2020, p6, c6), nil)
	st.deliver(fxSession2020, "checkout.session.completed", p6.at.Add(3*sec), st.session(fxSession2020, p6), nil)

	// P7 ivy: GBP, for which no rate was imported: stored, but unconverted.
	p7 := ids("Ivy")
	p7.customer, p7.email, p7.amount, p7.currency, p7.at = "cus_E2EIvy", "ivy@example.co.uk", 2500, "GBP", day(11, 16, 12, 0)
	c7 := st.charge(fxCharge2020, p7)
	st.deliver(fxCharge2020, "charge.succeeded", p7.at.Add(sec), c7, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", p7.at.Add(2*sec), st.intent(fxIntent2020, p7, c7), nil)

	// S1 greta: Checkout in subscription mode (EUR 30/month, metadata on the session), renewed on
	// 11-05 (linked through her Stripe customer), upgraded to EUR 50/month on 11-10.
	s1 := sub{id: "sub_E2EGreta", item: "si_E2EGreta", customer: "cus_E2EGreta", created: day(10, 5, 9, 58)}
	s1a := ids("GretaCreate")
	s1a.invoice = "in_E2EGretaCreate"
	s1a.customer, s1a.email, s1a.amount, s1a.currency, s1a.at, s1a.subscription = s1.customer, "greta@example.com", 3000, "EUR", day(10, 5, 10, 0), s1.id
	s1a.metadata = object{"tributary_visitor_id": "VGreta", "tributary_session_id": "SGreta2"}
	st.deliver(fxSubCreated2020, "customer.subscription.created", s1.created, st.subscription(fxSubCreated2020, s1, planPro, "active", s1.created, time.Time{}), nil)
	st.deliver(fxSessionNew, "checkout.session.completed", s1a.at.Add(sec), st.session(fxSessionNew, s1a), nil)
	st.deliver(fxInvoicePaid2020, "invoice.paid", s1a.at.Add(2*sec), st.invoice(fxInvoicePaid2020, s1a, planPro, "subscription_create", s1.created), nil)
	cs1a := st.charge(fxCharge2020, s1a)
	st.deliver(fxCharge2020, "charge.succeeded", s1a.at.Add(3*sec), cs1a, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", s1a.at.Add(4*sec), st.intent(fxIntent2020, s1a, cs1a), nil)

	renew1 := day(11, 5, 9, 58)
	s1b := ids("GretaRenew")
	s1b.invoice = "in_E2EGretaRenew"
	s1b.customer, s1b.email, s1b.amount, s1b.currency, s1b.at, s1b.subscription = s1.customer, "greta@example.com", 3000, "EUR", day(11, 5, 10, 0), s1.id
	st.deliver(fxSubUpdated2020, "customer.subscription.updated", renew1, st.subscription(fxSubUpdated2020, s1, planPro, "active", renew1, time.Time{}),
		object{"current_period_start": unix(s1.created), "current_period_end": unix(renew1), "latest_invoice": s1a.invoice})
	st.deliver(fxInvoicePaid2020, "invoice.paid", s1b.at.Add(sec), st.invoice(fxInvoicePaid2020, s1b, planPro, "subscription_cycle", renew1), nil)
	cs1b := st.charge(fxCharge2020, s1b)
	st.deliver(fxCharge2020, "charge.succeeded", s1b.at.Add(2*sec), cs1b, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", s1b.at.Add(3*sec), st.intent(fxIntent2020, s1b, cs1b), nil)

	upgrade := day(11, 10, 10, 0)
	prevPrice, prevPlan := st.priceAndPlan(planPro)
	st.deliver(fxSubUpdated2020, "customer.subscription.updated", upgrade, st.subscription(fxSubUpdated2020, s1, planBusiness, "active", renew1, time.Time{}),
		object{"items": object{"object": "list", "data": []any{object{"id": s1.item, "object": "subscription_item", "price": prevPrice, "plan": prevPlan, "quantity": 1}}},
			"plan": prevPlan})

	// S2 hugo: USD 20/month from 10-12 (metadata with the visitor only), renewed 11-12, downgraded to
	// USD 10/month on 11-13, cancelled on 11-18.
	s2 := sub{id: "sub_E2EHugo", item: "si_E2EHugo", customer: "cus_E2EHugo", created: day(10, 12, 8, 28)}
	s2a := ids("HugoCreate")
	s2a.invoice = "in_E2EHugoCreate"
	s2a.customer, s2a.email, s2a.amount, s2a.currency, s2a.at, s2a.subscription = s2.customer, "hugo@example.com", 2000, "USD", day(10, 12, 8, 30), s2.id
	s2a.metadata = object{"tributary_visitor_id": "VHugo"}
	st.deliver(fxSubCreated2020, "customer.subscription.created", s2.created, st.subscription(fxSubCreated2020, s2, planStarter, "active", s2.created, time.Time{}), nil)
	cs2a := st.charge(fxCharge2020, s2a)
	st.deliver(fxCharge2020, "charge.succeeded", s2a.at.Add(sec), cs2a, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", s2a.at.Add(2*sec), st.intent(fxIntent2020, s2a, cs2a), nil)
	st.deliver(fxInvoicePaid2020, "invoice.paid", s2a.at.Add(3*sec), st.invoice(fxInvoicePaid2020, s2a, planStarter, "subscription_create", s2.created), nil)
	st.deliver(fxSessionNew, "checkout.session.completed", s2a.at.Add(4*sec), st.session(fxSessionNew, s2a), nil)

	renew2 := day(11, 12, 8, 28)
	s2b := ids("HugoRenew")
	s2b.invoice = "in_E2EHugoRenew"
	s2b.customer, s2b.email, s2b.amount, s2b.currency, s2b.at, s2b.subscription = s2.customer, "hugo@example.com", 2000, "USD", day(11, 12, 8, 30), s2.id
	st.deliver(fxSubUpdated2020, "customer.subscription.updated", renew2, st.subscription(fxSubUpdated2020, s2, planStarter, "active", renew2, time.Time{}),
		object{"current_period_start": unix(s2.created), "current_period_end": unix(renew2), "latest_invoice": s2a.invoice})
	st.deliver(fxInvoicePaid2020, "invoice.paid", s2b.at.Add(sec), st.invoice(fxInvoicePaid2020, s2b, planStarter, "subscription_cycle", renew2), nil)
	cs2b := st.charge(fxCharge2020, s2b)
	st.deliver(fxCharge2020, "charge.succeeded", s2b.at.Add(2*sec), cs2b, nil)
	st.deliver(fxIntent2020, "payment_intent.succeeded", s2b.at.Add(3*sec), st.intent(fxIntent2020, s2b, cs2b), nil)

	downgrade := day(11, 13, 9, 0)
	prevPrice, prevPlan = st.priceAndPlan(planStarter)
	st.deliver(fxSubUpdated2020, "customer.subscription.updated", downgrade, st.subscription(fxSubUpdated2020, s2, planLite, "active", renew2, time.Time{}),
		object{"items": object{"object": "list", "data": []any{object{"id": s2.item, "object": "subscription_item", "price": prevPrice, "plan": prevPlan, "quantity": 1}}},
			"plan": prevPlan})
	cancelled := day(11, 18, 9, 0)
	st.deliver(fxSubDeleted2020, "customer.subscription.deleted", cancelled, st.subscription(fxSubDeleted2020, s2, planLite, "canceled", renew2, cancelled),
		object{"status": "active", "ended_at": nil, "canceled_at": nil})
}

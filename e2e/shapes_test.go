package e2e

import (
	"testing"
	"time"
)

// TestStripeRecordedShapes sends payments whose objects keep shapes the scenario avoids — recorded
// payloads that older API versions or other integrations send — and checks that the money and the
// link come out the same. Each case has its own site on one server.
func TestStripeRecordedShapes(t *testing.T) {
	s := startServer(t)
	newSite := func(domain string) (string, *stripeAccount) {
		var site struct {
			ID string `json:"id"`
		}
		s.api("POST", "/api/v1/sites", map[string]any{"domain": domain, "currency": "EUR", "timezone": "UTC"}, 201, &site)
		return site.ID, s.connectStripe(site.ID, "whsec_e2e_shapes_secret_0001")
	}
	byChannel := func(site string) map[string][]string {
		return s.query(map[string]any{"site_id": site, "metrics": []string{"revenue", "disputes", "payments"}, "dimensions": []string{"visit:channel"},
			"date_range": []string{"2026-11-01", "2026-11-20"}, "attribution": map[string]any{"model": "last_touch"}}).rows()
	}

	t.Run("subscription checkout without invoice field", func(t *testing.T) {
		// pay-rails' recorded subscription-mode session (2022) names the subscription but has no
		// "invoice" field (newer versions have one). The visitor came from Bing on 11-02 at 10:00 and
		// subscribed at 10:30 for EUR 30.00: the session's metadata links the first invoice's payment to
		// that visit, so last touch credits Organic Search with 30.00, linked by metadata.
		site, st := newSite("subs.example")
		s.track(site, hit{at: day(11, 2, 10, 0), visitor: "VSub", session: "SSub1", url: "https://subs.example/pricing", referrer: "https://www.bing.com/"})
		waitFor(t, "the visit", func() bool {
			return len(s.query(map[string]any{"site_id": site, "metrics": []string{"visits"}, "date_range": "all"}).rows()[""]) == 1
		})
		sb := sub{id: "sub_E2EShapeSub", item: "si_E2EShapeSub", customer: "cus_E2EShapeSub", created: day(11, 2, 10, 28)}
		p := ids("ShapeSub")
		p.invoice, p.subscription, p.customer, p.email, p.amount, p.currency, p.at = "in_E2EShapeSub", sb.id, sb.customer, "sub@example.com", 3000, "EUR", day(11, 2, 10, 30)
		p.metadata = object{"tributary_visitor_id": "VSub", "tributary_session_id": "SSub1"}
		st.deliver(fxSubCreated2020, "customer.subscription.created", sb.created, st.subscription(fxSubCreated2020, sb, planPro, "active", sb.created, time.Time{}), nil)
		st.deliver(fxSessionPayRails, "checkout.session.completed", p.at, st.session(fxSessionPayRails, p), nil)
		st.deliver(fxInvoicePaid2020, "invoice.paid", p.at.Add(time.Second), st.invoice(fxInvoicePaid2020, p, planPro, "subscription_create", sb.created), nil)
		c := st.charge(fxCharge2020, p)
		st.deliver(fxCharge2020, "charge.succeeded", p.at.Add(2*time.Second), c, nil)
		st.deliver(fxIntent2020, "payment_intent.succeeded", p.at.Add(3*time.Second), st.intent(fxIntent2020, p, c), nil)

		methods := s.query(map[string]any{"site_id": site, "metrics": []string{"revenue"}, "dimensions": []string{"payment:link_method"},
			"date_range": []string{"2026-11-01", "2026-11-20"}}).rows()
		if d := diffRows(methods, map[string][]string{"metadata": {eur(3000)}}); d != "" {
			t.Errorf("revenue by link method:%s", d)
		}
		if d := diffRows(byChannel(site), map[string][]string{"Organic Search": {eur(3000), eur(0), "1"}}); d != "" {
			t.Errorf("revenue by channel:%s", d)
		}
	})

	t.Run("checkout session without created, first", func(t *testing.T) {
		// stripe-ruby-mock's 2020-08-27 session has no "created". Delivered before its charge it must
		// still yield the payment of 11-03 (EUR 25.00 credited to the referral visit of 09:00).
		site, st := newSite("early.example")
		s.track(site, hit{at: day(11, 3, 9, 0), visitor: "VEarly", session: "SEarly1", url: "https://early.example/", referrer: "https://blog.example.org/post"})
		waitFor(t, "the visit", func() bool {
			return len(s.query(map[string]any{"site_id": site, "metrics": []string{"visits"}, "date_range": "all"}).rows()[""]) == 1
		})
		p := ids("ShapeEarly")
		p.customer, p.email, p.amount, p.currency, p.at = "cus_E2EShapeEarly", "early@example.com", 2500, "EUR", day(11, 3, 9, 30)
		p.metadata = object{"tributary_visitor_id": "VEarly", "tributary_session_id": "SEarly1"}
		c := st.charge(fxCharge2020, p)
		st.deliver(fxSession2020, "checkout.session.completed", p.at.Add(time.Second), st.session(fxSession2020, p), nil)
		st.deliver(fxCharge2020, "charge.succeeded", p.at.Add(2*time.Second), c, nil)
		st.deliver(fxIntent2020, "payment_intent.succeeded", p.at.Add(3*time.Second), st.intent(fxIntent2020, p, c), nil)

		if d := diffRows(byChannel(site), map[string][]string{"Referral": {eur(2500), eur(0), "1"}}); d != "" {
			t.Errorf("revenue by channel:%s", d)
		}
		days := s.query(map[string]any{"site_id": site, "metrics": []string{"revenue"}, "dimensions": []string{"time:day"}, "date_range": []string{"2026-11-03", "2026-11-03"}}).rows()
		if d := diffRows(days, map[string][]string{"2026-11-03 00:00:00": {eur(2500)}}); d != "" {
			t.Errorf("revenue of 11-03:%s", d)
		}
	})

	t.Run("dispute funds withdrawn without balance transactions", func(t *testing.T) {
		// supabase's recorded charge.dispute.funds_withdrawn carries "balance_transactions": [];
		// the closing event of the lost dispute lists the withdrawal. The EUR 40.00 were taken once.
		site, st := newSite("dispute.example")
		s.track(site, hit{at: day(11, 4, 9, 0), visitor: "VDisp", session: "SDisp1", url: "https://dispute.example/", referrer: "https://www.facebook.com/"})
		waitFor(t, "the visit", func() bool {
			return len(s.query(map[string]any{"site_id": site, "metrics": []string{"visits"}, "date_range": "all"}).rows()[""]) == 1
		})
		p := ids("ShapeDisp")
		p.customer, p.email, p.amount, p.currency, p.at = "cus_E2EShapeDisp", "disp@example.com", 4000, "EUR", day(11, 4, 9, 30)
		p.metadata = object{"tributary_visitor_id": "VDisp"}
		c := st.charge(fxCharge2020, p)
		st.deliver(fxCharge2020, "charge.succeeded", p.at.Add(time.Second), c, nil)
		st.deliver(fxIntent2020, "payment_intent.succeeded", p.at.Add(2*time.Second), st.intent(fxIntent2020, p, c), nil)
		st.deliver(fxSession2020, "checkout.session.completed", p.at.Add(3*time.Second), st.session(fxSession2020, p), nil)
		opened := day(11, 9, 9, 0)
		st.deliver(fxDisputeCreated, "charge.dispute.created", opened, st.dispute(fxDisputeCreated, p, "dp_E2EShapeDisp", opened, "needs_response", false), nil)
		st.deliver(fxDisputeWithdrawn, "charge.dispute.funds_withdrawn", opened.Add(time.Minute),
			st.dispute(fxDisputeWithdrawn, p, "dp_E2EShapeDisp", opened, "needs_response", false), nil)
		st.deliver(fxDisputeClosed, "charge.dispute.closed", day(11, 16, 9, 0), st.dispute(fxDisputeClosed, p, "dp_E2EShapeDisp", opened, "lost", true),
			object{"status": "needs_response"})

		if d := diffRows(byChannel(site), map[string][]string{"Organic Social": {eur(4000), eur(4000), "1"}}); d != "" {
			t.Errorf("revenue and disputes by channel:%s", d)
		}
	})
}

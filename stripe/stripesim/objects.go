package stripesim

// Renderers: each turns simulated state into the object Stripe returns in the simulated API version. Field
// sets follow the recorded fixtures of each era (stripe-ruby-mock and pay-rails for 2020-08-27, the
// OpenAPI fixtures for the newest version); see testdata/SOURCE.md.

func nz(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nzs(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func meta(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (s *sim) list(url string, data []jmap) jmap {
	if data == nil {
		data = []jmap{}
	}
	l := jmap{"object": "list", "data": data, "has_more": false, "url": url}
	if !s.basil() {
		// Basil dropped total_count from lists.
		l["total_count"] = len(data)
	}
	return l
}

func (s *sim) customerObj(c *customer) jmap {
	return jmap{
		"id": c.id, "object": "customer", "address": nil, "balance": int64(0), "created": c.created,
		"currency": nil, "default_source": nil, "delinquent": false, "description": nil, "discount": nil,
		"email": c.email, "invoice_prefix": c.id[len(c.id)-8:], "invoice_settings": jmap{
			"custom_fields": nil, "default_payment_method": nzs(c.defaultPM), "footer": nil, "rendering_options": nil,
		},
		"livemode": s.live, "metadata": meta(c.meta), "name": c.name, "next_invoice_sequence": int64(1),
		"phone": nil, "preferred_locales": []string{"en"}, "shipping": nil, "tax_exempt": "none", "test_clock": nil,
	}
}

func (s *sim) pmDetails(p *payment) jmap {
	switch p.pmType {
	case "us_bank_account":
		return jmap{"type": "us_bank_account", "us_bank_account": jmap{
			"account_holder_type": "individual", "account_type": "checking", "bank_name": "STRIPE TEST BANK",
			"fingerprint": "FkZ2cR8aWxq0Ck3N", "last4": "6789", "routing_number": "110000000",
		}}
	case "sepa_debit":
		return jmap{"type": "sepa_debit", "sepa_debit": jmap{
			"bank_code": "37040044", "branch_code": nil, "country": "DE", "fingerprint": "Qm4rD7x0hWb2Kp1s",
			"last4": "3000", "mandate": "mandate_1Tb" + p.pi[len(p.pi)-21:],
		}}
	}
	return jmap{"type": "card", "card": jmap{
		"amount_authorized": p.amount, "brand": "visa", "checks": jmap{
			"address_line1_check": nil, "address_postal_code_check": "pass", "cvc_check": "pass",
		},
		"country": "US", "exp_month": int64(12), "exp_year": int64(2030), "fingerprint": "Xt5EWLLDS7FJjR1c",
		"funding": "credit", "installments": nil, "last4": "4242", "mandate": nil, "network": "visa",
		"three_d_secure": nil, "wallet": nil,
	}}
}

func (s *sim) chargeObj(p *payment, c *charge) jmap {
	var outcome any
	var failMsg any
	switch c.status {
	case "failed":
		outcome = jmap{"network_status": "declined_by_network", "reason": c.failure, "risk_level": "normal",
			"seller_message": "The bank returned the decline code `" + c.failure + "`.", "type": "issuer_declined"}
		failMsg = "Your card has insufficient funds."
		if p.pmType != "card" {
			outcome = jmap{"network_status": "declined_by_network", "reason": nil, "risk_level": "not_assessed",
				"seller_message": "The bank returned the decline code `" + c.failure + "`.", "type": "issuer_declined"}
			failMsg = "The customer's account has insufficient funds to cover this payment."
		}
	default:
		outcome = jmap{"network_status": "approved_by_network", "reason": nil, "risk_level": "normal",
			"seller_message": "Payment complete.", "type": "authorized"}
	}
	refunded := int64(0)
	for _, r := range p.refunds {
		if r.ch == c.id && r.counts() && r.created <= s.now {
			refunded += r.amount
		}
	}
	disputed := false
	for _, d := range p.disputes {
		disputed = disputed || d.ch == c.id
	}
	var cust any
	if p.cust != nil {
		cust = p.cust.id
	}
	var email any
	if p.cust != nil {
		email = p.cust.email
	}
	o := jmap{
		"id": c.id, "object": "charge", "amount": c.amount, "amount_captured": c.captured,
		"amount_refunded": refunded, "application": nil, "application_fee": nil, "application_fee_amount": nil,
		"balance_transaction": nzs(c.txn),
		"billing_details": jmap{"address": jmap{"city": nil, "country": "US", "line1": nil, "line2": nil,
			"postal_code": "94103", "state": nil}, "email": email, "name": nil, "phone": nil},
		"calculated_statement_descriptor": "TRIBUTARY", "captured": c.isCapt, "created": c.created,
		"currency": p.cur, "customer": cust, "description": nzs(p.desc), "disputed": disputed,
		"failure_code": nzs(c.failure), "failure_message": failMsg, "fraud_details": jmap{},
		"livemode": s.live, "metadata": meta(p.meta), "on_behalf_of": nil, "outcome": outcome,
		"paid": c.status == "succeeded", "payment_intent": nzs(p.pi), "payment_method": p.pm,
		"payment_method_details": s.pmDetails(p), "receipt_email": email, "receipt_number": nil,
		"receipt_url": "https://pay.stripe.com/receipts/payment/" + c.id[3:], "refunded": refunded > 0 && refunded == c.captured,
		"review": nil, "shipping": nil, "source": nil, "source_transfer": nil, "statement_descriptor": nil,
		"statement_descriptor_suffix": nil, "status": c.status, "transfer_data": nil, "transfer_group": nil,
	}
	if !s.before("2022-11-15") {
		o["failure_balance_transaction"] = nil
	}
	if s.before("2022-11-15") {
		var rs []jmap
		for i := len(p.refunds) - 1; i >= 0; i-- { // newest first, as Stripe lists them
			if r := p.refunds[i]; r.ch == c.id && r.created <= s.now {
				rs = append(rs, s.refundObj(r))
			}
		}
		o["refunds"] = s.list("/v1/charges/"+c.id+"/refunds", rs)
	}
	if !s.basil() {
		o["invoice"] = nil
		if p.inv != nil {
			o["invoice"] = p.inv.id
		}
	}
	return o
}

func (s *sim) intentObj(p *payment) jmap {
	var cust any
	if p.cust != nil {
		cust = p.cust.id
	}
	var lastErr any
	if p.lastErr != "" {
		lastErr = jmap{"charge": p.charges[len(p.charges)-1].id, "code": "card_declined", "decline_code": p.lastErr,
			"doc_url": "https://stripe.com/docs/error-codes/card-declined", "message": "Your card has insufficient funds.",
			"param": nil, "payment_method": jmap{"id": p.pm, "object": "payment_method", "type": p.pmType}, "type": "card_error"}
	}
	capturable := int64(0)
	if p.status == "requires_capture" {
		capturable = p.amount
	}
	var pm any = p.pm
	if p.status == "requires_payment_method" && len(p.charges) == 0 {
		pm = nil
	}
	var nextAction any
	if p.status == "requires_action" {
		nextAction = jmap{"type": "use_stripe_sdk", "use_stripe_sdk": jmap{}}
	}
	o := jmap{
		"id": p.pi, "object": "payment_intent", "amount": p.amount, "amount_capturable": capturable,
		"amount_received": p.received, "application": nil, "application_fee_amount": nil,
		"automatic_payment_methods": nil, "canceled_at": nil, "cancellation_reason": nil,
		"capture_method": p.capture, "client_secret": p.pi + "_secret_" + p.pi[len(p.pi)-10:],
		"confirmation_method": "automatic", "created": p.created, "currency": p.cur, "customer": cust,
		"description": nzs(p.desc), "last_payment_error": lastErr, "livemode": s.live, "metadata": meta(p.meta),
		"next_action": nextAction, "on_behalf_of": nil, "payment_method": pm,
		"payment_method_options": jmap{p.pmType: jmap{}}, "payment_method_types": []string{p.pmType},
		"processing": nil, "receipt_email": nil, "review": nil, "setup_future_usage": nil, "shipping": nil,
		"source": nil, "statement_descriptor": nil, "statement_descriptor_suffix": nil, "status": p.status,
		"transfer_data": nil, "transfer_group": nil,
	}
	if p.status == "processing" {
		o["processing"] = nil
	}
	if s.before("2022-11-15") {
		var cs []jmap
		for i := len(p.charges) - 1; i >= 0; i-- {
			cs = append(cs, s.chargeObj(p, p.charges[i]))
		}
		o["charges"] = s.list("/v1/charges?payment_intent="+p.pi, cs)
	} else {
		var latest any
		if len(p.charges) > 0 {
			latest = p.charges[len(p.charges)-1].id
		}
		o["latest_charge"] = latest
		o["amount_details"] = jmap{"tip": jmap{}}
		o["payment_method_configuration_details"] = nil
	}
	if !s.basil() {
		o["invoice"] = nil
		if p.inv != nil {
			o["invoice"] = p.inv.id
		}
	}
	return o
}

func (s *sim) refundObj(r *refund) jmap {
	o := jmap{
		"id": r.id, "object": "refund", "amount": r.amount, "balance_transaction": nzs(r.txn), "charge": r.ch,
		"created": r.created, "currency": r.p.cur, "metadata": jmap{}, "payment_intent": nzs(r.p.pi),
		"reason": nzs(r.reason), "receipt_number": nil, "source_transfer_reversal": nil, "status": r.status,
		"transfer_reversal": nil,
	}
	if r.status == "failed" || r.status == "canceled" {
		o["failure_reason"] = nzs(r.failure)
		o["failure_balance_transaction"] = nzs(r.failTxn)
	}
	if !s.before("2022-11-15") {
		typ := r.p.pmType
		var detail jmap
		switch typ {
		case "card":
			ref := any(nil)
			refStatus := "pending"
			if r.status == "succeeded" {
				ref, refStatus = "4825"+r.id[len(r.id)-8:], "available"
			}
			detail = jmap{"reference": ref, "reference_status": refStatus, "reference_type": "acquirer_reference_number", "type": "refund"}
		default:
			detail = jmap{"reference": nil, "reference_status": nil}
		}
		o["destination_details"] = jmap{"type": typ, typ: detail}
	}
	return o
}

func (s *sim) disputeObj(d *dispute) jmap {
	o := jmap{
		"id": d.id, "object": "dispute", "amount": d.amount, "balance_transactions": append([]jmap{}, d.txns...),
		"charge": d.ch, "created": d.created, "currency": d.p.cur,
		"evidence": jmap{
			"access_activity_log": nil, "billing_address": nil, "cancellation_policy": nil,
			"cancellation_policy_disclosure": nil, "cancellation_rebuttal": nil, "customer_communication": nil,
			"customer_email_address": nil, "customer_name": nil, "customer_purchase_ip": nil,
			"customer_signature": nil, "duplicate_charge_documentation": nil, "duplicate_charge_explanation": nil,
			"duplicate_charge_id": nil, "product_description": nil, "receipt": nil, "refund_policy": nil,
			"refund_policy_disclosure": nil, "refund_refusal_explanation": nil, "service_date": nil,
			"service_documentation": nil, "shipping_address": nil, "shipping_carrier": nil, "shipping_date": nil,
			"shipping_documentation": nil, "shipping_tracking_number": nil, "uncategorized_file": nil,
			"uncategorized_text": nil,
		},
		"evidence_details": jmap{"due_by": d.created + 21*86400, "has_evidence": d.subs > 0, "past_due": false,
			"submission_count": int64(d.subs)},
		"is_charge_refundable": false, "livemode": s.live, "metadata": jmap{}, "payment_intent": nzs(d.p.pi),
		"reason": d.reason, "status": d.status,
	}
	if d.subs > 0 {
		o["evidence"].(jmap)["uncategorized_text"] = "Customer signed for the delivery; see the attached receipt."
	}
	if !s.before("2022-11-15") {
		o["payment_method_details"] = jmap{"type": "card", "card": jmap{"brand": "visa", "case_type": "chargeback", "network_reason_code": "13.1"}}
	}
	if !s.before("2024-06-20") {
		o["enhanced_eligibility_types"] = []string{}
		o["evidence"].(jmap)["enhanced_evidence"] = jmap{}
		o["evidence_details"].(jmap)["enhanced_eligibility"] = jmap{}
	}
	if d.status == "warning_needs_response" || d.status == "warning_under_review" || d.status == "warning_closed" {
		o["is_charge_refundable"] = true
		if pmd, ok := o["payment_method_details"].(jmap); ok {
			pmd["card"].(jmap)["case_type"] = "inquiry"
		}
	}
	return o
}

func (s *sim) btObj(id string, amount, fee int64, cur, desc, category, source string) jmap {
	var fd []jmap
	if fee != 0 {
		fd = []jmap{{"amount": fee, "application": nil, "currency": cur, "description": "Dispute fee", "type": "stripe_fee"}}
	} else {
		fd = []jmap{}
	}
	return jmap{
		"id": id, "object": "balance_transaction", "amount": amount, "available_on": s.now + 2*86400,
		"created": s.now, "currency": cur, "description": desc, "exchange_rate": nil, "fee": fee,
		"fee_details": fd, "net": amount - fee, "reporting_category": category, "source": source,
		"status": "pending", "type": "adjustment",
	}
}

func (s *sim) priceObj(p *price) jmap {
	rec := jmap{"interval": p.interval, "interval_count": p.count, "trial_period_days": nil, "usage_type": "licensed"}
	if s.basil() {
		rec["meter"] = nil
	} else {
		rec["aggregate_usage"] = nil
	}
	return jmap{
		"id": p.id, "object": "price", "active": true, "billing_scheme": "per_unit", "created": p.created,
		"currency": p.cur, "custom_unit_amount": nil, "livemode": s.live, "lookup_key": nil, "metadata": jmap{},
		"nickname": nzs(p.nickname), "product": p.product, "recurring": rec, "tax_behavior": "unspecified",
		"tiers_mode": nil, "transform_quantity": nil, "type": "recurring", "unit_amount": p.unit,
		"unit_amount_decimal": itoa(p.unit),
	}
}

func (s *sim) planObj(p *price) jmap {
	o := jmap{
		"id": p.id, "object": "plan", "active": true, "amount": p.unit, "amount_decimal": itoa(p.unit),
		"billing_scheme": "per_unit", "created": p.created, "currency": p.cur, "interval": p.interval,
		"interval_count": p.count, "livemode": s.live, "metadata": jmap{}, "nickname": nzs(p.nickname),
		"product": p.product, "tiers_mode": nil, "transform_usage": nil, "trial_period_days": nil,
		"usage_type": "licensed",
	}
	if s.basil() {
		o["meter"] = nil
	} else {
		o["aggregate_usage"] = nil
	}
	return o
}

func (s *sim) discountObj(c *coupon, sub *subscription, inv *invoice) any {
	if c == nil {
		return nil
	}
	var subID, invID any
	if sub != nil {
		subID = sub.id
	}
	if inv != nil {
		invID = inv.id
	}
	var months any
	if c.months > 0 {
		months = c.months
	}
	o := jmap{
		"id": c.disc, "object": "discount", "checkout_session": nil,
		"coupon": jmap{"id": c.id, "object": "coupon", "amount_off": nil, "created": c.created, "currency": nil,
			"duration": c.duration, "duration_in_months": months, "livemode": s.live, "max_redemptions": nil,
			"metadata": jmap{}, "name": itoa(c.percent) + "% off", "percent_off": c.percent, "redeem_by": nil,
			"times_redeemed": int64(1), "valid": true},
		"customer": sub.cust.id, "end": nz(c.end), "invoice": invID, "invoice_item": nil,
		"promotion_code": nil, "start": c.start, "subscription": subID,
	}
	if s.basil() {
		// Basil moved coupon under source; the coupon id stays reachable there.
		o["source"] = jmap{"coupon": o["coupon"], "type": "coupon"}
		delete(o, "coupon")
		o["subscription_item"] = nil
	}
	return o
}

func (s *sim) itemObj(sub *subscription, it *item) jmap {
	o := jmap{
		"id": it.id, "object": "subscription_item", "billing_thresholds": nil, "created": it.created,
		"metadata": jmap{}, "plan": s.planObj(it.price), "price": s.priceObj(it.price), "quantity": it.qty,
		"subscription": sub.id, "tax_rates": []jmap{},
	}
	if s.basil() {
		o["current_period_start"] = sub.periodStart
		o["current_period_end"] = sub.periodEnd
		o["discounts"] = []string{}
	}
	return o
}

func (s *sim) subscriptionObj(sub *subscription) jmap {
	var items []jmap
	for _, it := range sub.items {
		items = append(items, s.itemObj(sub, it))
	}
	o := jmap{
		"id": sub.id, "object": "subscription", "application": nil, "application_fee_percent": nil,
		"automatic_tax": jmap{"enabled": false, "liability": nil}, "billing_cycle_anchor": sub.start,
		"billing_thresholds": nil, "cancel_at": nz(sub.cancelAt), "cancel_at_period_end": sub.cancelAtPeriodEnd,
		"canceled_at": nz(sub.canceledAt), "collection_method": "charge_automatically", "created": sub.created,
		"currency": sub.items[0].price.cur, "customer": sub.cust.id, "days_until_due": nil,
		"default_payment_method": "pm_1Tb" + sub.cust.id[len(sub.cust.id)-21:], "default_source": nil,
		"default_tax_rates": []jmap{}, "description": nil, "ended_at": nz(sub.endedAt),
		"items":          s.list("/v1/subscription_items?subscription="+sub.id, items),
		"latest_invoice": nzs(sub.latestInvoice), "livemode": s.live, "metadata": meta(sub.meta),
		"next_pending_invoice_item_invoice": nil, "on_behalf_of": nil, "pause_collection": nil,
		"payment_settings":              jmap{"payment_method_options": nil, "payment_method_types": nil, "save_default_payment_method": "off"},
		"pending_invoice_item_interval": nil, "pending_setup_intent": nil, "pending_update": nil, "schedule": nil,
		"start_date": sub.start, "status": sub.status, "test_clock": nil, "transfer_data": nil,
		"trial_end": nz(sub.trialEnd), "trial_start": nz(sub.trialStart),
	}
	if s.before("2022-11-15") {
		// The single-plan shortcuts of the first Billing API were still returned.
		o["plan"] = s.planObj(sub.items[0].price)
		o["quantity"] = sub.items[0].qty
	}
	if s.basil() {
		o["discounts"] = []string{}
		if sub.coupon != nil {
			o["discounts"] = []string{sub.coupon.disc}
		}
		o["billing_cycle_anchor_config"] = nil
		o["cancellation_details"] = jmap{"comment": nil, "feedback": nil, "reason": nil}
		o["invoice_settings"] = jmap{"account_tax_ids": nil, "issuer": jmap{"type": "self"}}
		o["trial_settings"] = jmap{"end_behavior": jmap{"missing_payment_method": "create_invoice"}}
	} else {
		o["current_period_start"] = sub.periodStart
		o["current_period_end"] = sub.periodEnd
		o["discount"] = s.discountObj(sub.coupon, sub, nil)
		if !s.before("2022-11-15") {
			o["discounts"] = []string{}
			if sub.coupon != nil {
				o["discounts"] = []string{sub.coupon.disc}
			}
			o["cancellation_details"] = jmap{"comment": nil, "feedback": nil, "reason": nil}
		}
	}
	if sub.status == "canceled" {
		if cd, ok := o["cancellation_details"].(jmap); ok {
			cd["reason"] = "cancellation_requested"
		}
	}
	if !s.before("2025-09-30") {
		o["billing_mode"] = jmap{"type": "flexible", "flexible": jmap{"proration_discounts": "included"}}
	}
	return o
}

func (s *sim) lineObj(in *invoice, l *line) jmap {
	var siID any
	subID := in.sub.id
	if l.item != nil {
		siID = l.item.id
	}
	discAmounts := []jmap{}
	if in.coupon != nil {
		discAmounts = []jmap{{"amount": l.amount * in.coupon.percent / 100, "discount": in.coupon.disc}}
	}
	o := jmap{
		"id": l.id, "object": "line_item", "amount": l.amount, "currency": in.cur, "description": l.desc,
		"discount_amounts": discAmounts, "discountable": true, "discounts": []string{}, "livemode": s.live,
		"metadata": jmap{}, "period": jmap{"end": l.end, "start": l.start}, "quantity": l.qty,
	}
	if s.basil() {
		o["invoice"] = in.id
		o["subscription"] = subID
		o["pretax_credit_amounts"] = []jmap{}
		o["taxes"] = []jmap{}
		o["subtotal"] = l.amount
		if l.proration {
			o["parent"] = jmap{"type": "invoice_item_details", "subscription_item_details": nil, "invoice_item_details": jmap{
				"invoice_item": l.ii, "proration": true, "proration_details": jmap{"credited_items": nil}, "subscription": in.sub.id}}
		} else {
			o["parent"] = jmap{"type": "subscription_item_details", "invoice_item_details": nil, "subscription_item_details": jmap{
				"invoice_item": nil, "proration": false, "proration_details": jmap{"credited_items": nil},
				"subscription": in.sub.id, "subscription_item": siID}}
		}
		o["pricing"] = jmap{"type": "price_details", "price_details": jmap{"price": l.price.id, "product": l.price.product},
			"unit_amount_decimal": itoa(l.price.unit)}
		return o
	}
	o["plan"] = s.planObj(l.price)
	o["price"] = s.priceObj(l.price)
	o["proration"] = l.proration
	o["proration_details"] = jmap{"credited_items": nil}
	o["subscription"] = subID
	o["tax_amounts"] = []jmap{}
	o["tax_rates"] = []jmap{}
	if l.proration {
		o["type"] = "invoiceitem"
		o["invoice_item"] = l.ii
	} else {
		o["type"] = "subscription"
		o["subscription_item"] = siID
	}
	return o
}

func (s *sim) invoiceObj(in *invoice) jmap {
	var lines []jmap
	for _, l := range in.lines {
		lines = append(lines, s.lineObj(in, l))
	}
	paid := in.paid()
	total := in.total()
	remaining := total - paid
	var number, hosted, pdf any
	if in.status != "draft" {
		number = in.number
		hosted = "https://invoice.stripe.com/i/acct_1Tb/" + in.id[3:]
		pdf = "https://pay.stripe.com/invoice/acct_1Tb/" + in.id[3:] + "/pdf"
	}
	var next any
	if in.status == "draft" {
		next = in.created + 3600
	} else if in.status == "open" && in.nextAttempt != 0 {
		next = in.nextAttempt
	}
	discounts := []string{}
	totalDisc := []jmap{}
	if in.coupon != nil {
		discounts = []string{in.coupon.disc}
		totalDisc = []jmap{{"amount": in.discount(), "discount": in.coupon.disc}}
	}
	o := jmap{
		"id": in.id, "object": "invoice", "account_country": "US", "account_name": "Tributary Test Shop",
		"account_tax_ids": nil, "amount_due": total, "amount_paid": paid, "amount_remaining": remaining,
		"amount_shipping": int64(0), "application": nil, "attempt_count": int64(in.attempts),
		"attempted": in.attempts > 0 || in.status == "paid", "auto_advance": in.status != "paid",
		"automatic_tax": jmap{"enabled": false, "liability": nil, "status": nil}, "billing_reason": in.reason,
		"collection_method": "charge_automatically", "created": in.created, "currency": in.cur,
		"custom_fields": nil, "customer": in.cust.id, "customer_address": nil, "customer_email": in.cust.email,
		"customer_name": in.cust.name, "customer_phone": nil, "customer_shipping": nil,
		"customer_tax_exempt": "none", "customer_tax_ids": []jmap{}, "default_payment_method": nil,
		"default_source": nil, "default_tax_rates": []jmap{}, "description": nil, "discounts": discounts,
		"due_date": nil, "ending_balance": nil, "footer": nil, "hosted_invoice_url": hosted, "invoice_pdf": pdf,
		"last_finalization_error": nil, "lines": s.list("/v1/invoices/"+in.id+"/lines", lines),
		"livemode": s.live, "metadata": jmap{}, "next_payment_attempt": next, "number": number, "on_behalf_of": nil,
		"payment_settings": jmap{"default_mandate": nil, "payment_method_options": nil, "payment_method_types": nil},
		"period_end":       in.periodEnd, "period_start": in.periodStart, "post_payment_credit_notes_amount": int64(0),
		"pre_payment_credit_notes_amount": int64(0), "receipt_number": nil, "starting_balance": int64(0),
		"statement_descriptor": nil, "status": in.status,
		"status_transitions": jmap{"finalized_at": nz(in.finalizedAt), "marked_uncollectible_at": nil,
			"paid_at": nz(in.paidAt), "voided_at": nil},
		"subtotal": in.subtotal(), "test_clock": nil, "total": total, "total_discount_amounts": totalDisc,
		"webhooks_delivered_at": nz(in.created),
	}
	if in.status != "draft" {
		o["ending_balance"] = int64(0)
	}
	if !s.before("2022-11-15") {
		o["effective_at"] = nz(in.finalizedAt)
		o["subtotal_excluding_tax"] = in.subtotal()
		o["total_excluding_tax"] = total
		o["issuer"] = jmap{"type": "self"}
		o["rendering"] = nil
		o["from_invoice"] = nil
		o["latest_revision"] = nil
		o["shipping_cost"] = nil
		o["shipping_details"] = nil
	}
	if s.basil() {
		var subMeta any
		if in.sub != nil {
			subMeta = meta(in.sub.meta)
		}
		o["parent"] = jmap{"type": "subscription_details", "quote_details": nil,
			"subscription_details": jmap{"metadata": subMeta, "subscription": in.sub.id}}
		o["amount_overpaid"] = int64(0)
		o["total_taxes"] = []jmap{}
		o["total_pretax_credit_amounts"] = []jmap{}
		o["automatically_finalizes_at"] = nil
		if in.status == "draft" {
			o["automatically_finalizes_at"] = in.created + 3600
		}
		return o
	}
	o["paid"] = in.status == "paid"
	o["paid_out_of_band"] = false
	o["subscription"] = in.sub.id
	o["discount"] = s.discountObj(in.coupon, in.sub, nil)
	o["tax"] = nil
	o["total_tax_amounts"] = []jmap{}
	o["transfer_data"] = nil
	o["application_fee_amount"] = nil
	o["quote"] = nil
	var pi, ch any
	if in.pay != nil {
		pi = in.pay.pi
		if c := in.pay.current(); c != nil {
			ch = c.id
		}
	}
	o["payment_intent"] = pi
	o["charge"] = ch
	return o
}

func (s *sim) invoicePaymentObj(in *invoice) jmap {
	return jmap{
		"id": in.ipay, "object": "invoice_payment", "amount_paid": nz(in.paid()), "amount_requested": in.total(),
		"created": in.ipayCreated, "currency": in.cur, "invoice": in.id, "is_default": true, "livemode": s.live,
		"payment": jmap{"type": "payment_intent", "payment_intent": in.pay.pi}, "status": in.status,
		"status_transitions": jmap{"canceled_at": nil, "paid_at": nz(in.paidAt)},
	}
}

func (s *sim) sessionObj(cs *session) jmap {
	var cust, pi, sub, inv any
	if cs.cust != nil {
		cust = cs.cust.id
	}
	if cs.p != nil && cs.mode == "payment" {
		pi = cs.p.pi
	}
	if cs.sub != nil {
		sub = cs.sub.id
	}
	if cs.inv != nil {
		inv = cs.inv.id
	}
	var email any = "buyer@example.com"
	if cs.cust != nil {
		email = cs.cust.email
	}
	creation := "if_required"
	if cs.mode == "subscription" {
		creation = "always"
	}
	o := jmap{
		"id": cs.id, "object": "checkout.session", "after_expiration": nil, "allow_promotion_codes": nil,
		"amount_subtotal": cs.amountSubtotal, "amount_total": cs.amountTotal,
		"automatic_tax": jmap{"enabled": false, "status": nil}, "billing_address_collection": nil,
		"cancel_url": "https://shop.example.com/cancel", "client_reference_id": nzs(cs.cref), "consent": nil,
		"consent_collection": nil, "currency": cs.cur, "customer": cust, "customer_creation": creation,
		"customer_details": jmap{"address": jmap{"city": nil, "country": "US", "line1": nil, "line2": nil,
			"postal_code": "94103", "state": nil}, "email": email, "name": "Jo Buyer", "phone": nil,
			"tax_exempt": "none", "tax_ids": []jmap{}},
		"customer_email": nil, "expires_at": cs.expires, "livemode": s.live, "locale": nil,
		"metadata": meta(cs.meta), "mode": cs.mode, "payment_intent": pi, "payment_link": nzs(cs.plink),
		"payment_method_options": jmap{}, "payment_method_types": cs.pmTypes, "payment_status": cs.paymentStatus,
		"phone_number_collection": jmap{"enabled": false}, "recovered_from": nil, "setup_intent": nil,
		"shipping_address_collection": nil, "shipping_options": []jmap{}, "status": cs.status, "submit_type": nil,
		"subscription": sub, "success_url": "https://shop.example.com/thanks", "total_details": jmap{
			"amount_discount": cs.discount, "amount_shipping": int64(0), "amount_tax": int64(0)},
		"url": nil,
	}
	if cs.mode == "payment" && cs.amountTotal == 0 {
		o["payment_intent"] = nil
	}
	if s.before("2022-08-01") {
		o["shipping"] = nil
		o["shipping_rate"] = nil
	} else {
		o["created"] = cs.created
		o["invoice"] = inv
		o["invoice_creation"] = nil
		if cs.mode == "payment" {
			o["invoice_creation"] = jmap{"enabled": false, "invoice_data": jmap{"account_tax_ids": nil, "custom_fields": nil,
				"description": nil, "footer": nil, "issuer": nil, "metadata": jmap{}, "rendering_options": nil}}
		}
		o["custom_fields"] = []jmap{}
		o["custom_text"] = jmap{"after_submit": nil, "shipping_address": nil, "submit": nil, "terms_of_service_acceptance": nil}
		o["payment_method_collection"] = "always"
		o["shipping_cost"] = nil
		o["shipping_details"] = nil
	}
	if !s.before("2023-10-16") {
		o["ui_mode"] = "hosted"
		o["client_secret"] = nil
		o["payment_method_configuration_details"] = nil
		o["saved_payment_method_options"] = nil
	}
	if !s.before("2026-03-25") {
		// Dahlia renamed the ui_mode values (hosted became hosted_page).
		o["ui_mode"] = "hosted_page"
	}
	if s.basil() {
		delete(o, "shipping_details")
		o["collected_information"] = jmap{"shipping_details": nil}
		o["discounts"] = []jmap{}
		o["permissions"] = nil
		o["wallet_options"] = nil
		o["adaptive_pricing"] = jmap{"enabled": true}
	}
	return o
}

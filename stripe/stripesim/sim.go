package stripesim

import (
	"crypto/sha256"
	"strings"
	"time"
)

// epoch is where every flow's clock starts; flows differ by name-derived offsets so that two flows' events
// interleave when a test merges them, as events of one account do.
var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Unix()

type customer struct {
	id, email, name string
	defaultPM       string
	created         int64
	meta            map[string]string
}

type charge struct {
	id       string
	status   string // succeeded | pending | failed
	amount   int64
	captured int64
	isCapt   bool
	created  int64
	failure  string // failure_code when failed
	txn      string
}

type payment struct {
	pi       string // empty for a charge made without an intent
	charges  []*charge
	amount   int64
	received int64
	cur      string // lower case, as Stripe writes it
	status   string // the intent's status
	capture  string // automatic | manual
	created  int64
	cust     *customer
	meta     map[string]string
	pmType   string // card | us_bank_account | sepa_debit
	pm       string
	inv      *invoice
	refunds  []*refund
	disputes []*dispute
	desc     string
	lastErr  string
}

// current is the charge a refund or dispute attaches to: the newest one that is not failed.
func (p *payment) current() *charge {
	for i := len(p.charges) - 1; i >= 0; i-- {
		if p.charges[i].status != "failed" {
			return p.charges[i]
		}
	}
	if len(p.charges) > 0 {
		return p.charges[len(p.charges)-1]
	}
	return nil
}

// refunded is the charge's cumulative amount_refunded: refunds that have not failed or been canceled.
func (p *payment) refunded() int64 {
	var n int64
	for _, r := range p.refunds {
		if r.counts() {
			n += r.amount
		}
	}
	return n
}

// key is the fact reference of the payment's gross: its intent, else its charge, else its invoice.
func (p *payment) key() string {
	switch {
	case p.pi != "":
		return p.pi
	case len(p.charges) > 0:
		return p.charges[0].id
	case p.inv != nil:
		return p.inv.id
	}
	return ""
}

type refund struct {
	id      string
	p       *payment
	ch      string
	amount  int64
	status  string // pending | succeeded | failed | canceled | requires_action
	created int64
	reason  string
	failure string
	txn     string
	failTxn string
}

func (r *refund) counts() bool { return r.status == "succeeded" || r.status == "pending" }

type dispute struct {
	id      string
	p       *payment
	ch      string
	amount  int64
	status  string
	created int64
	reason  string
	txns    []jmap
	subs    int // evidence submissions
}

type price struct {
	id, product, nickname string
	unit                  int64
	cur                   string
	interval              string
	count                 int64
	created               int64
}

// monthly is the price's contribution to MRR for one unit.
func (p *price) monthly() int64 {
	switch p.interval {
	case "year":
		return p.unit / (12 * p.count)
	case "week":
		return p.unit * 52 / (12 * p.count)
	case "day":
		return p.unit * 365 / (12 * p.count)
	}
	return p.unit / p.count
}

type item struct {
	id      string
	price   *price
	qty     int64
	created int64
}

type coupon struct {
	id       string
	percent  int64
	duration string // once | repeating | forever
	months   int64
	created  int64
	start    int64
	end      int64 // discount end, 0 for forever
	disc     string
}

type subscription struct {
	id                     string
	cust                   *customer
	status                 string
	items                  []*item
	created, start         int64
	periodStart, periodEnd int64
	trialStart, trialEnd   int64
	cancelAtPeriodEnd      bool
	cancelAt               int64
	canceledAt, endedAt    int64
	coupon                 *coupon
	meta                   map[string]string
	latestInvoice          string
	mrr                    int64
}

type line struct {
	id         string
	amount     int64
	desc       string
	price      *price
	qty        int64
	proration  bool
	start, end int64
	item       *item
	ii         string // invoice item id for prorations
}

type invoice struct {
	id                     string
	sub                    *subscription
	cust                   *customer
	cur                    string
	lines                  []*line
	status                 string // draft | open | paid
	reason                 string
	created                int64
	periodStart, periodEnd int64
	finalizedAt, paidAt    int64
	attempts               int
	nextAttempt            int64
	pay                    *payment
	ipay                   string
	ipayCreated            int64
	number                 string
	coupon                 *coupon
}

func (in *invoice) subtotal() int64 {
	var n int64
	for _, l := range in.lines {
		n += l.amount
	}
	return n
}

func (in *invoice) discount() int64 {
	if in.coupon == nil {
		return 0
	}
	return in.subtotal() * in.coupon.percent / 100
}

func (in *invoice) total() int64 { return in.subtotal() - in.discount() }

func (in *invoice) paid() int64 {
	if in.status == "paid" {
		return in.total()
	}
	return 0
}

type session struct {
	id             string
	mode           string
	p              *payment
	sub            *subscription
	inv            *invoice
	cust           *customer
	meta           map[string]string
	cref           string
	plink          string
	amountSubtotal int64
	amountTotal    int64
	cur            string
	status         string
	paymentStatus  string
	created        int64
	expires        int64
	pmTypes        []string
	discount       int64
}

// sim is one flow being played in one API version.
type sim struct {
	name, v   string
	live      bool
	seq       int
	now       int64
	cur       string // the flow's currency, lower case
	visitor   string
	events    []Event
	ids       map[string]bool
	payOf     map[string]*payment
	payments  []*payment
	mrr       map[string]int64
	custMRR   map[string]int64
	custEver  map[string]bool
	subs      []*subscription
	lastEvent int64
}

func newSim(name, version string, live bool) *sim {
	h := sha256.Sum256([]byte(name))
	s := &sim{
		name: name, v: version, live: live, cur: "usd",
		now:   epoch + int64(h[0])*3600 + int64(h[1])*60,
		ids:   map[string]bool{},
		payOf: map[string]*payment{},
		mrr:   map[string]int64{},

		custMRR:  map[string]int64{},
		custEver: map[string]bool{},
	}
	return s
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// rand returns n deterministic base-62 characters that differ per flow, version and call.
func (s *sim) rand(n int) string {
	s.seq++
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		h := sha256.Sum256([]byte(s.name + "|" + s.v + "|" + itoa(int64(s.seq)) + "|" + itoa(int64(i))))
		for _, c := range h {
			if b.Len() == n {
				break
			}
			b.WriteByte(alnum[int(c)%len(alnum)])
		}
	}
	return b.String()
}

// id makes a Stripe-looking id. Stripe's ids carry the account's short prefix; "1Tb" stands for ours.
func (s *sim) id(prefix string) string {
	for {
		id := prefix + "_1Tb" + s.rand(21)
		if !s.ids[id] {
			s.ids[id] = true
			return id
		}
	}
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// tick moves the clock: Stripe stamps an event when it creates it, seconds after the previous one of the
// same API call, hours or days between billing steps.
func (s *sim) tick(sec int64) { s.now += sec }

// before reports whether the simulated version predates v. Plain string order works for Stripe's names:
// "2025-03-31" sorts before "2025-03-31.basil", so before("2025-03-31") is false for basil itself.
func (s *sim) before(v string) bool { return s.v < v }

func (s *sim) basil() bool { return !s.before("2025-03-31") }

// emit records one event whose data.object is obj as of now.
func (s *sim) emit(typ string, obj jmap, prev jmap, req bool) {
	if s.now <= s.lastEvent {
		s.now = s.lastEvent + 1
	}
	s.lastEvent = s.now
	id := s.id("evt")
	var request jmap
	if req {
		request = jmap{"id": "req_" + s.rand(14), "idempotency_key": s.rand(8) + "-" + s.rand(4) + "-" + s.rand(4) + "-" + s.rand(4) + "-" + s.rand(12)}
	} else {
		request = jmap{"id": nil, "idempotency_key": nil}
	}
	data := jmap{"object": obj}
	if prev != nil {
		data["previous_attributes"] = prev
	}
	env := jmap{
		"id": id, "object": "event", "api_version": s.v, "created": s.now, "data": data,
		"livemode": s.live, "pending_webhooks": 1, "request": request, "type": typ,
	}
	s.events = append(s.events, Event{
		ID: id, Type: typ, Created: time.Unix(s.now, 0).UTC(), Raw: encode(env),
		Reveals: dedupe(s.reveal(typ, obj)),
	})
	s.tick(1)
}

func (s *sim) fact(kind, ref string, amount int64, cur string) Fact {
	return Fact{Kind: kind, Ref: ref, Amount: amount, Currency: strings.ToUpper(cur)}
}

// reveal applies the reconciler's rules to the object as rendered, so a shape change in a version changes
// what the event reveals exactly as it would for the real reconciler.
func (s *sim) reveal(typ string, obj jmap) []Fact {
	var out []Fact
	str := func(k string) string { v, _ := obj[k].(string); return v }
	num := func(k string) int64 { v, _ := obj[k].(int64); return v }
	switch obj["object"] {
	case "charge":
		p := s.payOf[str("id")]
		if str("status") == "succeeded" && obj["captured"] == true && num("amount_captured") > 0 {
			out = append(out, s.fact(KindGross, p.key(), num("amount_captured"), str("currency")))
		}
		if list, ok := obj["refunds"].(jmap); ok {
			for _, r := range list["data"].([]jmap) {
				out = append(out, s.reveal("", r)...)
			}
		} else {
			// Without the embedded list the reconciler derives refunds from the cumulative amount_refunded,
			// which accounts for every refund made so far; one that failed since shows as reversed.
			var mine []*refund
			anyReversed := false
			for _, r := range p.refunds {
				if r.ch == str("id") && r.created <= s.now {
					mine = append(mine, r)
					anyReversed = anyReversed || !r.counts()
				}
			}
			if num("amount_refunded") > 0 || anyReversed {
				for _, r := range mine {
					out = append(out, s.fact(KindRefund, r.id, r.amount, r.p.cur))
					if !r.counts() {
						out = append(out, s.fact(KindRefundReversed, r.id, r.amount, r.p.cur))
					}
				}
			}
		}
	case "payment_intent":
		if str("status") == "succeeded" && num("amount_received") > 0 {
			out = append(out, s.fact(KindGross, str("id"), num("amount_received"), str("currency")))
		}
		if list, ok := obj["charges"].(jmap); ok {
			for _, c := range list["data"].([]jmap) {
				out = append(out, s.reveal("", c)...)
			}
		}
	case "checkout.session":
		if str("payment_status") == "paid" && num("amount_total") > 0 {
			if p := s.payOf[str("id")]; p != nil {
				out = append(out, s.fact(KindGross, p.key(), num("amount_total"), str("currency")))
			}
		}
	case "invoice":
		if str("status") == "paid" && num("amount_paid") > 0 {
			if p := s.payOf[str("id")]; p != nil {
				out = append(out, s.fact(KindGross, p.key(), num("amount_paid"), str("currency")))
			}
		}
	case "invoice_payment":
		if str("status") == "paid" && num("amount_paid") > 0 {
			if p := s.payOf[str("id")]; p != nil {
				out = append(out, s.fact(KindGross, p.key(), num("amount_paid"), str("currency")))
			}
		}
	case "refund":
		switch str("status") {
		case "succeeded", "pending":
			out = append(out, s.fact(KindRefund, str("id"), num("amount"), str("currency")))
		case "failed", "canceled":
			// A refund known only as failed nets to nothing; revealing both keeps Expect at zero for it.
			out = append(out, s.fact(KindRefund, str("id"), num("amount"), str("currency")),
				s.fact(KindRefundReversed, str("id"), num("amount"), str("currency")))
		}
	case "dispute":
		id, amt, cur := str("id"), num("amount"), str("currency")
		var w, r bool
		for _, bt := range obj["balance_transactions"].([]jmap) {
			if bt["amount"].(int64) < 0 {
				w = true
			} else {
				r = true
			}
		}
		switch str("status") {
		case "lost":
			w = true
		case "won":
			w, r = true, true
		}
		switch typ {
		case "charge.dispute.funds_withdrawn":
			w = true
		case "charge.dispute.funds_reinstated":
			r = true
		}
		if strings.HasPrefix(str("status"), "warning_") {
			w, r = false, false
		}
		if w {
			out = append(out, s.fact(KindDisputeWithdrawn, id, amt, cur))
		}
		if r {
			out = append(out, s.fact(KindDisputeReinstated, id, amt, cur))
		}
	}
	return out
}

// track records an MRR movement when a subscription's MRR changed. Movements are per customer, as MRR
// reports count them: a second subscription of a paying customer is expansion, a churned customer's new
// subscription is reactivation.
func (s *sim) track(sub *subscription) {
	var m int64
	if sub.status == "active" || sub.status == "past_due" {
		for _, it := range sub.items {
			m += it.price.monthly() * it.qty
		}
		if c := sub.coupon; c != nil {
			m -= m * c.percent / 100
		}
	}
	cust := sub.cust.id
	before := s.custMRR[cust]
	after := before - sub.mrr + m
	d := after - before
	switch {
	case d > 0 && before == 0 && s.custEver[cust]:
		s.mrr[MRRReactivation] += d
	case d > 0 && before == 0:
		s.mrr[MRRNew] += d
	case d > 0:
		s.mrr[MRRExpansion] += d
	case d < 0 && after == 0:
		s.mrr[MRRChurn] += d
	case d < 0:
		s.mrr[MRRContraction] += d
	}
	sub.mrr = m
	s.custMRR[cust] = after
	if after > 0 {
		s.custEver[cust] = true
	}
}

// flow computes the ground truth from the final state of the simulated objects, independently of what
// any event reveals.
func (s *sim) flow() Flow {
	t := Totals{Currency: strings.ToUpper(s.cur)}
	for _, p := range s.payments {
		if p.received > 0 {
			t.Gross += p.received
			t.Payments++
		}
		t.Refunded += p.refunded()
		for _, d := range p.disputes {
			if d.status == "lost" {
				t.Disputed += d.amount
			}
		}
	}
	var final int64
	for _, sub := range s.subs {
		final += sub.mrr
	}
	return Flow{Name: s.name, Version: s.v, Livemode: s.live, Events: s.events, Truth: t, MRR: s.mrr,
		FinalMRR: final, Visitor: s.visitor}
}

// dedupe keeps one reveal per fact: an intent and the charge it embeds tell the same gross.
func dedupe(fs []Fact) []Fact {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		if k := f.Kind + "|" + f.Ref; !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

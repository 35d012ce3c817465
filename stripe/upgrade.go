package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/reconcile"
)

// upgradeMark is the state document that records a site's Stripe state was rebuilt for reconciliation.
const upgradeMark = "upgrade:reconcile-1"

// rawTypes are the object types earlier releases kept as raw snapshots (newest state of each object).
var rawTypes = []string{"payment_intent", "charge", "checkout.session", "invoice", "invoice_payment", "refund", "dispute", "customer", "subscription"}

// Upgrade rebuilds a site's reconciliation state, once, from what earlier releases stored: the newest
// snapshot of every Stripe object, and the ledger entries and MRR movements already appended. Payments
// are keyed as those releases keyed them (intent, else charge), subscriptions keep their recorded history
// (rebuilt from their movements), and disputes keep the withdrawals already booked. Each payment's targets
// are then derived and the differences appended — which is how a refund an earlier release counted twice
// (charge total and refund object) is corrected on the first start. It must run before the inbox worker.
func (p *Processor) Upgrade(ctx context.Context, site *tributary.Site) (int, error) {
	if _, err := p.Meta.StripeObject(ctx, site.ID, upgradeMark); err == nil {
		return 0, nil
	} else if tributary.ErrorCode(err) != tributary.ENOTFOUND {
		return 0, err
	}
	var parts []*reconcile.Part
	type subState struct {
		id, customer string
		live         bool
		st           reconcile.SubState
		md           map[string]string
	}
	var subs []subState
	var custs []*reconcile.Customer
	var live = map[string]bool{}
	n := 0
	for _, typ := range rawTypes {
		objs, err := p.Meta.StripeObjectsOfType(ctx, site.ID, typ)
		if err != nil {
			return 0, fmt.Errorf("stripe: upgrade %s: %w", site.ID, err)
		}
		for _, so := range objs {
			o, err := decodeObj(so.Data)
			if err != nil {
				continue
			}
			n++
			if o.str("object") == "" {
				o["object"] = typ
			}
			// The snapshot is decoded exactly as a delivered event of it would be.
			op, err := decodeObject(&Event{ID: "upgrade", Type: typ + ".upgrade", Created: so.EventCreated, Livemode: so.Livemode, Object: o})
			if err != nil {
				continue // a snapshot the new rules refuse (a malformed amount) brings nothing
			}
			switch {
			case op.cust != nil:
				custs = append(custs, op.cust)
			case op.sub != nil:
				subs = append(subs, subState{op.subID, op.customer, so.Livemode, *op.sub, o.metadata()})
			}
			ps := op.parts
			for _, x := range ps {
				live[x.ID] = so.Livemode
			}
			parts = append(parts, ps...)
		}
	}
	// Disputes keep the money earlier releases booked from event types alone.
	entries, err := p.Events.Ledger(ctx, site.ID)
	if err != nil {
		return 0, fmt.Errorf("stripe: upgrade %s: %w", site.ID, err)
	}
	for _, e := range entries {
		if e.Source != "stripe" || (e.Kind != tributary.EntryDisputeWithdrawn && e.Kind != tributary.EntryDisputeReinstated) {
			continue
		}
		id := strings.TrimPrefix(reconcile.Stem(e.ID), e.Kind+":")
		if id == "" || strings.Contains(id, ":") {
			continue
		}
		d := &reconcile.Part{ID: id, Kind: reconcile.Dispute, At: e.OccurredAt, Key: e.PaymentID, KeyRank: reconcile.KeyIntent, Currency: e.Currency, Amount: abs(e.Amount)}
		if e.Kind == tributary.EntryDisputeWithdrawn {
			d.Withdrawn = e.OccurredAt
		} else {
			d.Reinstated = e.OccurredAt
		}
		live[id] = e.Livemode
		parts = append(parts, d)
	}
	// Strongest keys first: payments are keyed as earlier releases keyed them.
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].KeyRank > parts[j].KeyRank })
	b := reconcile.NewBatch(p.Meta, p.Events, p.Ledger)
	for _, x := range parts {
		if x == nil {
			continue
		}
		if err := b.PutPart(ctx, site, "stripe", live[x.ID], x); err != nil {
			return 0, err
		}
	}
	for _, c := range custs {
		if err := b.PutCustomer(ctx, site, false, c); err != nil {
			return 0, err
		}
	}
	for _, s := range subs {
		held, err := p.Events.MRRMovementsOf(ctx, site.ID, s.id)
		if err != nil {
			return 0, err
		}
		var mrr int64
		for _, m := range held {
			mrr += m.Delta
			status := "active"
			if mrr == 0 {
				status = "canceled"
			}
			if err := b.PutSubscription(ctx, site, "stripe", s.live, s.id, s.customer, reconcile.SubState{At: m.At, Status: status, MRR: mrr, Currency: m.Currency}, nil); err != nil {
				return 0, err
			}
		}
		if err := b.PutSubscription(ctx, site, "stripe", s.live, s.id, s.customer, s.st, s.md); err != nil {
			return 0, err
		}
	}
	if _, err := b.Flush(ctx); err != nil {
		return 0, fmt.Errorf("stripe: upgrade %s: %w", site.ID, err)
	}
	mark, _ := json.Marshal(map[string]any{"objects": n, "at": time.Now().UTC()})
	return n, p.Meta.PutStripeObject(ctx, &tributary.StripeObject{SiteID: site.ID, ID: upgradeMark, Type: "upgrade", EventCreated: time.Now().UTC(), Data: mark})
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

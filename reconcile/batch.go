package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ledger"
)

// State document types in the MetaStore's object table (one row per site and id).
const (
	docPayment      = "payment_state"      // "pay:<key>" → Payment
	docRef          = "payment_ref"        // "ref:<object id>" → payment key
	docSubscription = "subscription_state" // "sub:<id>" → Subscription
	docCustomer     = "customer_state"     // "cus:<id>" → Customer
)

// Customer is what a provider's customer object tells about its payments: an e-mail and metadata that
// may carry linking keys.
type Customer struct {
	ID       string            `json:"id"`
	At       time.Time         `json:"at"`
	Email    string            `json:"email,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Batch is one unit of reconciliation work: parts and subscription states of many events are put into
// it, and Flush derives every touched payment's and subscription's targets once, appends the
// differences and writes the state, so a batch of deliveries costs one write per table instead of one
// per event. It is not safe for concurrent use. Processing is idempotent: a batch redone after a crash
// re-derives the same targets and appends only what the ledger still lacks.
type Batch struct {
	meta     tributary.MetaStore
	events   tributary.EventStore
	recorder *ledger.Recorder

	docs     map[docKey]*tributary.StripeObject
	dirty    map[docKey]bool
	payments map[docKey]*Payment
	subs     map[docKey]*Subscription
	touched  map[docKey]bool // payments to reconcile
	subTouch map[docKey]bool
	sites    map[string]*tributary.Site
	source   map[docKey]string
}

type docKey struct{ site, id string }

// NewBatch starts a unit of work over the stores.
func NewBatch(meta tributary.MetaStore, events tributary.EventStore, recorder *ledger.Recorder) *Batch {
	return &Batch{meta: meta, events: events, recorder: recorder, docs: map[docKey]*tributary.StripeObject{}, dirty: map[docKey]bool{},
		payments: map[docKey]*Payment{}, subs: map[docKey]*Subscription{}, touched: map[docKey]bool{}, subTouch: map[docKey]bool{},
		sites: map[string]*tributary.Site{}, source: map[docKey]string{}}
}

func (b *Batch) doc(ctx context.Context, site, id string) (*tributary.StripeObject, error) {
	k := docKey{site, id}
	if o, ok := b.docs[k]; ok {
		return o, nil
	}
	o, err := b.meta.StripeObject(ctx, site, id)
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		o, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reconcile: read %s: %w", id, err)
	}
	b.docs[k] = o
	return o, nil
}

func (b *Batch) putDoc(site *tributary.Site, id, typ string, livemode bool, at time.Time, v any) {
	data, _ := json.Marshal(v)
	k := docKey{site.ID, id}
	b.docs[k] = &tributary.StripeObject{SiteID: site.ID, ID: id, Type: typ, Livemode: livemode, EventCreated: at.UTC(), Data: data}
	b.dirty[k] = true
}

func (b *Batch) payment(ctx context.Context, site, key string) (*Payment, error) {
	k := docKey{site, key}
	if p, ok := b.payments[k]; ok {
		return p, nil
	}
	o, err := b.doc(ctx, site, "pay:"+key)
	if err != nil || o == nil {
		return nil, err
	}
	p := &Payment{}
	if err := json.Unmarshal(o.Data, p); err != nil {
		return nil, fmt.Errorf("reconcile: decode payment state %s: %w", key, err)
	}
	b.payments[k] = p
	return p, nil
}

// Prefetch reads, in a few queries, the state of the payments the given object ids belong to, so a
// batch's lookups hit memory. Ids already read are skipped.
func (b *Batch) Prefetch(ctx context.Context, site string, ids []string) error {
	refIDs := b.missing(site, "ref:", ids)
	if err := b.load(ctx, site, refIDs); err != nil {
		return err
	}
	var keys []string
	for _, id := range ids {
		if o := b.docs[docKey{site, "ref:" + id}]; o != nil {
			keys = append(keys, string(o.Data))
		}
	}
	return b.load(ctx, site, b.missing(site, "pay:", keys))
}

// PrefetchSubscriptions reads the state of subscriptions in one query.
func (b *Batch) PrefetchSubscriptions(ctx context.Context, site string, ids []string) error {
	return b.load(ctx, site, b.missing(site, "sub:", ids))
}

// missing returns prefix+id for the ids whose document is not cached yet.
func (b *Batch) missing(site, prefix string, ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		k := docKey{site, prefix + id}
		if _, ok := b.docs[k]; ok || seen[k.id] || id == "" {
			continue
		}
		seen[k.id] = true
		out = append(out, k.id)
	}
	return out
}

// load reads documents into the cache; those absent are cached as nil.
func (b *Batch) load(ctx context.Context, site string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	got, err := b.meta.StripeObjects(ctx, site, ids)
	if err != nil {
		return fmt.Errorf("reconcile: read state: %w", err)
	}
	for _, id := range ids {
		b.docs[docKey{site, id}] = got[id]
	}
	return nil
}

// Ids returns every id a part joins by, for Prefetch.
func (p *Part) Ids() []string { return p.ids() }

// resolve returns the payment an object id belongs to (following merges), nil when none.
func (b *Batch) resolve(ctx context.Context, site, id string) (*Payment, error) {
	o, err := b.doc(ctx, site, "ref:"+id)
	if err != nil || o == nil {
		return nil, err
	}
	key := string(o.Data)
	for range 16 {
		p, err := b.payment(ctx, site, key)
		if err != nil || p == nil {
			return p, err
		}
		if p.MergedInto == "" {
			return p, nil
		}
		key = p.MergedInto
	}
	return nil, fmt.Errorf("reconcile: merge chain of %s too long", id)
}

// PutPart records the newest state of one object of a payment for site: it finds (or starts) the payment
// the object belongs to by every id it names, merges payments it proves to be the same, and marks the
// payment for reconciliation at Flush.
func (b *Batch) PutPart(ctx context.Context, site *tributary.Site, provider string, livemode bool, part *Part) error {
	if part.ID == "" {
		return nil
	}
	b.sites[site.ID] = site
	var found []*Payment
	for _, id := range part.ids() {
		p, err := b.resolve(ctx, site.ID, id)
		if err != nil {
			return err
		}
		if p != nil && !containsPayment(found, p) {
			found = append(found, p)
		}
	}
	var pay *Payment
	switch len(found) {
	case 0:
		key, rank := part.Key, part.KeyRank
		if key == "" {
			key = part.ID
		}
		pay = &Payment{Key: key, KeyRank: rank, Livemode: livemode, Parts: map[string]*Part{}}
		b.payments[docKey{site.ID, key}] = pay
	default:
		pay = b.merge(site, provider, found)
	}
	pay.Put(part)
	b.index(site, pay, part.ids(), part.At)
	b.touch(site, provider, pay)
	return nil
}

// merge unites payments found to describe the same money into the one with the strongest key; the
// others keep their key with MergedInto set, so their entries are reversed at Flush.
func (b *Batch) merge(site *tributary.Site, provider string, found []*Payment) *Payment {
	sort.Slice(found, func(i, j int) bool {
		if found[i].KeyRank != found[j].KeyRank {
			return found[i].KeyRank > found[j].KeyRank
		}
		return found[i].Key < found[j].Key
	})
	pay := found[0]
	for _, other := range found[1:] {
		for _, op := range other.Parts {
			pay.Put(op)
			b.index(site, pay, op.ids(), op.At)
		}
		b.index(site, pay, []string{other.Key}, time.Now())
		other.MergedInto, other.Parts = pay.Key, nil
		b.touch(site, provider, other)
	}
	b.touch(site, provider, pay)
	return pay
}

func containsPayment(ps []*Payment, p *Payment) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func (b *Batch) index(site *tributary.Site, pay *Payment, ids []string, at time.Time) {
	for _, id := range ids {
		k := docKey{site.ID, "ref:" + id}
		if o, ok := b.docs[k]; ok && o != nil && string(o.Data) == pay.Key {
			continue
		}
		b.docs[k] = &tributary.StripeObject{SiteID: site.ID, ID: "ref:" + id, Type: docRef, Livemode: pay.Livemode, EventCreated: at.UTC(), Data: []byte(pay.Key)}
		b.dirty[k] = true
	}
}

func (b *Batch) touch(site *tributary.Site, provider string, pay *Payment) {
	k := docKey{site.ID, pay.Key}
	b.payments[k] = pay
	b.touched[k] = true
	if provider != "" {
		b.source[k] = provider
	}
}

// PutSubscription records one state of a subscription.
func (b *Batch) PutSubscription(ctx context.Context, site *tributary.Site, provider string, livemode bool, id, customer string, st SubState, metadata map[string]string) error {
	if id == "" {
		return nil
	}
	b.sites[site.ID] = site
	k := docKey{site.ID, id}
	s, ok := b.subs[k]
	if !ok {
		o, err := b.doc(ctx, site.ID, "sub:"+id)
		if err != nil {
			return err
		}
		s = &Subscription{ID: id, Livemode: livemode}
		if o != nil {
			if err := json.Unmarshal(o.Data, s); err != nil {
				return fmt.Errorf("reconcile: decode subscription state %s: %w", id, err)
			}
		}
		b.subs[k] = s
	}
	if customer != "" {
		s.Customer = customer
	}
	s.Add(st)
	if !st.At.Before(s.MetaAt) {
		s.Metadata, s.MetaAt = metadata, st.At
	}
	b.subTouch[k] = true
	b.source[docKey{site.ID, "sub:" + id}] = provider
	return nil
}

// SubscriptionKnown reports whether any state of the subscription is known.
func (b *Batch) SubscriptionKnown(ctx context.Context, site, id string) (bool, error) {
	if s, ok := b.subs[docKey{site, id}]; ok && len(s.History) > 0 {
		return true, nil
	}
	o, err := b.doc(ctx, site, "sub:"+id)
	return o != nil, err
}

// PutCustomer records the newest state of a customer.
func (b *Batch) PutCustomer(ctx context.Context, site *tributary.Site, livemode bool, c *Customer) error {
	if c.ID == "" {
		return nil
	}
	o, err := b.doc(ctx, site.ID, "cus:"+c.ID)
	if err != nil {
		return err
	}
	if o != nil && o.EventCreated.After(c.At) {
		return nil
	}
	b.putDoc(site, "cus:"+c.ID, docCustomer, livemode, c.At, c)
	return nil
}

func (b *Batch) customer(ctx context.Context, site, id string) (*Customer, error) {
	if id == "" {
		return nil, nil
	}
	o, err := b.doc(ctx, site, "cus:"+id)
	if err != nil || o == nil {
		return nil, err
	}
	c := &Customer{}
	return c, json.Unmarshal(o.Data, c)
}

// subscriptionMetadata returns a subscription's metadata from the batch or its stored state.
func (b *Batch) subscriptionMetadata(site, id string) map[string]string {
	if id == "" {
		return nil
	}
	if s, ok := b.subs[docKey{site, id}]; ok {
		return s.Metadata
	}
	o := b.docs[docKey{site, "sub:" + id}]
	if o == nil {
		return nil
	}
	var s Subscription
	if json.Unmarshal(o.Data, &s) != nil {
		return nil
	}
	return s.Metadata
}

// Result tells what a flush changed.
type Result struct {
	Entries   []tributary.LedgerEntry
	Movements []tributary.MRRMovement
	Payments  []*tributary.Payment
}

// Flush reconciles every touched payment and subscription and writes state, ledger differences,
// payment records and links. State is written first: a crash after it is healed when the delivery is
// processed again, because differences are always taken against the ledger as stored.
func (b *Batch) Flush(ctx context.Context) (*Result, error) {
	res := &Result{}
	if err := b.match(ctx); err != nil {
		return nil, err
	}
	// State first.
	var objs []*tributary.StripeObject
	for k := range b.touched {
		pay := b.payments[k]
		b.putDoc(b.sites[k.site], "pay:"+pay.Key, docPayment, pay.Livemode, time.Now(), pay)
	}
	for k := range b.subTouch {
		s := b.subs[k]
		b.putDoc(b.sites[k.site], "sub:"+s.ID, docSubscription, s.Livemode, time.Now(), s)
	}
	for k := range b.dirty {
		if o := b.docs[k]; o != nil {
			objs = append(objs, o)
		}
	}
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].SiteID != objs[j].SiteID {
			return objs[i].SiteID < objs[j].SiteID
		}
		return objs[i].ID < objs[j].ID
	})
	if err := b.meta.PutStripeObjects(ctx, objs); err != nil {
		return nil, fmt.Errorf("reconcile: write state: %w", err)
	}
	b.dirty = map[docKey]bool{}

	// Ledger differences and MRR movements, per site.
	keys := sortedDocKeys(b.touched)
	held := map[docKey][]tributary.LedgerEntry{}
	bySite := map[string][]string{}
	for _, k := range keys {
		bySite[k.site] = append(bySite[k.site], k.id)
	}
	for site, ids := range bySite {
		es, err := b.events.LedgerForPayments(ctx, site, ids)
		if err != nil {
			return nil, fmt.Errorf("reconcile: read ledger: %w", err)
		}
		for _, e := range es {
			k := docKey{site, e.PaymentID}
			held[k] = append(held[k], e)
		}
	}
	entriesBySite := map[string][]tributary.LedgerEntry{}
	figures := map[docKey]Figures{}
	elsewhere := map[docKey]bool{}
	for _, k := range keys {
		pay := b.payments[k]
		targets, f := pay.Targets()
		if owned, err := b.owned(ctx, b.sites[k.site], pay); err != nil {
			return nil, err
		} else if !owned {
			// Another site's money (one Stripe account feeding several sites): never counted here.
			targets, f, elsewhere[k] = nil, Figures{}, true
		}
		figures[k] = f
		customer := ""
		for _, p := range pay.sortedParts() {
			if p.Customer != "" {
				customer = p.Customer
			}
		}
		for _, e := range Diff(pay.Key, targets, held[k]) {
			e.SiteID, e.Livemode, e.Source, e.CustomerID = k.site, pay.Livemode, firstNonEmpty(b.source[k], "stripe"), customer
			entriesBySite[k.site] = append(entriesBySite[k.site], e)
		}
	}
	movesBySite := map[string][]tributary.MRRMovement{}
	for _, k := range sortedDocKeys(b.subTouch) {
		s := b.subs[k]
		held, err := b.events.MRRMovementsOf(ctx, k.site, s.ID)
		if err != nil {
			return nil, fmt.Errorf("reconcile: read movements of %s: %w", s.ID, err)
		}
		for _, m := range DiffMovements(s, s.Movements(), held) {
			m.SiteID, m.Source = k.site, firstNonEmpty(b.source[docKey{k.site, "sub:" + s.ID}], "stripe")
			movesBySite[k.site] = append(movesBySite[k.site], m)
		}
	}
	for _, site := range sortedSites(b.sites) {
		es, ms := entriesBySite[site.ID], movesBySite[site.ID]
		if len(es) == 0 && len(ms) == 0 {
			continue
		}
		if err := b.recorder.Record(ctx, site, es, ms); err != nil {
			return nil, err
		}
		res.Entries = append(res.Entries, es...)
		res.Movements = append(res.Movements, ms...)
	}

	// Payment records (derived afresh from the parts: they describe, the ledger holds the money) and links.
	var recs []*tributary.Payment
	customers := map[string][]string{}
	for _, k := range keys {
		pay := b.payments[k]
		rec := &tributary.Payment{SiteID: k.site, ID: pay.Key, Source: firstNonEmpty(b.source[k], "stripe"), MergedInto: pay.MergedInto}
		pay.Describe(rec, figures[k])
		if elsewhere[k] {
			rec.Status = tributary.PaymentOtherSite
		}
		rec.UpdatedAt = time.Now().UTC()
		recs = append(recs, rec)
		if rec.CustomerID != "" {
			customers[k.site] = append(customers[k.site], rec.CustomerID)
		}
	}
	subsOf := map[string][]string{}
	for _, rec := range recs {
		if rec.SubscriptionID != "" {
			subsOf[rec.SiteID] = append(subsOf[rec.SiteID], rec.SubscriptionID)
		}
	}
	for site, ids := range customers {
		if err := b.load(ctx, site, b.missing(site, "cus:", ids)); err != nil {
			return nil, err
		}
	}
	for site, ids := range subsOf {
		if err := b.load(ctx, site, b.missing(site, "sub:", ids)); err != nil {
			return nil, err
		}
	}
	for _, rec := range recs {
		if sub := b.subscriptionMetadata(rec.SiteID, rec.SubscriptionID); len(sub) > 0 {
			for key, v := range sub {
				if _, ok := rec.Metadata[key]; !ok && v != "" {
					rec.Metadata[key] = v
				}
			}
		}
		if c, err := b.customer(ctx, rec.SiteID, rec.CustomerID); err != nil {
			return nil, err
		} else if c != nil {
			if rec.Email == "" {
				rec.Email = strings.ToLower(c.Email)
			}
			for key, v := range c.Metadata {
				if _, ok := rec.Metadata[key]; !ok && v != "" {
					rec.Metadata[key] = v
				}
			}
		}
	}
	if err := b.meta.PutPayments(ctx, recs); err != nil {
		return nil, fmt.Errorf("reconcile: write payment records: %w", err)
	}
	res.Payments = recs
	toLink := map[string][]ledger.Payment{}
	type linkedPay struct {
		site string
		pay  *Payment
	}
	var linked []linkedPay
	var identities []tributary.Identity
	for _, rec := range recs {
		vid, sid := LinkIDs(rec.Metadata)
		if rec.Status == tributary.PaymentOtherSite {
			continue
		}
		if rec.Status == tributary.PaymentPending || rec.Status == tributary.PaymentFailed || rec.Status == tributary.PaymentMerged {
			// Only money that arrived is attributed. But a checkout that carried linking keys and a
			// customer (a free trial, a 100%-off first invoice) tells who the customer is: stored as an
			// identify fact, it links the customer's later payments.
			if v, s := vid, sid; rec.CustomerID != "" && rec.Status == tributary.PaymentPending {
				if v == "" {
					v, s = ledger.ParseClientReferenceID(rec.ClientReferenceID)
				}
				pay := b.payments[docKey{rec.SiteID, rec.ID}]
				if fp := "identify:" + v + ":" + rec.CustomerID; tributary.ValidID(v) && pay.Linked != fp {
					pay.Linked = fp
					identities = append(identities, tributary.Identity{SiteID: rec.SiteID, At: rec.Created.UTC(), VisitorID: v, SessionID: s,
						CustomerID: rec.CustomerID, Email: rec.Email, Source: rec.Source})
					linked = append(linked, linkedPay{rec.SiteID, pay})
				}
			}
			continue
		}
		md := rec.Metadata
		lp := ledger.Payment{SiteID: rec.SiteID, PaymentID: rec.ID, At: rec.Created, VisitorID: vid, SessionID: sid,
			ClientReferenceID: rec.ClientReferenceID, CustomerID: rec.CustomerID, Email: rec.Email, Source: rec.Source,
			Referrer: md["referrer"], UTMSource: md["utm_source"], UTMMedium: md["utm_medium"], UTMCampaign: md["utm_campaign"]}
		pay := b.payments[docKey{rec.SiteID, rec.ID}]
		if fp := fmt.Sprintf("%+v", lp); pay.Linked != fp {
			pay.Linked = fp
			toLink[rec.SiteID] = append(toLink[rec.SiteID], lp)
			linked = append(linked, linkedPay{rec.SiteID, pay})
		}
	}
	if err := b.events.InsertIdentities(ctx, identities); err != nil {
		return nil, fmt.Errorf("reconcile: store customer identities: %w", err)
	}
	for _, site := range sortedSites(b.sites) {
		ps := toLink[site.ID]
		// Earlier payments first: a customer's earlier linked payment links the later ones.
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].At.Before(ps[j].At) })
		ls, err := b.recorder.LinkAll(ctx, site, ps)
		if err != nil {
			return nil, err
		}
		// A customer just linked to a visitor links the customer's payments that waited unattributed
		// (a renewal processed before the signup it belongs to).
		linkedCustomers := map[string]bool{}
		for _, l := range ls {
			if l.CustomerID != "" && l.VisitorID != "" && l.LinkMethod != tributary.LinkCustomer {
				linkedCustomers[l.CustomerID] = true
			}
		}
		for _, id := range identities {
			if id.SiteID == site.ID {
				linkedCustomers[id.CustomerID] = true
			}
		}
		if len(linkedCustomers) > 0 {
			if _, err := b.recorder.RelinkCustomers(ctx, site, linkedCustomers); err != nil {
				return nil, err
			}
		}
	}
	if len(linked) > 0 {
		// What each payment was linked with, so its next event skips the lookups.
		var objs []*tributary.StripeObject
		for _, l := range linked {
			b.putDoc(b.sites[l.site], "pay:"+l.pay.Key, docPayment, l.pay.Livemode, time.Now(), l.pay)
			objs = append(objs, b.docs[docKey{l.site, "pay:" + l.pay.Key}])
		}
		if err := b.meta.PutStripeObjects(ctx, objs); err != nil {
			return nil, fmt.Errorf("reconcile: write link state: %w", err)
		}
		b.dirty = map[docKey]bool{}
	}
	b.touched, b.subTouch = map[docKey]bool{}, map[docKey]bool{}
	return res, nil
}

// SiteKeys are the metadata keys that name the site a payment belongs to: Tributary's own and those
// other analytics products use.
var SiteKeys = []string{"tributary_site", "websiteId", "client_id"}

// Secondary is the state document marking a site that shares a provider account with another site, its
// default: payments that name no site belong to the default one.
const Secondary = "route:secondary"

// owned reports whether pay belongs to site: a payment naming a site (by id or domain) belongs to that
// site; one naming none belongs to its account's default site.
func (b *Batch) owned(ctx context.Context, site *tributary.Site, pay *Payment) (bool, error) {
	for _, p := range pay.Parts {
		for _, k := range SiteKeys {
			if v := strings.TrimSpace(p.Metadata[k]); v != "" {
				return v == site.ID || strings.EqualFold(v, site.Domain), nil
			}
		}
	}
	o, err := b.doc(ctx, site.ID, Secondary)
	return o == nil, err
}

// LinkIDs reads the visitor and session ids from metadata keys (DESIGN §4).
func LinkIDs(md map[string]string) (visitor, session string) {
	visitor = firstNonEmpty(md["tributary_visitor_id"], md["visitor_id"], md["visitorId"])
	session = firstNonEmpty(md["tributary_session_id"], md["session_id"], md["sessionId"])
	return visitor, session
}

func sortedDocKeys(m map[docKey]bool) []docKey {
	out := make([]docKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].site != out[j].site {
			return out[i].site < out[j].site
		}
		return out[i].id < out[j].id
	})
	return out
}

func sortedSites(m map[string]*tributary.Site) []*tributary.Site {
	out := make([]*tributary.Site, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// matchWindow is how far apart in time the two halves of one payment may be for match to join them.
const matchWindow = time.Hour

// candidate is a payment waiting for its other half (see match).
type candidate struct {
	Key      string    `json:"key"`
	Side     byte      `json:"side"`
	Currency string    `json:"currency"`
	Amount   int64     `json:"amount"`
	At       time.Time `json:"at"`
	Invoice  string    `json:"invoice,omitempty"`
}

// side tells which half of a payment pay is when nothing names the other half: 'b' for a bill (a
// checkout session or invoice) without the intent or charge that paid it, 'p' for a payment (an intent or
// charge) without its bill. Stripe's newer invoices do not name their payment (it is named only by
// invoice_payment events), older payment intents name their invoice but subscription-mode checkout
// sessions before 2022-08 name neither: an endpoint that receives only some event types can see both
// halves of one payment unjoined. It returns 0 for a payment that is whole or proves no money.
func (pay *Payment) side() (side byte, c candidate) {
	var bill, money bool
	for _, p := range pay.Parts {
		switch p.Kind {
		case Order, Invoice:
			bill = true
			if p.KeyRank >= KeyCharge {
				return 0, c // it names its payment: the join is by reference
			}
			if p.Paid > 0 && (c.Amount == 0 || p.Kind == Invoice) {
				c.Amount, c.Currency = p.Paid, p.Currency
				c.At = p.At
				if p.Kind == Invoice {
					c.At, c.Invoice = firstTime(p.Created, p.At), p.ID
				}
			}
		case Intent, Charge:
			money = true
		case InvoicePayment:
			return 0, c
		}
	}
	switch {
	case bill && !money && c.Amount > 0:
		side = 'b'
	case money && !bill:
		_, f := pay.Targets()
		if f.Gross <= 0 {
			return 0, c
		}
		c.Amount, c.Currency, c.At = f.Gross, f.Currency, f.PaidAt
		for _, p := range pay.Parts {
			if p.Invoice != "" {
				c.Invoice = p.Invoice
			}
		}
		side = 'p'
	default:
		return 0, c
	}
	c.Key, c.Side = pay.Key, side
	return side, c
}

// match joins the two halves of payments that nothing names to each other: a bill and a payment of the
// same customer, currency and amount, within matchWindow of each other (and, when both name an invoice,
// the same invoice). Candidates wait per customer in the state.
func (b *Batch) match(ctx context.Context) error {
	want := map[string][]string{}
	for _, k := range sortedDocKeys(b.touched) {
		for _, p := range b.payments[k].Parts {
			if p.Customer != "" {
				want[k.site] = append(want[k.site], p.Customer)
			}
		}
	}
	for site, ids := range want {
		if err := b.load(ctx, site, b.missing(site, "match:", ids)); err != nil {
			return err
		}
		// The candidates' payments, in two more queries.
		var keys []string
		for _, c := range ids {
			if o := b.docs[docKey{site, "match:" + c}]; o != nil {
				var list []candidate
				if json.Unmarshal(o.Data, &list) == nil {
					for _, cand := range list {
						keys = append(keys, cand.Key)
					}
				}
			}
		}
		if err := b.Prefetch(ctx, site, keys); err != nil {
			return err
		}
	}
	for _, k := range sortedDocKeys(b.touched) {
		pay := b.payments[k]
		if pay.MergedInto != "" {
			continue
		}
		side, c := pay.side()
		customer := ""
		for _, p := range pay.sortedParts() {
			if p.Customer != "" {
				customer = p.Customer
			}
		}
		if side == 0 || customer == "" {
			continue
		}
		o, err := b.doc(ctx, k.site, "match:"+customer)
		if err != nil {
			return err
		}
		var list []candidate
		if o != nil {
			if err := json.Unmarshal(o.Data, &list); err != nil {
				return fmt.Errorf("reconcile: decode match candidates of %s: %w", customer, err)
			}
		}
		kept := list[:0]
		var other *Payment
		for _, cand := range list {
			if cand.Key == pay.Key {
				continue
			}
			if other == nil && cand.Side != side && cand.Currency == c.Currency && cand.Amount == c.Amount &&
				absDuration(cand.At.Sub(c.At)) <= matchWindow && (cand.Invoice == "" || c.Invoice == "" || cand.Invoice == c.Invoice) {
				op, err := b.resolve(ctx, k.site, cand.Key)
				if err != nil {
					return err
				}
				if op != nil && op != pay {
					if s2, _ := op.side(); s2 == cand.Side {
						other = op
						continue
					}
				}
			}
			kept = append(kept, cand)
		}
		if other == nil {
			kept = append(kept, c)
		} else {
			b.merge(b.sites[k.site], b.source[k], []*Payment{pay, other})
		}
		b.putDoc(b.sites[k.site], "match:"+customer, "match_candidates", pay.Livemode, time.Now(), kept)
	}
	return nil
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Package ledger turns payments from any source (Stripe, the server-to-server API) into stored money:
// it converts each entry to the site's reporting currency with the rate and rate date used, links the
// payment to a visitor in the documented order, and appends entries, links and MRR movements
// idempotently. The money rules live here once, so Stripe and API payments obey the same ones.
package ledger

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/fx"
	"github.com/tributary/tributary/referrer"
)

// Payment is what linking needs to know about one payment.
type Payment struct {
	SiteID    string
	PaymentID string
	At        time.Time
	// VisitorID and SessionID come from metadata keys (DESIGN §4).
	VisitorID, SessionID string
	// ClientReferenceID is Stripe's field: the tracker's "trib-<vid>-<sid>" or a raw visitor id.
	ClientReferenceID string
	CustomerID        string
	Email             string
	Source            string // stripe or api
	// Referrer and UTM fields, if the payment carried any, give an unattributed payment's synthetic
	// session its source.
	Referrer, UTMSource, UTMMedium, UTMCampaign string
}

// Recorder writes money facts.
type Recorder struct {
	meta   tributary.MetaStore
	events tributary.EventStore

	// BeforeAppend, when set, is given every batch of entries and MRR movements about to be appended
	// (after conversion, before the write): the destinations outbox records them first, so a crash
	// between the two cannot lose a conversion or a subscription event (a retry derives the same entries
	// and movements with the same ids). Facts already stored may be given again; the hook must be
	// idempotent by entry and movement id.
	BeforeAppend func(ctx context.Context, site *tributary.Site, entries []tributary.LedgerEntry, ms []tributary.MRRMovement) error

	mu     sync.Mutex
	table  *fx.Table
	loaded bool
}

// New returns a Recorder.
func New(meta tributary.MetaStore, events tributary.EventStore) *Recorder {
	return &Recorder{meta: meta, events: events}
}

// InvalidateRates makes the next conversion reload the rate table (after rates were imported).
func (r *Recorder) InvalidateRates() {
	r.mu.Lock()
	r.loaded = false
	r.mu.Unlock()
}

func (r *Recorder) rates(ctx context.Context) (*fx.Table, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		return r.table, nil
	}
	stored, err := r.meta.ExchangeRates(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: load rates: %w", err)
	}
	rates := make([]fx.Rate, len(stored))
	for i, s := range stored {
		rates[i] = fx.Rate{Date: s.Date, Currency: s.Currency, PerEUR: s.PerEUR}
	}
	t, err := fx.NewTable(rates)
	if err != nil {
		return nil, fmt.Errorf("ledger: rate table: %w", err)
	}
	r.table, r.loaded = t, true
	return t, nil
}

// Convert fills the reporting fields of each entry for the site. Without a rate the entry stays
// unconverted (ReportingAmount 0, Converted false): never a silent 1:1.
func (r *Recorder) Convert(ctx context.Context, site *tributary.Site, entries []tributary.LedgerEntry) error {
	var table *fx.Table
	for i := range entries {
		e := &entries[i]
		e.Currency = strings.ToUpper(e.Currency)
		e.ReportingCurrency = site.Currency
		day := e.OccurredAt.In(site.Location())
		if e.Currency == site.Currency {
			e.ReportingAmount, e.Rate, e.RateDate, e.Converted = e.Amount, "1", day.Format("2006-01-02"), true
			continue
		}
		if table == nil {
			t, err := r.rates(ctx)
			if err != nil {
				return err
			}
			table = t
		}
		c, ok := table.Convert(e.Amount, e.Currency, site.Currency, day)
		if !ok {
			e.ReportingAmount, e.Rate, e.RateDate, e.Converted = 0, "", "", false
			continue
		}
		e.ReportingAmount, e.Rate, e.RateDate, e.Converted = c.Amount, c.Rate, c.RateDate, true
	}
	return nil
}

// ConvertMovements fills the reporting fields of MRR movements the same way.
func (r *Recorder) ConvertMovements(ctx context.Context, site *tributary.Site, ms []tributary.MRRMovement) error {
	entries := make([]tributary.LedgerEntry, len(ms))
	for i, m := range ms {
		entries[i] = tributary.LedgerEntry{Amount: m.Delta, Currency: m.Currency, OccurredAt: m.At}
	}
	if err := r.Convert(ctx, site, entries); err != nil {
		return err
	}
	for i := range ms {
		ms[i].Currency = entries[i].Currency
		ms[i].ReportingDelta, ms[i].ReportingCurrency, ms[i].Converted = entries[i].ReportingAmount, entries[i].ReportingCurrency, entries[i].Converted
	}
	return nil
}

// ParseClientReferenceID reads the tracker's "trib-<visitor>-<session>" value, or takes a bare id as the
// visitor id.
func ParseClientReferenceID(s string) (visitorID, sessionID string) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "trib-"); ok {
		// The tracker's ids are letters and digits, so "-" separates them unambiguously.
		v, sess, _ := strings.Cut(rest, "-")
		if tributary.ValidID(v) && (sess == "" || tributary.ValidID(sess)) {
			return v, sess
		}
		return "", ""
	}
	if tributary.ValidID(s) {
		return s, ""
	}
	return "", ""
}

// Link decides how the payment is linked, in the order of DESIGN §3.6, and appends the link fact unless
// the newest stored link already says the same (re-linking is idempotent). A payment linked by an
// earlier method is never downgraded by a later, weaker observation.
func (r *Recorder) Link(ctx context.Context, site *tributary.Site, p Payment) (*tributary.Identity, error) {
	ls, err := r.LinkAll(ctx, site, []Payment{p})
	if err != nil {
		return nil, err
	}
	return ls[0], nil
}

// LinkAll links several payments of one site as Link does, with their stored links read in one query and
// the new link facts written in one insert. A payment linked earlier in the same call counts as an
// earlier payment of its customer for the ones after it.
func (r *Recorder) LinkAll(ctx context.Context, site *tributary.Site, ps []Payment) ([]*tributary.Identity, error) {
	out := make([]*tributary.Identity, len(ps))
	if len(ps) == 0 {
		return out, nil
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.PaymentID
	}
	prevs, err := r.events.PaymentLinks(ctx, site.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("ledger: read links: %w", err)
	}
	var fresh []tributary.Identity
	byCustomer := map[string]*tributary.Identity{} // links made in this call
	lc := &lookups{r: r, site: site.ID, customers: map[string]lookup{}, emails: map[string]lookup{}}
	if err := lc.prefetch(ctx, ps); err != nil {
		return nil, err
	}
	for i, p := range ps {
		l, isNew, err := r.link(ctx, site, p, prevs[p.PaymentID], byCustomer, lc)
		if err != nil {
			return nil, err
		}
		out[i] = l
		if isNew {
			fresh = append(fresh, *l)
			prevs[p.PaymentID] = l
			if l.CustomerID != "" && l.VisitorID != "" {
				byCustomer[l.CustomerID] = l
			}
		}
	}
	if err := r.events.InsertIdentities(ctx, fresh); err != nil {
		return nil, fmt.Errorf("ledger: store links: %w", err)
	}
	return out, nil
}

// link works out one payment's link given its newest stored link (nil when none); isNew says whether the
// result must be stored.
func (r *Recorder) link(ctx context.Context, site *tributary.Site, p Payment, prev *tributary.Identity, local map[string]*tributary.Identity, lc *lookups) (l *tributary.Identity, isNew bool, err error) {
	l = &tributary.Identity{SiteID: p.SiteID, At: p.At.UTC(), PaymentID: p.PaymentID, CustomerID: p.CustomerID,
		Email: strings.ToLower(strings.TrimSpace(p.Email)), Source: p.Source}
	switch {
	case tributary.ValidID(p.VisitorID):
		l.VisitorID, l.SessionID, l.LinkMethod = p.VisitorID, p.SessionID, tributary.LinkMetadata
		if !tributary.ValidID(l.SessionID) {
			l.SessionID = ""
		}
	default:
		if v, s := ParseClientReferenceID(p.ClientReferenceID); v != "" {
			l.VisitorID, l.SessionID, l.LinkMethod = v, s, tributary.LinkClientReferenceID
		}
	}
	if l.LinkMethod == "" && p.CustomerID != "" {
		t, err := lc.get(ctx, lc.customers, p.CustomerID, p.At, r.events.VisitorByCustomer)
		if lc := local[p.CustomerID]; lc != nil && lc.PaymentID != p.PaymentID && !lc.At.After(p.At) && (err != nil || !t.At.After(lc.At)) {
			t, err = &tributary.LinkTarget{VisitorID: lc.VisitorID, SessionID: lc.SessionID, At: lc.At}, nil
		}
		// The customer's newest link may be this payment's own, written by an earlier event of the same
		// payment (an e-mail match carries the customer id): that is no earlier payment of the customer,
		// and taking it would relabel the e-mail match as a customer one on the payment's next event.
		own := err == nil && prev != nil && prev.VisitorID == t.VisitorID && prev.SessionID == t.SessionID && prev.At.Equal(t.At)
		if err == nil && !own {
			l.VisitorID, l.SessionID, l.LinkMethod = t.VisitorID, t.SessionID, tributary.LinkCustomer
		} else if err != nil && tributary.ErrorCode(err) != tributary.ENOTFOUND {
			return nil, false, fmt.Errorf("ledger: link %s by customer: %w", p.PaymentID, err)
		}
	}
	if l.LinkMethod == "" && l.Email != "" {
		t, err := lc.get(ctx, lc.emails, l.Email, p.At, r.events.VisitorByEmail)
		if err == nil {
			l.VisitorID, l.SessionID, l.LinkMethod = t.VisitorID, t.SessionID, tributary.LinkEmail
		} else if tributary.ErrorCode(err) != tributary.ENOTFOUND {
			return nil, false, fmt.Errorf("ledger: link %s by email: %w", p.PaymentID, err)
		}
	}
	if l.LinkMethod == "" {
		before, err := lc.beforeTracking(ctx, p.At)
		if err != nil {
			return nil, false, err
		}
		if before {
			l.LinkMethod, l.Channel = tributary.LinkBeforeTracking, tributary.ChannelBeforeTracking
			return r.keep(l, prev)
		}
	}
	if l.LinkMethod == "" {
		l.LinkMethod = tributary.LinkUnattributed
		res := referrer.Classify(referrer.Input{Referrer: p.Referrer, SiteDomain: site.Domain,
			UTMSource: p.UTMSource, UTMMedium: p.UTMMedium, UTMCampaign: p.UTMCampaign})
		l.Channel, l.ReferrerSource = res.Channel, res.Source
		l.UTMSource, l.UTMMedium, l.UTMCampaign = p.UTMSource, p.UTMMedium, p.UTMCampaign
		if l.Channel == "" {
			l.Channel = "Direct"
		}
	}
	return r.keep(l, prev)
}

// keep decides between a new link and the stored one: a weaker method never replaces a stronger one,
// and a link equal to the stored one is not stored again.
func (r *Recorder) keep(l, prev *tributary.Identity) (*tributary.Identity, bool, error) {
	if prev != nil {
		if prev.LinkMethod != tributary.LinkUnattributed && (l.LinkMethod == tributary.LinkUnattributed || rank(l.LinkMethod) > rank(prev.LinkMethod)) {
			return prev, false, nil // keep the stronger link
		}
		if prev.VisitorID == l.VisitorID && prev.SessionID == l.SessionID && prev.LinkMethod == l.LinkMethod &&
			(l.LinkMethod != tributary.LinkUnattributed || prev.Channel == l.Channel) {
			return prev, false, nil
		}
		if !l.At.After(prev.At) {
			l.At = prev.At.Add(time.Microsecond) // the newer fact must sort after the one it replaces
		}
	}
	return l, true, nil
}

// lookups caches, for one LinkAll, each customer's and e-mail's newest visitor fact: when it is no later
// than a payment, it is that payment's answer too, so a batch of one customer's payments asks once.
type lookups struct {
	r    *Recorder
	site string
	// trackedBy is the earliest time known to have a tracked event before it, untracked the latest
	// known not to (tracking only ever starts once).
	trackedBy, untracked time.Time
	anyEvents            *bool
	customers            map[string]lookup
	emails               map[string]lookup
}

type lookup struct {
	t   *tributary.LinkTarget
	err error
}

var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) // within every backend's time range

// beforeTracking reports whether at is before the site's first tracked event. A site with no tracked
// event yet has not started tracking: its payments stay unattributed (they may link later).
func (lc *lookups) beforeTracking(ctx context.Context, at time.Time) (bool, error) {
	switch {
	case !lc.trackedBy.IsZero() && !at.Before(lc.trackedBy):
		return false, nil
	case !lc.untracked.IsZero() && !at.After(lc.untracked):
		return true, nil
	}
	if lc.anyEvents == nil {
		n, err := lc.r.events.CountEvents(ctx, lc.site, tributary.EarliestEventTime, farFuture)
		if err != nil {
			return false, fmt.Errorf("ledger: tracked events: %w", err)
		}
		any := n > 0
		lc.anyEvents = &any
	}
	if !*lc.anyEvents {
		return false, nil
	}
	n, err := lc.r.events.CountEvents(ctx, lc.site, tributary.EarliestEventTime, at)
	if err != nil {
		return false, fmt.Errorf("ledger: first tracked event: %w", err)
	}
	if n > 0 {
		lc.trackedBy = at
		return false, nil
	}
	lc.untracked = at
	return true, nil
}

// prefetch reads the newest fact of every customer and e-mail of ps in one call.
func (lc *lookups) prefetch(ctx context.Context, ps []Payment) error {
	var customers, emails []string
	for _, p := range ps {
		if p.CustomerID != "" {
			customers = append(customers, p.CustomerID)
		}
		if e := strings.ToLower(strings.TrimSpace(p.Email)); e != "" {
			emails = append(emails, e)
		}
	}
	if len(customers) == 0 && len(emails) == 0 {
		return nil
	}
	byC, byE, err := lc.r.events.NewestVisitorFacts(ctx, lc.site, customers, emails)
	if err != nil {
		return fmt.Errorf("ledger: read links: %w", err)
	}
	notFound := tributary.Errorf(tributary.ENOTFOUND, "no visitor")
	for _, c := range customers {
		if t := byC[c]; t != nil {
			lc.customers[c] = lookup{t: t}
		} else {
			lc.customers[c] = lookup{err: notFound}
		}
	}
	for _, e := range emails {
		if t := byE[e]; t != nil {
			lc.emails[e] = lookup{t: t}
		} else {
			lc.emails[e] = lookup{err: notFound}
		}
	}
	return nil
}

func (lc *lookups) get(ctx context.Context, cache map[string]lookup, key string, at time.Time,
	find func(ctx context.Context, site, key string, before time.Time) (*tributary.LinkTarget, error)) (*tributary.LinkTarget, error) {
	c, ok := cache[key]
	if !ok {
		c.t, c.err = find(ctx, lc.site, key, farFuture)
		if c.err != nil && tributary.ErrorCode(c.err) != tributary.ENOTFOUND {
			return nil, c.err
		}
		cache[key] = c
	}
	switch {
	case c.err != nil: // nothing at all, so nothing before at either
		return nil, c.err
	case !c.t.At.After(at):
		return c.t, nil
	}
	return find(ctx, lc.site, key, at)
}

// rank orders link methods by strength (lower is stronger).
func rank(m string) int {
	switch m {
	case tributary.LinkMetadata:
		return 0
	case tributary.LinkClientReferenceID:
		return 1
	case tributary.LinkCustomer:
		return 2
	case tributary.LinkEmail:
		return 3
	}
	return 4
}

// Record converts and appends entries and movements; entries with ids already stored are skipped.
func (r *Recorder) Record(ctx context.Context, site *tributary.Site, entries []tributary.LedgerEntry, ms []tributary.MRRMovement) error {
	if err := r.Convert(ctx, site, entries); err != nil {
		return err
	}
	if err := r.ConvertMovements(ctx, site, ms); err != nil {
		return err
	}
	if r.BeforeAppend != nil && (len(entries) > 0 || len(ms) > 0) {
		if err := r.BeforeAppend(ctx, site, entries, ms); err != nil {
			return fmt.Errorf("ledger: record before append: %w", err)
		}
	}
	if _, err := r.events.InsertLedger(ctx, entries); err != nil {
		return fmt.Errorf("ledger: append entries: %w", err)
	}
	if _, err := r.events.InsertMRRMovements(ctx, ms); err != nil {
		return fmt.Errorf("ledger: append mrr movements: %w", err)
	}
	return nil
}

// Relink retries unattributed payments of the site that carry a customer id or e-mail, so a payment that
// arrived before its visitor's identify links as soon as the identify is stored.
func (r *Recorder) Relink(ctx context.Context, site *tributary.Site) (int, error) {
	return r.RelinkCustomers(ctx, site, nil)
}

// RelinkCustomers is Relink for the unattributed payments of the given customers only (all when nil):
// what a new link of those customers can change.
func (r *Recorder) RelinkCustomers(ctx context.Context, site *tributary.Site, customers map[string]bool) (int, error) {
	var pending []tributary.Identity
	var err error
	if customers == nil {
		pending, err = r.events.UnattributedPayments(ctx, site.ID, 500)
	} else {
		list := make([]string, 0, len(customers))
		for c := range customers {
			list = append(list, c)
		}
		sort.Strings(list)
		pending, err = r.events.UnattributedPaymentsOf(ctx, site.ID, list, 500)
	}
	if err != nil {
		return 0, err
	}
	var ps []Payment
	for _, p := range pending {
		ps = append(ps, Payment{SiteID: site.ID, PaymentID: p.PaymentID, At: time.Now().UTC(), CustomerID: p.CustomerID, Email: p.Email,
			Source: p.Source, UTMSource: p.UTMSource, UTMMedium: p.UTMMedium, UTMCampaign: p.UTMCampaign})
	}
	ls, err := r.LinkAll(ctx, site, ps)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range ls {
		if l.LinkMethod != tributary.LinkUnattributed {
			n++
		}
	}
	return n, nil
}

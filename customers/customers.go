// Package customers turns the ledger into people: who paid, how much they are worth net of refunds and
// disputes, their subscriptions, and the visits that led to each payment. It reads only the domain
// interfaces, so it works on every backend.
//
// A customer is a connected group of payments: two payments belong to one person when they share a
// Stripe (or API) customer id or an e-mail address. The customer's id is the smallest customer id of
// the group, else "email:<address>", else "payment:<id>" for a guest payment with neither.
package customers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/people"
)

// Lookback is how far before a payment the journey shows visits (the attribution default).
const Lookback = 30 * 24 * time.Hour

// Customer is one paying person in the list.
type Customer struct {
	ID           string    `json:"id"`
	Email        string    `json:"email,omitempty"`
	CustomerIDs  []string  `json:"customer_ids,omitempty"`
	FirstPayment time.Time `json:"first_payment"`
	LastPayment  time.Time `json:"last_payment"`
	Payments     int       `json:"payments"`
	// Money in the site's reporting currency, minor units, converted entries only.
	Gross    int64  `json:"gross"`
	Refunds  int64  `json:"refunds"`  // negative or zero
	Disputes int64  `json:"disputes"` // net of reinstatements, negative or zero
	LTV      int64  `json:"ltv"`      // gross + refunds + disputes
	Currency string `json:"currency"`
	// Unconverted counts entries without an exchange rate, left out of the sums.
	Unconverted int `json:"unconverted"`
	// MRR is the current monthly recurring revenue of the person's subscriptions.
	MRR int64 `json:"mrr"`
	// Channel is the channel of the visit the first payment is linked to ("" when unattributed).
	Channel string `json:"channel,omitempty"`
}

// Payment is one payment of a customer with the visits before it.
type Payment struct {
	ID         string                   `json:"id"`
	At         time.Time                `json:"at"`
	Status     string                   `json:"status,omitempty"`
	Amount     int64                    `json:"amount"`
	Currency   string                   `json:"currency"`
	Reporting  int64                    `json:"reporting_amount"`
	Converted  bool                     `json:"converted"`
	Product    string                   `json:"product,omitempty"`
	LinkMethod string                   `json:"link_method"`
	VisitorID  string                   `json:"visitor_id,omitempty"`
	Entries    []tributary.LedgerEntry  `json:"entries"`
	Sessions   []tributary.VisitSummary `json:"sessions"`
}

// Subscription is the state of one subscription as its MRR movements tell it.
type Subscription struct {
	ID        string                  `json:"id"`
	MRR       int64                   `json:"mrr"` // reporting currency, minor units
	Status    string                  `json:"status"`
	Movements []tributary.MRRMovement `json:"movements"`
}

// Detail is a customer with every payment, refund, dispute, subscription and the journey.
type Detail struct {
	Customer
	PaymentList   []Payment      `json:"payment_list"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// Query selects and orders the list.
type Query struct {
	// Search matches a substring of the e-mail, customer ids or id (case-insensitive).
	Search string
	// Sort is ltv (default, largest first), last_payment (newest first), first_payment (oldest first)
	// or payments (most first).
	Sort          string
	Limit, Offset int
	// Test selects test-mode money instead of live.
	Test bool
}

// Sorts lists the accepted Query.Sort values.
var Sorts = []string{"ltv", "last_payment", "first_payment", "payments"}

// Service answers customer questions for one installation.
type Service struct {
	Meta   tributary.MetaStore
	Events tributary.EventStore
}

// person is a customer being assembled.
type person struct {
	c        Customer
	payments []string
	first    string // the first payment's first key: the id of a person with no customer id or e-mail
}

// build groups the site's ledger into people.
func (s *Service) build(ctx context.Context, site *tributary.Site, test bool) ([]*person, map[string][]tributary.LedgerEntry, map[string]*tributary.Payment, error) {
	entries, err := s.Events.Ledger(ctx, site.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("customers: ledger: %w", err)
	}
	byPayment := map[string][]tributary.LedgerEntry{}
	var order []string
	for _, e := range entries {
		if e.Livemode == test || e.Kind == tributary.EntryPaymentFailed {
			continue
		}
		if _, ok := byPayment[e.PaymentID]; !ok {
			order = append(order, e.PaymentID)
		}
		byPayment[e.PaymentID] = append(byPayment[e.PaymentID], e)
	}
	records, err := s.records(ctx, site.ID, order)
	if err != nil {
		return nil, nil, nil, err
	}
	// Payments sharing a customer id or an e-mail belong to one person: each payment is a member of the
	// identity graph, keyed by its customer ids and e-mails.
	g := people.New()
	keysOf := map[string][]string{}
	for _, pid := range order {
		var keys []string
		add := func(k string) {
			for _, x := range keys {
				if x == k {
					return
				}
			}
			keys = append(keys, k)
		}
		for _, e := range byPayment[pid] {
			if e.CustomerID != "" {
				add("cus:" + e.CustomerID)
			}
			if e.Email != "" {
				add("email:" + strings.ToLower(e.Email))
			}
		}
		if r := records[pid]; r != nil {
			if r.CustomerID != "" {
				add("cus:" + r.CustomerID)
			}
			if r.Email != "" {
				add("email:" + strings.ToLower(r.Email))
			}
		}
		g.Add(people.Row{"payment:" + pid})
		for _, k := range keys {
			if c, ok := strings.CutPrefix(k, "cus:"); ok {
				g.Add(people.Row{"payment:" + pid, "", c, ""})
			} else {
				g.Add(people.Row{"payment:" + pid, "", "", k[len("email:"):]})
			}
		}
		if len(keys) == 0 {
			keys = []string{"payment:" + pid}
		}
		keysOf[pid] = keys
	}
	persons := map[int]*person{}
	var roots []int
	for _, pid := range order {
		root := g.Group("payment:" + pid)
		p := persons[root]
		if p == nil {
			p = &person{c: Customer{Currency: site.Currency}, first: keysOf[pid][0]}
			persons[root] = p
			roots = append(roots, root)
		}
		p.payments = append(p.payments, pid)
		for _, k := range keysOf[pid] {
			switch {
			case strings.HasPrefix(k, "cus:"):
				if !contains(p.c.CustomerIDs, k[4:]) {
					p.c.CustomerIDs = append(p.c.CustomerIDs, k[4:])
				}
			case strings.HasPrefix(k, "email:") && p.c.Email == "":
				p.c.Email = k[6:]
			}
		}
		for _, e := range byPayment[pid] {
			if !e.Converted {
				p.c.Unconverted++
				continue
			}
			switch e.Kind {
			case tributary.EntryPayment:
				p.c.Gross += e.ReportingAmount
			case tributary.EntryRefund:
				p.c.Refunds += e.ReportingAmount
			case tributary.EntryDisputeWithdrawn, tributary.EntryDisputeReinstated:
				p.c.Disputes += e.ReportingAmount
			}
		}
		// A payment counts once, at its first payment entry, when its payment entries add up to more
		// than zero: reconciliation appends differences (a corrected gross, a payment merged into
		// another nets to zero).
		var net int64
		var first time.Time
		for _, e := range byPayment[pid] {
			if e.Kind != tributary.EntryPayment {
				continue
			}
			net += e.Amount
			if first.IsZero() || e.OccurredAt.Before(first) {
				first = e.OccurredAt
			}
		}
		if net > 0 {
			p.c.Payments++
			if p.c.FirstPayment.IsZero() || first.Before(p.c.FirstPayment) {
				p.c.FirstPayment = first
			}
			if first.After(p.c.LastPayment) {
				p.c.LastPayment = first
			}
		}
	}
	out := make([]*person, 0, len(roots))
	for _, root := range roots {
		p := persons[root]
		sort.Strings(p.c.CustomerIDs)
		switch {
		case len(p.c.CustomerIDs) > 0:
			p.c.ID = p.c.CustomerIDs[0]
		case p.c.Email != "":
			p.c.ID = "email:" + p.c.Email
		default:
			p.c.ID = p.first
		}
		p.c.LTV = p.c.Gross + p.c.Refunds + p.c.Disputes
		out = append(out, p)
	}
	if err := s.addMRR(ctx, site, test, out); err != nil {
		return nil, nil, nil, err
	}
	return out, byPayment, records, nil
}

// records loads the payment records (status, e-mail, customer) of the payments; API payments have none.
func (s *Service) records(ctx context.Context, siteID string, ids []string) (map[string]*tributary.Payment, error) {
	out, err := s.Meta.PaymentsByID(ctx, siteID, ids)
	if err != nil {
		return nil, fmt.Errorf("customers: payments: %w", err)
	}
	return out, nil
}

// addMRR sums each person's subscriptions' movements (converted ones) into their current MRR.
func (s *Service) addMRR(ctx context.Context, site *tributary.Site, test bool, people []*person) error {
	ms, err := s.Events.MRRMovements(ctx, site.ID)
	if err != nil {
		return fmt.Errorf("customers: mrr movements: %w", err)
	}
	owner := map[string]*person{}
	for _, p := range people {
		for _, c := range p.c.CustomerIDs {
			owner[c] = p
		}
	}
	for _, m := range ms {
		if m.Livemode == test || !m.Converted {
			continue
		}
		if p := owner[m.CustomerID]; p != nil {
			p.c.MRR += m.ReportingDelta
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// List returns one page of customers and how many match in all.
func (s *Service) List(ctx context.Context, site *tributary.Site, q Query) ([]Customer, int, error) {
	if q.Sort == "" {
		q.Sort = "ltv"
	}
	if !contains(Sorts, q.Sort) {
		return nil, 0, tributary.FieldError("sort", "sort %q is not one of %s", q.Sort, strings.Join(Sorts, ", "))
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 || q.Offset < 0 {
		return nil, 0, tributary.FieldError("limit", "limit must be 1 to 500 and offset not negative")
	}
	people, _, records, err := s.build(ctx, site, q.Test)
	if err != nil {
		return nil, 0, err
	}
	needle := strings.ToLower(strings.TrimSpace(q.Search))
	var list []Customer
	for _, p := range people {
		if needle != "" && !strings.Contains(strings.ToLower(p.c.Email+" "+p.c.ID+" "+strings.Join(p.c.CustomerIDs, " ")), needle) {
			continue
		}
		list = append(list, p.c)
	}
	_ = records
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		switch q.Sort {
		case "last_payment":
			if !a.LastPayment.Equal(b.LastPayment) {
				return a.LastPayment.After(b.LastPayment)
			}
		case "first_payment":
			if !a.FirstPayment.Equal(b.FirstPayment) {
				return a.FirstPayment.Before(b.FirstPayment)
			}
		case "payments":
			if a.Payments != b.Payments {
				return a.Payments > b.Payments
			}
		default:
			if a.LTV != b.LTV {
				return a.LTV > b.LTV
			}
		}
		return a.ID < b.ID
	})
	total := len(list)
	if q.Offset >= len(list) {
		return []Customer{}, total, nil
	}
	list = list[q.Offset:]
	if len(list) > q.Limit {
		list = list[:q.Limit]
	}
	for i := range list {
		if err := s.firstChannel(ctx, site, &list[i], people); err != nil {
			return nil, 0, err
		}
	}
	return list, total, nil
}

// firstChannel fills the channel of the visit the customer's first payment is linked to.
func (s *Service) firstChannel(ctx context.Context, site *tributary.Site, c *Customer, people []*person) error {
	for _, p := range people {
		if p.c.ID != c.ID || len(p.payments) == 0 {
			continue
		}
		l, err := s.Events.PaymentLink(ctx, site.ID, p.payments[0])
		if tributary.ErrorCode(err) == tributary.ENOTFOUND {
			return nil
		}
		if err != nil {
			return fmt.Errorf("customers: link of %s: %w", p.payments[0], err)
		}
		if l.VisitorID == "" {
			c.Channel = l.Channel
			return nil
		}
		ss, err := s.Events.VisitorVisits(ctx, site.ID, []string{l.VisitorID}, l.At.Add(-Lookback), l.At.Add(time.Second))
		if err != nil {
			return fmt.Errorf("customers: sessions: %w", err)
		}
		for _, x := range ss {
			if x.SessionID == l.SessionID || l.SessionID == "" {
				c.Channel = x.Channel
			}
		}
		return nil
	}
	return nil
}

// matches tells whether id names this person: its id, any of its customer ids, its e-mail (with or
// without "email:") or "payment:<id>" of any of its payments, so every page can link to the person
// with what it knows.
func (p *person) matches(id string) bool {
	switch {
	case p.c.ID == id, contains(p.c.CustomerIDs, id):
		return true
	case p.c.Email != "" && (strings.EqualFold(id, p.c.Email) || strings.EqualFold(id, "email:"+p.c.Email)):
		return true
	case strings.HasPrefix(id, "payment:"):
		return contains(p.payments, strings.TrimPrefix(id, "payment:"))
	}
	return false
}

// Get returns one customer with the journey, ENOTFOUND when no payment belongs to id (see matches).
func (s *Service) Get(ctx context.Context, site *tributary.Site, id string, test bool) (*Detail, error) {
	people, byPayment, records, err := s.build(ctx, site, test)
	if err != nil {
		return nil, err
	}
	var p *person
	for _, x := range people {
		if x.matches(id) {
			p = x
			break
		}
	}
	if p == nil {
		return nil, tributary.Errorf(tributary.ENOTFOUND, "no customer %q on this site", id)
	}
	d := &Detail{Customer: p.c}
	for _, pid := range p.payments {
		pay := Payment{ID: pid, LinkMethod: tributary.LinkUnattributed, Entries: byPayment[pid], Sessions: []tributary.VisitSummary{}}
		for _, e := range byPayment[pid] {
			if e.Kind == tributary.EntryPayment {
				pay.At, pay.Amount, pay.Currency, pay.Reporting, pay.Converted, pay.Product = e.OccurredAt, e.Amount, e.Currency, e.ReportingAmount, e.Converted, e.Product
			}
		}
		if r := records[pid]; r != nil {
			pay.Status = r.Status
			if pay.Product == "" {
				pay.Product = r.Product
			}
		}
		if pay.At.IsZero() && len(pay.Entries) > 0 {
			pay.At = pay.Entries[0].OccurredAt
		}
		l, err := s.Events.PaymentLink(ctx, site.ID, pid)
		if err != nil && tributary.ErrorCode(err) != tributary.ENOTFOUND {
			return nil, fmt.Errorf("customers: link of %s: %w", pid, err)
		}
		if l != nil {
			pay.LinkMethod, pay.VisitorID = l.LinkMethod, l.VisitorID
			if l.VisitorID != "" {
				ss, err := s.Events.VisitorVisits(ctx, site.ID, []string{l.VisitorID}, pay.At.Add(-Lookback), pay.At.Add(time.Second))
				if err != nil {
					return nil, fmt.Errorf("customers: sessions before %s: %w", pid, err)
				}
				pay.Sessions = append(pay.Sessions, ss...)
			}
		}
		d.PaymentList = append(d.PaymentList, pay)
	}
	sort.SliceStable(d.PaymentList, func(i, j int) bool { return d.PaymentList[i].At.Before(d.PaymentList[j].At) })
	ms, err := s.Events.MRRMovements(ctx, site.ID)
	if err != nil {
		return nil, fmt.Errorf("customers: mrr movements: %w", err)
	}
	subs := map[string]*Subscription{}
	var subOrder []string
	for _, m := range ms {
		if m.Livemode == test || !contains(p.c.CustomerIDs, m.CustomerID) {
			continue
		}
		sb := subs[m.SubscriptionID]
		if sb == nil {
			sb = &Subscription{ID: m.SubscriptionID}
			subs[m.SubscriptionID] = sb
			subOrder = append(subOrder, m.SubscriptionID)
		}
		sb.Movements = append(sb.Movements, m)
		if m.Converted {
			sb.MRR += m.ReportingDelta
		}
	}
	for _, id := range subOrder {
		sb := subs[id]
		sb.Status = "active"
		if last := sb.Movements[len(sb.Movements)-1]; last.Kind == tributary.MRRChurn {
			sb.Status = "canceled"
		}
		d.Subscriptions = append(d.Subscriptions, *sb)
	}
	return d, nil
}

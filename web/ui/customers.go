package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/numfmt"
	"github.com/tributary/tributary/web/api"
)

// customersView is the data of the customers list page.
type customersView struct {
	Site      *tributary.Site
	Q         customers.Query
	Customers []customers.Customer
	Total     int
	Prev      string
	Next      string
	Sorts     [][2]string // value, label
	Money     func(int64) string
	Link      func(string) string
	Fmt       func(time.Time) string
	Mode      modeSwitch
	Label     func(email, id string) string
}

func (s *UI) moneyFunc(site *tributary.Site) func(int64) string {
	l := numfmt.Get(site.Locale)
	return func(minor int64) string { return l.Money(tributary.FormatMinor(minor, site.Currency), site.Currency) }
}

func customerLink(site *tributary.Site) func(string) string {
	return func(id string) string { return "/sites/" + site.ID + "/customers/" + url.PathEscape(id) }
}

func dateFmt(site *tributary.Site) func(time.Time) string {
	loc := site.Location()
	return func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
}

// PageCustomers is GET /sites/{id}/customers: the paying people, searchable and sortable.
func (s *UI) PageCustomers(w http.ResponseWriter, r *http.Request) error {
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	q, err := api.CustomersQuery(r)
	if err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	cs, err := s.CustomerService()
	if err != nil {
		return err
	}
	list, total, err := cs.List(r.Context(), site, q)
	if err != nil {
		return err
	}
	link := customerLink(site)
	v := &customersView{Site: site, Q: q, Customers: list, Total: total, Sorts: sortLabels, Money: s.moneyFunc(site), Fmt: dateFmt(site),
		Link: func(id string) string { return withMode(link(id), q.Test) }, Mode: newModeSwitch(r, q.Test), Label: customerLabel}
	pageURL := func(offset int) string {
		p := url.Values{}
		if q.Search != "" {
			p.Set("search", q.Search)
		}
		if q.Sort != "" {
			p.Set("sort", q.Sort)
		}
		if q.Test {
			p.Set("mode", "test")
		}
		p.Set("offset", strconv.Itoa(offset))
		return "/sites/" + site.ID + "/customers?" + p.Encode()
	}
	if q.Offset > 0 {
		v.Prev = pageURL(max(0, q.Offset-q.Limit))
	}
	if q.Offset+len(list) < total {
		v.Next = pageURL(q.Offset + q.Limit)
	}
	return s.render(w, r, http.StatusOK, "customers.html", page{Title: site.Name + " · Customers", Data: v})
}

var sortLabels = [][2]string{{"ltv", "Lifetime value"}, {"last_payment", "Last payment"}, {"first_payment", "First payment"}, {"payments", "Number of payments"}}

// customerView is the data of the customer journey page.
type customerView struct {
	Site  *tributary.Site
	D     *customers.Detail
	Money func(int64) string
	Orig  func(int64, string) string
	Fmt   func(time.Time) string
	Back  string
	Mode  modeSwitch
	Label string
}

// PageCustomer is GET /sites/{id}/customers/{customer}: one person's payments, refunds, disputes,
// subscriptions and the visits before each payment.
func (s *UI) PageCustomer(w http.ResponseWriter, r *http.Request) error {
	site, err := s.Opt.Sites.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.Customer(r, site)
	if err != nil {
		return err
	}
	// The journey is one timeline: a visit that preceded several payments is shown before the first.
	seen := map[string]bool{}
	for i := range d.PaymentList {
		var fresh []tributary.VisitSummary
		for _, x := range d.PaymentList[i].Sessions {
			if !seen[x.SessionID] {
				seen[x.SessionID] = true
				fresh = append(fresh, x)
			}
		}
		d.PaymentList[i].Sessions = fresh
	}
	l := numfmt.Get(site.Locale)
	test := testMode(r)
	v := &customerView{Site: site, D: d, Money: s.moneyFunc(site), Fmt: dateFmt(site), Back: withMode("/sites/"+site.ID+"/customers", test), Mode: newModeSwitch(r, test),
		Orig: func(a int64, c string) string { return l.Money(tributary.FormatMinor(a, c), c) }}
	v.Label = customerLabel(d.Email, d.ID)
	return s.render(w, r, http.StatusOK, "customer.html", page{Title: v.Label + " · Customer", Data: v})
}

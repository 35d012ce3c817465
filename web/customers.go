package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/numfmt"
)

// customersQuery reads ?search=&sort=&limit=&offset=&mode= and names the parameter at fault.
func customersQuery(r *http.Request) (customers.Query, error) {
	v := r.URL.Query()
	q := customers.Query{Search: v.Get("search"), Sort: v.Get("sort")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &q.Limit}, {"offset", &q.Offset}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, tributary.FieldError(p.name, "%s must be a whole number, 0 or more", p.name)
			}
			*p.dst = n
		}
	}
	switch v.Get("mode") {
	case "", "live":
	case "test":
		q.Test = true
	default:
		return q, tributary.FieldError("mode", "mode must be live or test")
	}
	return q, nil
}

func (s *Server) customerService() (CustomerService, error) {
	if s.opt.Customers == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "customers are not configured on this server")
	}
	return s.opt.Customers, nil
}

// customer loads the customer named in the path, in the mode the query asks for.
func (s *Server) customer(r *http.Request, site *tributary.Site) (*customers.Detail, error) {
	q, err := customersQuery(r)
	if err != nil {
		return nil, err
	}
	cs, err := s.customerService()
	if err != nil {
		return nil, err
	}
	return cs.Get(r.Context(), site, r.PathValue("customer"), q.Test)
}

// apiMoney renders minor units of the reporting currency as an exact decimal JSON number.
func apiMoney(minor int64, currency string) json.Number {
	return json.Number(tributary.FormatMinor(minor, currency))
}

type apiCustomer struct {
	ID           string      `json:"id"`
	Email        string      `json:"email,omitempty"`
	CustomerIDs  []string    `json:"customer_ids,omitempty"`
	FirstPayment time.Time   `json:"first_payment"`
	LastPayment  time.Time   `json:"last_payment"`
	Payments     int         `json:"payments"`
	Gross        json.Number `json:"gross"`
	Refunds      json.Number `json:"refunds"`
	Disputes     json.Number `json:"disputes"`
	LTV          json.Number `json:"ltv"`
	MRR          json.Number `json:"mrr"`
	Currency     string      `json:"currency"`
	Unconverted  int         `json:"unconverted_entries"`
	Channel      string      `json:"first_channel,omitempty"`
}

func toAPICustomer(c customers.Customer) apiCustomer {
	return apiCustomer{ID: c.ID, Email: c.Email, CustomerIDs: c.CustomerIDs, FirstPayment: c.FirstPayment, LastPayment: c.LastPayment,
		Payments: c.Payments, Gross: apiMoney(c.Gross, c.Currency), Refunds: apiMoney(c.Refunds, c.Currency),
		Disputes: apiMoney(c.Disputes, c.Currency), LTV: apiMoney(c.LTV, c.Currency), MRR: apiMoney(c.MRR, c.Currency),
		Currency: c.Currency, Unconverted: c.Unconverted, Channel: c.Channel}
}

// handleListCustomers is GET /api/v1/sites/{id}/customers.
func (s *Server) handleListCustomers(w http.ResponseWriter, r *http.Request) error {
	site, err := s.statsSite(w, r, r.PathValue("id"))
	if err != nil {
		return err
	}
	q, err := customersQuery(r)
	if err != nil {
		return err
	}
	cs, err := s.customerService()
	if err != nil {
		return err
	}
	list, total, err := cs.List(r.Context(), site, q)
	if err != nil {
		return err
	}
	out := struct {
		Customers []apiCustomer `json:"customers"`
		Total     int           `json:"total"`
	}{Customers: []apiCustomer{}, Total: total}
	for _, c := range list {
		out.Customers = append(out.Customers, toAPICustomer(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type apiPayment struct {
	ID         string                     `json:"id"`
	At         time.Time                  `json:"at"`
	Status     string                     `json:"status,omitempty"`
	Amount     json.Number                `json:"amount"`
	Currency   string                     `json:"currency"`
	Reporting  *json.Number               `json:"reporting_amount"` // null without an exchange rate
	Product    string                     `json:"product,omitempty"`
	LinkMethod string                     `json:"link_method"`
	VisitorID  string                     `json:"visitor_id,omitempty"`
	Entries    []apiEntry                 `json:"entries"`
	Sessions   []tributary.SessionSummary `json:"sessions_before"`
}

type apiEntry struct {
	ID        string       `json:"id"`
	Kind      string       `json:"kind"`
	At        time.Time    `json:"at"`
	Amount    json.Number  `json:"amount"`
	Currency  string       `json:"currency"`
	Reporting *json.Number `json:"reporting_amount"`
}

type apiSubscription struct {
	ID        string      `json:"id"`
	Status    string      `json:"status"`
	MRR       json.Number `json:"mrr"`
	Movements []struct {
		At    time.Time   `json:"at"`
		Kind  string      `json:"kind"`
		Delta json.Number `json:"delta"`
	} `json:"movements"`
}

func reporting(e tributary.LedgerEntry) *json.Number {
	if !e.Converted {
		return nil
	}
	n := apiMoney(e.ReportingAmount, e.ReportingCurrency)
	return &n
}

// handleGetCustomer is GET /api/v1/sites/{id}/customers/{customer}.
func (s *Server) handleGetCustomer(w http.ResponseWriter, r *http.Request) error {
	site, err := s.statsSite(w, r, r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.customer(r, site)
	if err != nil {
		return err
	}
	out := struct {
		apiCustomer
		PaymentList   []apiPayment      `json:"payment_list"`
		Subscriptions []apiSubscription `json:"subscriptions"`
	}{apiCustomer: toAPICustomer(d.Customer), PaymentList: []apiPayment{}, Subscriptions: []apiSubscription{}}
	for _, p := range d.PaymentList {
		ap := apiPayment{ID: p.ID, At: p.At, Status: p.Status, Amount: apiMoney(p.Amount, p.Currency), Currency: p.Currency, Product: p.Product,
			LinkMethod: p.LinkMethod, VisitorID: p.VisitorID, Sessions: p.Sessions}
		if p.Converted {
			n := apiMoney(p.Reporting, site.Currency)
			ap.Reporting = &n
		}
		for _, e := range p.Entries {
			ap.Entries = append(ap.Entries, apiEntry{ID: e.ID, Kind: e.Kind, At: e.OccurredAt, Amount: apiMoney(e.Amount, e.Currency), Currency: e.Currency, Reporting: reporting(e)})
		}
		out.PaymentList = append(out.PaymentList, ap)
	}
	for _, sb := range d.Subscriptions {
		as := apiSubscription{ID: sb.ID, Status: sb.Status, MRR: apiMoney(sb.MRR, site.Currency)}
		for _, m := range sb.Movements {
			as.Movements = append(as.Movements, struct {
				At    time.Time   `json:"at"`
				Kind  string      `json:"kind"`
				Delta json.Number `json:"delta"`
			}{m.At, m.Kind, apiMoney(m.Delta, m.Currency)})
		}
		out.Subscriptions = append(out.Subscriptions, as)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

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

func (s *Server) moneyFunc(site *tributary.Site) func(int64) string {
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

// pageCustomers is GET /sites/{id}/customers: the paying people, searchable and sortable.
func (s *Server) pageCustomers(w http.ResponseWriter, r *http.Request) error {
	site, err := s.opt.Meta.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	q, err := customersQuery(r)
	if err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	cs, err := s.customerService()
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

// pageCustomer is GET /sites/{id}/customers/{customer}: one person's payments, refunds, disputes,
// subscriptions and the visits before each payment.
func (s *Server) pageCustomer(w http.ResponseWriter, r *http.Request) error {
	site, err := s.opt.Meta.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.customer(r, site)
	if err != nil {
		return err
	}
	// The journey is one timeline: a visit that preceded several payments is shown before the first.
	seen := map[string]bool{}
	for i := range d.PaymentList {
		var fresh []tributary.SessionSummary
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

package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/customers"
	"github.com/tributary/tributary/web/core"
)

// CustomersQuery reads ?search=&sort=&limit=&offset=&mode= and names the parameter at fault.
func CustomersQuery(r *http.Request) (customers.Query, error) {
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

// CustomerService is the customer service main passed, ENOTIMPL when there is none.
func (s *API) CustomerService() (core.CustomerService, error) {
	if s.Opt.Customers == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "customers are not configured on this server")
	}
	return s.Opt.Customers, nil
}

// Customer loads the customer named in the path, in the mode the query asks for.
func (s *API) Customer(r *http.Request, site *tributary.Site) (*customers.Detail, error) {
	q, err := CustomersQuery(r)
	if err != nil {
		return nil, err
	}
	cs, err := s.CustomerService()
	if err != nil {
		return nil, err
	}
	return cs.Get(r.Context(), site, r.PathValue("customer"), q.Test)
}

// apiMoney renders minor units of the reporting currency as an exact decimal JSON number.
func APIMoney(minor int64, currency string) json.Number {
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
		Payments: c.Payments, Gross: APIMoney(c.Gross, c.Currency), Refunds: APIMoney(c.Refunds, c.Currency),
		Disputes: APIMoney(c.Disputes, c.Currency), LTV: APIMoney(c.LTV, c.Currency), MRR: APIMoney(c.MRR, c.Currency),
		Currency: c.Currency, Unconverted: c.Unconverted, Channel: c.Channel}
}

// HandleListCustomers is GET /api/v1/sites/{id}/customers.
func (s *API) HandleListCustomers(w http.ResponseWriter, r *http.Request) error {
	site, err := s.statsSite(w, r, r.PathValue("id"))
	if err != nil {
		return err
	}
	q, err := CustomersQuery(r)
	if err != nil {
		return err
	}
	cs, err := s.CustomerService()
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
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

type apiPayment struct {
	ID         string                   `json:"id"`
	At         time.Time                `json:"at"`
	Status     string                   `json:"status,omitempty"`
	Amount     json.Number              `json:"amount"`
	Currency   string                   `json:"currency"`
	Reporting  *json.Number             `json:"reporting_amount"` // null without an exchange rate
	Product    string                   `json:"product,omitempty"`
	LinkMethod string                   `json:"link_method"`
	VisitorID  string                   `json:"visitor_id,omitempty"`
	Entries    []apiEntry               `json:"entries"`
	Sessions   []tributary.VisitSummary `json:"sessions_before"`
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
	n := APIMoney(e.ReportingAmount, e.ReportingCurrency)
	return &n
}

// HandleGetCustomer is GET /api/v1/sites/{id}/customers/{customer}.
func (s *API) HandleGetCustomer(w http.ResponseWriter, r *http.Request) error {
	site, err := s.statsSite(w, r, r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.Customer(r, site)
	if err != nil {
		return err
	}
	out := struct {
		apiCustomer
		PaymentList   []apiPayment      `json:"payment_list"`
		Subscriptions []apiSubscription `json:"subscriptions"`
	}{apiCustomer: toAPICustomer(d.Customer), PaymentList: []apiPayment{}, Subscriptions: []apiSubscription{}}
	for _, p := range d.PaymentList {
		ap := apiPayment{ID: p.ID, At: p.At, Status: p.Status, Amount: APIMoney(p.Amount, p.Currency), Currency: p.Currency, Product: p.Product,
			LinkMethod: p.LinkMethod, VisitorID: p.VisitorID, Sessions: p.Sessions}
		if p.Converted {
			n := APIMoney(p.Reporting, site.Currency)
			ap.Reporting = &n
		}
		for _, e := range p.Entries {
			ap.Entries = append(ap.Entries, apiEntry{ID: e.ID, Kind: e.Kind, At: e.OccurredAt, Amount: APIMoney(e.Amount, e.Currency), Currency: e.Currency, Reporting: reporting(e)})
		}
		out.PaymentList = append(out.PaymentList, ap)
	}
	for _, sb := range d.Subscriptions {
		as := apiSubscription{ID: sb.ID, Status: sb.Status, MRR: APIMoney(sb.MRR, site.Currency)}
		for _, m := range sb.Movements {
			as.Movements = append(as.Movements, struct {
				At    time.Time   `json:"at"`
				Kind  string      `json:"kind"`
				Delta json.Number `json:"delta"`
			}{m.At, m.Kind, APIMoney(m.Delta, m.Currency)})
		}
		out.Subscriptions = append(out.Subscriptions, as)
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

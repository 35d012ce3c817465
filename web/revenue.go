package web

import (
	"net/http"
	"net/url"
	"sort"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/numfmt"
)

type revenueRow struct {
	Entry  tributary.LedgerEntry
	Amount string
	Method string
	Status string
	Email  string
	// Customer is the path segment of the customer page (the customer id, else the payment).
	Customer string
}

type revenueView struct {
	Site         *tributary.Site
	Entries      []revenueRow
	Unattributed []revenueRow
	Movements    []tributary.MRRMovement
	Fmt          func(int64, string) string
}

// pageRevenue lists the newest money entries with how each payment was linked, the unattributed
// payments to review, and MRR movements.
func (s *Server) pageRevenue(w http.ResponseWriter, r *http.Request) error {
	site, err := s.opt.Meta.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	entries, err := s.opt.Events.Ledger(r.Context(), site.ID)
	if err != nil {
		return err
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].OccurredAt.After(entries[j].OccurredAt) })
	if len(entries) > 200 {
		entries = entries[:200]
	}
	v := &revenueView{Site: site, Fmt: func(a int64, c string) string { return numfmt.Get(site.Locale).Money(tributary.FormatMinor(a, c), c) }}
	links := map[string]*tributary.Identity{}
	for _, e := range entries {
		row := revenueRow{Entry: e, Amount: v.Fmt(e.Amount, e.Currency), Method: tributary.LinkUnattributed, Customer: url.PathEscape("payment:" + e.PaymentID)}
		if e.CustomerID != "" {
			row.Customer = url.PathEscape(e.CustomerID)
		}
		l, ok := links[e.PaymentID]
		if !ok {
			l, err = s.opt.Events.PaymentLink(r.Context(), site.ID, e.PaymentID)
			if err != nil && tributary.ErrorCode(err) != tributary.ENOTFOUND {
				return err
			}
			links[e.PaymentID] = l
		}
		if l != nil {
			row.Method, row.Email = l.LinkMethod, l.Email
		}
		if p, err := s.opt.Meta.Payment(r.Context(), site.ID, e.PaymentID); err == nil {
			row.Status = p.Status
			if row.Email == "" {
				row.Email = p.Email
			}
		}
		v.Entries = append(v.Entries, row)
		if e.Kind == tributary.EntryPayment && row.Method == tributary.LinkUnattributed {
			v.Unattributed = append(v.Unattributed, row)
		}
	}
	if v.Movements, err = s.opt.Events.MRRMovements(r.Context(), site.ID); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "revenue.html", page{Title: site.Name + " · Revenue", Data: v})
}

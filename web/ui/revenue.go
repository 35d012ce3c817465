package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/numfmt"
)

type revenueRow struct {
	Entry  tributary.LedgerEntry
	Amount string
	Method string
	Status string
	Email  string
	Label  string // who paid, for people (customerLabel)
	// Customer is the path of the customer page under the site (the customer id, else the payment),
	// with ?mode=test for a test-mode entry: customers are looked up per mode.
	Customer string
}

type revenueView struct {
	Site         *tributary.Site
	Entries      []revenueRow
	Unattributed []revenueRow
	Movements    []tributary.MRRMovement // one page, newest first
	MovesTotal   int
	MovesFrom    int // 1-based positions of the page's first and last movement
	MovesTo      int
	MovesPrev    string
	MovesNext    string
	Fmt          func(int64, string) string
}

// revenuePageEntries and revenuePageReview bound the revenue page's lists.
const (
	revenuePageEntries   = 200
	revenuePageReview    = 100
	revenuePageMovements = 50
)

// PageRevenue lists the newest money entries with how each payment was linked, the unattributed
// payments to review (every one whose newest link is unattributed, not only those among the newest
// entries), and MRR movements. Links, and the entries of payments to review that are not among the
// newest, are read in one batch each, not one query per row. (Payment records are still one read per
// distinct payment: the MetaStore has no read of several by id yet.)
func (s *UI) PageRevenue(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	site, err := s.Opt.Sites.Site(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	entries, err := s.Opt.Events.RecentLedger(ctx, site.ID, revenuePageEntries)
	if err != nil {
		return err
	}
	review, err := s.Opt.Events.PaymentsToReview(ctx, site.ID, revenuePageReview)
	if err != nil {
		return err
	}
	var ids []string
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.PaymentID] {
			seen[e.PaymentID] = true
			ids = append(ids, e.PaymentID)
		}
	}
	links, err := s.Opt.Events.PaymentLinks(ctx, site.ID, ids)
	if err != nil {
		return err
	}
	v := &revenueView{Site: site, Fmt: func(a int64, c string) string { return numfmt.Get(site.Locale).Money(tributary.FormatMinor(a, c), c) }}
	// Stripe payment records, read in one batch (a payment from the API has none).
	recordIDs := ids
	for _, r := range review {
		if !seen[r.PaymentID] {
			recordIDs = append(recordIDs, r.PaymentID)
		}
	}
	status, err := s.Opt.Meta.PaymentsByID(ctx, site.ID, recordIDs)
	if err != nil {
		return err
	}
	row := func(e tributary.LedgerEntry) revenueRow {
		rr := revenueRow{Entry: e, Amount: v.Fmt(e.Amount, e.Currency), Method: tributary.LinkUnattributed, Customer: url.PathEscape("payment:" + e.PaymentID)}
		if e.CustomerID != "" {
			rr.Customer = url.PathEscape(e.CustomerID)
		}
		rr.Customer = withMode(rr.Customer, !e.Livemode)

		if l := links[e.PaymentID]; l != nil {
			rr.Method, rr.Email = l.LinkMethod, l.Email
		}
		if p := status[e.PaymentID]; p != nil {
			rr.Status = p.Status
			if rr.Email == "" {
				rr.Email = p.Email
			}
		}
		who := e.CustomerID
		if who == "" {
			who = "payment:" + e.PaymentID
		}
		rr.Label = customerLabel(rr.Email, who)
		return rr
	}
	for _, e := range entries {
		v.Entries = append(v.Entries, row(e))
	}
	// Each payment to review is shown by its own payment entry: usually among the newest entries, the
	// others read in one batch.
	payEntry := map[string]tributary.LedgerEntry{}
	for _, e := range entries {
		if _, ok := payEntry[e.PaymentID]; !ok && e.Kind == tributary.EntryPayment {
			payEntry[e.PaymentID] = e
		}
	}
	var missing []string
	for _, l := range review {
		if _, ok := payEntry[l.PaymentID]; !ok {
			missing = append(missing, l.PaymentID)
		}
	}
	if len(missing) > 0 {
		older, err := s.Opt.Events.LedgerForPayments(ctx, site.ID, missing)
		if err != nil {
			return fmt.Errorf("read the entries of payments to review: %w", err)
		}
		for _, e := range older {
			if _, ok := payEntry[e.PaymentID]; !ok && e.Kind == tributary.EntryPayment {
				payEntry[e.PaymentID] = e
			}
		}
	}
	for _, l := range review {
		pay, ok := payEntry[l.PaymentID]
		if !ok {
			continue // a link written before its payment entry (or a failed payment): nothing to review yet
		}
		links[l.PaymentID] = &l
		v.Unattributed = append(v.Unattributed, row(pay))
	}
	moves, err := s.Opt.Events.MRRMovements(ctx, site.ID)
	if err != nil {
		return err
	}
	pageMovements(v, moves, r.URL.Query().Get("moves"), "/sites/"+site.ID+"/revenue")
	return s.render(w, r, http.StatusOK, "revenue.html", page{Title: site.Name + " · Revenue", Data: v})
}

// pageMovements shows the movements newest first, revenuePageMovements at a time from ?moves=OFFSET.
func pageMovements(v *revenueView, moves []tributary.MRRMovement, offset, path string) {
	off, _ := strconv.Atoi(offset)
	if off < 0 || off >= len(moves) {
		off = 0
	}
	v.MovesTotal = len(moves)
	for i := len(moves) - 1 - off; i >= 0 && len(v.Movements) < revenuePageMovements; i-- {
		v.Movements = append(v.Movements, moves[i])
	}
	v.MovesFrom, v.MovesTo = off+1, off+len(v.Movements)
	if off > 0 {
		v.MovesPrev = path + "?moves=" + strconv.Itoa(max(0, off-revenuePageMovements)) + "#movements"
	}
	if off+revenuePageMovements < len(moves) {
		v.MovesNext = path + "?moves=" + strconv.Itoa(off+revenuePageMovements) + "#movements"
	}
}

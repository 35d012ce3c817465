package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sort"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/fx"
	"github.com/tributary/tributary/web/core"
)

// ImportRates parses ECB-format CSV (daily or history file), stores the rates and converts the money
// that was waiting for them (ConvertPending).
func (s *API) ImportRates(r *http.Request, csv []byte) (int, string, rateConversion, error) {
	var conv rateConversion
	rates, err := fx.ParseECB(bytes.NewReader(csv))
	if err != nil {
		return 0, "", conv, err
	}
	if _, err := fx.NewTable(rates); err != nil {
		return 0, "", conv, err
	}
	stored := make([]tributary.ExchangeRate, len(rates))
	latest := ""
	for i, rt := range rates {
		stored[i] = tributary.ExchangeRate{Date: rt.Date, Currency: rt.Currency, PerEUR: rt.PerEUR}
		if rt.Date > latest {
			latest = rt.Date
		}
	}
	n, err := s.Opt.Meta.PutExchangeRates(r.Context(), stored)
	if err != nil {
		return 0, "", conv, err
	}
	conv, err = s.ConvertPending(r.Context())
	return n, latest, conv, err
}

// rateConversion sums EventStore.ConvertPending over the sites.
type rateConversion struct {
	Entries   int `json:"entries"`   // ledger entries converted now
	Movements int `json:"movements"` // MRR movements converted now
	Pending   int `json:"pending"`   // entries and movements still without a rate
}

// ConvertPending converts, for every site, the ledger entries and MRR movements stored before a rate
// for their currency and day was known (after rates were imported or refreshed). Only their reporting
// fields change; the original amounts are facts.
func (s *API) ConvertPending(ctx context.Context) (rateConversion, error) {
	var out rateConversion
	if s.Opt.Ledger == nil {
		return out, nil
	}
	sites, err := s.Opt.Sites.Sites(ctx)
	if err != nil {
		return out, err
	}
	for _, site := range sites {
		c, err := s.Opt.Events.ConvertPending(ctx, site.ID, func(es []tributary.LedgerEntry) error { return s.Opt.Ledger.Convert(ctx, site, es) })
		if err != nil {
			return out, err
		}
		if len(c.Entries)+len(c.Movements) > 0 {
			s.Log.Info("converted money waiting for exchange rates", slog.String("site", site.ID),
				slog.Int("entries", len(c.Entries)), slog.Int("movements", len(c.Movements)), slog.Int("pending", c.Pending))
		}
		out.Entries += len(c.Entries)
		out.Movements += len(c.Movements)
		out.Pending += c.Pending
	}
	return out, nil
}

// HandleImportRates is POST /api/v1/exchange-rates with an ECB CSV body (eurofxref.csv or
// eurofxref-hist.csv as published).
func (s *API) HandleImportRates(w http.ResponseWriter, r *http.Request) error {
	body, err := core.ReadBody(w, r, 32<<20)
	if err != nil {
		return err
	}
	n, latest, conv, err := s.ImportRates(r, body)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"imported": n, "latest_date": latest, "converted": conv})
	return nil
}

// HandleListRates is GET /api/v1/exchange-rates: the newest rate per currency and the covered range.
func (s *API) HandleListRates(w http.ResponseWriter, r *http.Request) error {
	rates, err := s.Opt.Meta.ExchangeRates(r.Context())
	if err != nil {
		return err
	}
	latest := map[string]tributary.ExchangeRate{}
	first, last := "", ""
	for _, rt := range rates {
		if cur, ok := latest[rt.Currency]; !ok || rt.Date > cur.Date {
			latest[rt.Currency] = rt
		}
		if first == "" || rt.Date < first {
			first = rt.Date
		}
		if rt.Date > last {
			last = rt.Date
		}
	}
	out := make([]tributary.ExchangeRate, 0, len(latest))
	for _, rt := range latest {
		out = append(out, rt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	core.WriteJSON(w, http.StatusOK, map[string]any{"rates": out, "count": len(rates), "from": first, "to": last, "base": "EUR"})
	return nil
}

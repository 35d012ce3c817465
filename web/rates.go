package web

import (
	"bytes"
	"net/http"
	"sort"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/fx"
)

// importRates parses ECB-format CSV (daily or history file) and stores the rates.
func (s *Server) importRates(r *http.Request, csv []byte) (int, string, error) {
	rates, err := fx.ParseECB(bytes.NewReader(csv))
	if err != nil {
		return 0, "", err
	}
	if _, err := fx.NewTable(rates); err != nil {
		return 0, "", err
	}
	stored := make([]tributary.ExchangeRate, len(rates))
	latest := ""
	for i, rt := range rates {
		stored[i] = tributary.ExchangeRate{Date: rt.Date, Currency: rt.Currency, PerEUR: rt.PerEUR}
		if rt.Date > latest {
			latest = rt.Date
		}
	}
	n, err := s.opt.Meta.PutExchangeRates(r.Context(), stored)
	if err != nil {
		return 0, "", err
	}
	if s.opt.Ledger != nil {
		s.opt.Ledger.InvalidateRates()
	}
	return n, latest, nil
}

// handleImportRates is POST /api/v1/exchange-rates with an ECB CSV body (eurofxref.csv or
// eurofxref-hist.csv as published).
func (s *Server) handleImportRates(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, 32<<20)
	if err != nil {
		return err
	}
	n, latest, err := s.importRates(r, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"imported": n, "latest_date": latest})
	return nil
}

// handleListRates is GET /api/v1/exchange-rates: the newest rate per currency and the covered range.
func (s *Server) handleListRates(w http.ResponseWriter, r *http.Request) error {
	rates, err := s.opt.Meta.ExchangeRates(r.Context())
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
	writeJSON(w, http.StatusOK, map[string]any{"rates": out, "count": len(rates), "from": first, "to": last, "base": "EUR"})
	return nil
}

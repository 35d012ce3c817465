package web_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

const ecbDaily = "Date, USD, JPY, BGN, CZK, DKK, GBP, HUF, PLN, RON, SEK, CHF, ISK, NOK, TRY, AUD, BRL, CAD, CNY, HKD, IDR, ILS, INR, KRW, MXN, MYR, NZD, PHP, SGD, THB, ZAR, \n" +
	"20 November 2026, 1.0500, 160.00, 1.9558, 25.000, 7.4600, 0.8400, 400.00, 4.3000, 4.9700, 11.500, 0.9400, 150.00, 11.700, 36.000, 1.6000, 6.0000, 1.4500, 7.6000, 8.2000, 16500.00, 4.0000, 88.000, 1450.00, 19.000, 4.9000, 1.7500, 60.000, 1.4200, 37.000, 19.500, \n"

// TestExchangeRatesConvertLedger: money stored without a rate is unconverted (never 1:1) and the
// dashboard says so; importing rates converts it (reporting fields only, the answer says how many) and
// the warning goes; money stored later is converted as it arrives.
func TestExchangeRatesConvertLedger(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID, key := e.siteWithKey("USD", "events:write")
	// Before any rates: EUR money is unconverted, never 1:1.
	e.do("POST", "/api/v1/events", key, `{"event_id":"before","event_name":"purchase","event_type":"purchase","amount":1000,"currency":"EUR","timestamp":"2026-11-20T10:00:00Z"}`)
	e.do("POST", "/api/v1/events", key, `{"event_id":"chf","event_name":"purchase","event_type":"purchase","amount":700,"currency":"CHF","timestamp":"2026-11-19T10:00:00Z"}`)
	const banner = "money entries have no exchange rate"
	if _, page, _ := b.get("/sites/" + siteID); !strings.Contains(page, "2 "+banner) {
		t.Fatal("dashboard does not warn about the 2 unconverted entries")
	}

	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/exchange-rates", strings.NewReader(ecbDaily))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "text/csv")
	res, err := e.srv.Client().Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("import: %v %v", res.StatusCode, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// The EUR entry of 11-20 is converted; CHF has no rate on or before 11-19 in a file of 11-20.
	golden(t, "rates_import.json", body)
	if _, page, _ := b.get("/sites/" + siteID); !strings.Contains(page, "1 "+banner) {
		t.Error("after the import the dashboard should warn about the 1 entry still without a rate")
	}
	if r := e.do("POST", "/api/v1/exchange-rates", adminToken, "Date,USD\nnot-a-date,1.0\n"); r.status != 400 {
		t.Fatalf("bad csv: %d %s", r.status, r.body)
	}
	list := e.do("GET", "/api/v1/exchange-rates", adminToken, "").json(t)
	if list["to"] != "2026-11-20" || list["count"].(float64) != 30 {
		t.Fatalf("rates = %v", list)
	}
	e.do("POST", "/api/v1/events", key, `{"event_id":"after","event_name":"purchase","event_type":"purchase","amount":1000,"currency":"EUR","timestamp":"2026-11-20T11:00:00Z"}`)
	e.do("POST", "/api/v1/events", key, `{"event_id":"jpy","event_name":"purchase","event_type":"purchase","amount":5000,"currency":"JPY","timestamp":"2026-11-20T11:00:00Z"}`)
	ledger, _ := e.store.Ledger(context.Background(), siteID)
	got := map[string]string{}
	for _, l := range ledger {
		got[l.ID] = strings.Join([]string{l.Currency, strconv.FormatInt(l.ReportingAmount, 10), l.Rate, l.RateDate, strconv.FormatBool(l.Converted)}, " ")
	}
	want := map[string]string{
		"api:before": "EUR 1050 1.05 2026-11-20 true",      // stored before the rates: converted by the import
		"api:chf":    "CHF 0   false",                      // no CHF rate for 11-19: still unconverted
		"api:after":  "EUR 1050 1.05 2026-11-20 true",      // 10.00 EUR → 10.50 USD
		"api:jpy":    "JPY 3281 0.0065625 2026-11-20 true", // 5000 JPY / 160 * 1.05 = 32.8125 → 32.81 (half-even)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s = %q, want %q", id, got[id], w)
		}
	}
}

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary/fx"
)

// TestDemoRates: the demo's rates parse as an ECB file and cover every day of its window in each of
// its payment currencies, so no demo entry is left without a rate.
func TestDemoRates(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	rates, err := fx.ParseECB(strings.NewReader(demoRatesCSV(now, 92)))
	if err != nil {
		t.Fatal(err)
	}
	table, err := fx.NewTable(rates)
	if err != nil {
		t.Fatal(err)
	}
	for _, cur := range []string{"EUR", "GBP", "JPY", "BHD"} {
		for _, day := range []time.Time{now, now.AddDate(0, 0, -45), now.AddDate(0, 0, -91)} {
			if _, ok := table.Convert(1000, cur, "USD", day); !ok {
				t.Errorf("no %s → USD rate on %s", cur, day.Format("2006-01-02"))
			}
		}
	}
}

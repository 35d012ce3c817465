package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// queryResult is the answer of POST /api/v1/query with numbers kept as written.
type queryResult struct {
	Results []struct {
		Dimensions []string      `json:"dimensions"`
		Metrics    []json.Number `json:"metrics"`
	} `json:"results"`
	Meta struct {
		Currency     string `json:"currency"`
		Model        string `json:"attribution_model"`
		Unconverted  int    `json:"unconverted_entries"`
		LookbackDays int    `json:"lookback_days"`
		Total        int    `json:"total_rows"`
	} `json:"meta"`
}

func (s *server) query(q map[string]any) queryResult {
	s.t.Helper()
	var res queryResult
	s.api("POST", "/api/v1/query", q, 200, &res)
	return res
}

// rows maps the joined dimension values of each row to its metrics as strings.
func (r queryResult) rows() map[string][]string {
	out := map[string][]string{}
	for _, row := range r.Results {
		ms := make([]string, len(row.Metrics))
		for i, m := range row.Metrics {
			ms[i] = m.String()
		}
		out[strings.Join(row.Dimensions, "|")] = ms
	}
	return out
}

// eur writes minor units as the query API writes EUR amounts: major units with two decimals.
func eur(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100)
}

// diffRows describes how got differs from want, "" when they are equal.
func diffRows(got, want map[string][]string) string {
	var keys []string
	seen := map[string]bool{}
	for k := range got {
		keys, seen[k] = append(keys, k), true
	}
	for k := range want {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		g, w := strings.Join(got[k], " "), strings.Join(want[k], " ")
		if _, ok := got[k]; !ok {
			g = "(missing)"
		}
		if _, ok := want[k]; !ok {
			w = "(none expected)"
		}
		if g != w {
			fmt.Fprintf(&b, "\n  %-16s got %s\n  %-16s want %s", k, g, "", w)
		}
	}
	return b.String()
}

package stats

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite stats/testdata golden files")

// TestResultGolden holds the JSON and CSV of representative answers (every metric with a comparison,
// totals and by channel and day, money ratios, a funnel) to the text written before results were typed:
// the query API's and the export's bytes must not move.
func TestResultGolden(t *testing.T) {
	e := scenario(t)
	all := `"visitors","visits","pageviews","views_per_visit","bounce_rate","visit_duration","events","conversions","conversion_rate",` +
		`"payments","customers","revenue","refunds","disputes","net_revenue","average_order_value","revenue_per_visitor","ltv","time_to_convert",` +
		`"mrr","new_mrr","expansion_mrr","contraction_mrr","churned_mrr","arpu"`
	bodies := []string{
		`{"site_id":"s1","metrics":[` + all + `],"date_range":"30d"}`,
		`{"site_id":"s1","metrics":[` + all + `],"date_range":["2026-11-10","2026-11-19"],"compare":"previous_period"}`,
		`{"site_id":"s1","metrics":["visitors","visits","bounce_rate","visit_duration","conversion_rate","revenue","net_revenue","average_order_value","revenue_per_visitor","ltv","payments","customers"],"dimensions":["visit:channel"],"date_range":"30d","compare":"previous_period"}`,
		`{"site_id":"s1","metrics":["visitors","views_per_visit","revenue","average_order_value"],"dimensions":["time:day"],"date_range":["2026-11-01","2026-11-12"],"compare":"previous_period"}`,
		`{"site_id":"s1","metrics":["revenue","refunds","net_revenue","payments"],"dimensions":["payment:link_method"],"date_range":"30d","attribution":{"model":"linear"}}`,
		`{"site_id":"s1","date_range":"30d","funnel":{"steps":[{"page":"/"},{"page":"/pricing"},{"event":"signup"}]}}`,
	}
	var got strings.Builder
	for _, body := range bodies {
		res := run(t, e, body)
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(body + "\n" + string(b) + "\n")
		if err := res.WriteCSV(&got); err != nil {
			t.Fatal(err)
		}
		got.WriteString("\n")
	}
	path := filepath.Join("testdata", "results.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("results differ from %s:\n got:\n%s\nwant:\n%s", path, got.String(), want)
	}
}

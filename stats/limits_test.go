package stats

import (
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

func nestedOr(depth int, leaf string) string {
	return strings.Repeat(`["or",[`, depth) + leaf + strings.Repeat(`]]`, depth)
}

// TestQueryCaps pins the caps on dimensions and filters: each breach is a 400 (EINVALID) naming the
// field and the cap, answered without building SQL. Before, "event:props:*" read every property (a
// wildcard JSON path) and failed in the store with a 500, and a 3,000-deep "or" of regexes took 4 s.
func TestQueryCaps(t *testing.T) {
	site := &tributary.Site{ID: "s1", Currency: "USD", Timezone: "UTC"}
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	leaf := `["matches","visit:source",["^a.*b$"]]`
	many := func(n int, f string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f
		}
		return strings.Join(parts, ",")
	}
	tests := []struct {
		name, dims, filters string
		field, says         string
	}{
		{"props wildcard dimension", `["event:props:*"]`, `[]`, "dimensions[0]", "cannot contain"},
		{"props backslash dimension", `["event:props:a\\b"]`, `[]`, "dimensions[0]", "cannot contain"},
		{"props quote dimension", `["event:props:a\"b"]`, `[]`, "dimensions[0]", "cannot contain"},
		{"props empty name", `["event:props:"]`, `[]`, "dimensions[0]", "1 to 64"},
		{"props long name", `["event:props:` + strings.Repeat("p", 65) + `"]`, `[]`, "dimensions[0]", "1 to 64"},
		{"props control char", `["event:props:a\u0001"]`, `[]`, "dimensions[0]", "cannot contain"},
		{"props wildcard filter", `[]`, `[["is","event:props:*",["x"]]]`, "filters[0]", "cannot contain"},
		{"3,000-deep or", `[]`, `[` + nestedOr(3000, leaf) + `]`, "filters[0]", "MaxFilterDepth"},
		{"6-deep or", `[]`, `[` + nestedOr(6, leaf) + `]`, "filters[0]", "MaxFilterDepth"},
		{"too many in one or", `[]`, `[["or",[` + many(51, leaf) + `]]]`, "filters[0]", "MaxFilters"},
		{"too many overall", `[]`, `[` + many(51, leaf) + `]`, "filters", "MaxFilters"},
		{"long regex", `[]`, `[["matches","visit:source",["` + strings.Repeat("a", 257) + `"]]]`, "filters[0]", "256"},
		{"long value", `[]`, `[["is","visit:source",["` + strings.Repeat("a", 2049) + `"]]]`, "filters[0]", "2048"},
		{"too many values", `[]`, `[["is","visit:source",[` + many(101, `"x"`) + `]]]`, "filters[0]", "100"},
		{"5-deep or is fine", `[]`, `[` + nestedOr(4, leaf) + `]`, "", ""},
		{"50 filters are fine", `[]`, `[["or",[` + many(50, leaf) + `]]]`, "", ""},
		{"ordinary prop", `["event:props:plan"]`, `[["is","event:props:a.b",["x"]]]`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := ParseQuery([]byte(`{"site_id":"s1","metrics":["visitors"],"dimensions":`+tc.dims+`,"filters":`+tc.filters+`}`), site, now)
			if took := time.Since(start); took > 100*time.Millisecond {
				t.Errorf("took %s", took)
			}
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if tributary.ErrorCode(err) != tributary.EINVALID || tributary.ErrorField(err) != tc.field || !strings.Contains(tributary.ErrorMessage(err), tc.says) {
				t.Fatalf("err = %v (field %q), want EINVALID on %s saying %q", err, tributary.ErrorField(err), tc.field, tc.says)
			}
		})
	}
}

func FuzzParseQuery(f *testing.F) {
	site := &tributary.Site{ID: "s1", Currency: "USD", Timezone: "Europe/Berlin"}
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	f.Add(`{"site_id":"s1","metrics":["visitors","revenue"],"dimensions":["visit:source"],"filters":[["is","visit:channel",["Direct"]]]}`)
	f.Add(`{"site_id":"s1","metrics":["pageviews"],"dimensions":["event:props:*"]}`)
	f.Add(`{"site_id":"s1","metrics":["visitors"],"filters":[` + nestedOr(20, `["matches","event:page",["^/a"]]`) + `]}`)
	f.Add(`{"site_id":"s1","metrics":["visitors"],"date_range":["2026-11-19T23:00:00Z","2026-11-20T09:30:00Z"],"order_by":[["visitors","desc"]],"limit":5}`)
	f.Fuzz(func(t *testing.T, body string) {
		q, err := ParseQuery([]byte(body), site, now)
		if err != nil {
			if c := tributary.ErrorCode(err); c != tributary.EINVALID && c != tributary.ETOOLARGE && c != tributary.ENOTFOUND {
				t.Fatalf("error %v has code %s, want a 4xx code", err, c)
			}
			return
		}
		if countFilters(q.Filters) > MaxFilters {
			t.Fatalf("%d filters accepted", countFilters(q.Filters))
		}
		for _, d := range q.Dimensions {
			if strings.HasPrefix(d, "event:props:") && checkPropDimension("d", d) != nil {
				t.Fatalf("bad prop dimension %q accepted", d)
			}
		}
	})
}

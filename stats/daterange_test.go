package stats

import (
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// TestDateRangeTimes: a pair of RFC 3339 times is the exact range [from, to); dates stay whole days in
// the site's zone; a reversed or half-typed pair is refused naming date_range.
func TestDateRangeTimes(t *testing.T) {
	site := &tributary.Site{ID: "s1", Currency: "USD", Timezone: "Europe/Berlin"}
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name, rng  string
		from, to   string
		wantErrFld string
	}{
		{"times", `["2026-11-19T23:00:00Z","2026-11-20T09:30:00Z"]`, "2026-11-19T23:00:00Z", "2026-11-20T09:30:00Z", ""},
		{"times with offset", `["2026-11-20T00:00:00+01:00","2026-11-20T10:30:00+01:00"]`, "2026-11-19T23:00:00Z", "2026-11-20T09:30:00Z", ""},
		{"dates", `["2026-11-20","2026-11-20"]`, "2026-11-19T23:00:00Z", "2026-11-20T23:00:00Z", ""},
		{"day", `"day"`, "2026-11-19T23:00:00Z", "2026-11-20T23:00:00Z", ""},
		{"reversed times", `["2026-11-20T09:30:00Z","2026-11-20T09:00:00Z"]`, "", "", "date_range"},
		{"time and date", `["2026-11-20T09:30:00Z","2026-11-21"]`, "", "", "date_range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseQuery([]byte(`{"site_id":"s1","metrics":["visitors"],"date_range":`+tc.rng+`}`), site, now)
			if tc.wantErrFld != "" {
				if tributary.ErrorField(err) != tc.wantErrFld {
					t.Fatalf("err = %v, want a %s error", err, tc.wantErrFld)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := q.From.Format(time.RFC3339) + " " + q.To.Format(time.RFC3339); got != tc.from+" "+tc.to {
				t.Errorf("range %s, want %s %s", got, tc.from, tc.to)
			}
		})
	}
}

package clickhouse

import "testing"

// TestPrefixes wants each site's events dated before a day, from the events by site and UTC day, for
// days before, on, between and after the days with events.
func TestPrefixes(t *testing.T) {
	counts := map[dayKey]uint64{{"a", 10}: 3, {"a", 12}: 5, {"a", 20}: 1, {"b", 11}: 7}
	sites := bySite(counts)
	tests := []struct {
		site string
		day  int64
		want uint64
	}{
		{"a", 0, 0}, {"a", 10, 0}, {"a", 11, 3}, {"a", 12, 3}, {"a", 13, 8}, {"a", 20, 8}, {"a", 21, 9}, {"a", 400, 9},
		{"b", 11, 0}, {"b", 12, 7},
		{"c", 5, 0}, // no events
	}
	for _, tc := range tests {
		if got := newPrefixes(sites[tc.site]).at(tc.day); got != tc.want {
			t.Errorf("site %s, events before day %d: %d, want %d", tc.site, tc.day, got, tc.want)
		}
	}
}

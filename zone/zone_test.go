package zone

import (
	"fmt"
	"testing"
	"time"
)

func TestZoneSpan(t *testing.T) {
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	oct := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		zone    string
		from    time.Time
		to      time.Time
		offsets []int
		changes []string
	}{
		{"UTC", oct, oct.AddDate(0, 1, 0), []int{0}, nil},
		{"Europe/Berlin", oct, oct.AddDate(0, 1, 0), []int{7200, 3600}, []string{"2026-10-25T01:00:00Z"}},
		{"America/New_York", oct, oct.AddDate(0, 1, 0), []int{-4 * 3600, -5 * 3600}, []string{"2026-11-01T06:00:00Z"}},
		// Lord Howe moves by half an hour, at 2:00 local time.
		{"Australia/Lord_Howe", time.Date(2026, 9, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC), []int{37800, 39600},
			[]string{"2026-10-03T15:30:00Z"}},
		{"Asia/Kolkata", oct, oct.AddDate(1, 0, 0), []int{19800}, nil},
	} {
		z := Span(c.zone, load(c.zone), c.from, c.to)
		var changes []string
		for _, ch := range z.Changes {
			changes = append(changes, ch.Format(time.RFC3339))
		}
		if fmt.Sprint(z.Offsets) != fmt.Sprint(c.offsets) || fmt.Sprint(changes) != fmt.Sprint(c.changes) {
			t.Errorf("%s: offsets %v changes %v, want %v %v", c.zone, z.Offsets, changes, c.offsets, c.changes)
		}
	}
}

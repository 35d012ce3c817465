package tributary_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tributary/tributary"
)

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "google", 200, "google"},
		{"invalid utf-8", "\xff", 200, "\uFFFD"},
		{"invalid inside", "a\xffb\xfe", 200, "a\uFFFDb\uFFFD"},
		{"nul stripped", "a\x00b\x00", 200, "ab"},
		{"cut on a character boundary", "aé", 2, "a"},
		{"cut long", strings.Repeat("x", 70000), 200, strings.Repeat("x", 200)},
		{"no bound", strings.Repeat("x", 300), 0, strings.Repeat("x", 300)},
		{"replacement then cut", "\xff\xff", 4, "\uFFFD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tributary.CleanText(tc.in, tc.max); got != tc.want {
				t.Fatalf("CleanText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestEventClean(t *testing.T) {
	props := map[string]string{"": "dropped", "k\x00": "v\xff", strings.Repeat("k", 100): strings.Repeat("v", 1000)}
	for i := 0; i < 40; i++ {
		props[strings.Repeat("p", i+1)] = "x"
	}
	e := tributary.Event{Name: "pageview\x00", UTMSource: "\xff", Path: "/" + strings.Repeat("a", 70000), ClickID: "\x00", Props: props, ScreenWidth: -1}
	e.Clean()
	if e.Name != "pageview" || e.UTMSource != "\uFFFD" || len(e.Path) != tributary.MaxPath || e.ClickID != "" || e.ScreenWidth != 0 {
		t.Fatalf("cleaned event = %+v", e)
	}
	if len(e.Props) > tributary.MaxPropsCount {
		t.Fatalf("%d props kept, want at most %d", len(e.Props), tributary.MaxPropsCount)
	}
	for k, v := range e.Props {
		if k == "" || len(k) > tributary.MaxPropKey || len(v) > tributary.MaxPropValue || !utf8.ValidString(k+v) || strings.ContainsRune(k+v, 0) {
			t.Fatalf("prop %q=%q not cleaned", k, v)
		}
	}
}

func TestCheckAmount(t *testing.T) {
	tests := []struct {
		amount int64
		ok     bool
	}{
		{0, true}, {4999, true}, {tributary.MaxAmountMinor, true},
		{-1, false}, {tributary.MaxAmountMinor + 1, false}, {1<<63 - 1, false}, {-1 << 63, false},
	}
	for _, tc := range tests {
		err := tributary.CheckAmount("amount", tc.amount)
		if (err == nil) != tc.ok || (err != nil && (tributary.ErrorCode(err) != tributary.EINVALID || tributary.ErrorField(err) != "amount")) {
			t.Errorf("CheckAmount(%d) = %v, want ok=%v", tc.amount, err, tc.ok)
		}
	}
}

func TestCheckEventTime(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t  time.Time
		ok bool
	}{
		{now, true}, {tributary.EarliestEventTime, true}, {now.Add(5 * time.Minute), true},
		{time.Time{}, false}, {time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), false}, {time.Unix(0, 0), false},
		{now.Add(6 * time.Minute), false}, {time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tc := range tests {
		if err := tributary.CheckEventTime("timestamp", tc.t, now, 5*time.Minute); (err == nil) != tc.ok {
			t.Errorf("CheckEventTime(%v) = %v, want ok=%v", tc.t, err, tc.ok)
		}
	}
}

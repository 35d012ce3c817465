package attribution

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

func TestParseModel(t *testing.T) {
	tests := []struct {
		in   string
		want Model
	}{
		{"", LastNonDirect},
		{"  ", LastNonDirect},
		{"first_touch", FirstTouch},
		{"last_touch", LastTouch},
		{"last_non_direct", LastNonDirect},
		{"linear", Linear},
		{"time_decay", TimeDecay},
		{"position_based", PositionBased},
		{" Time_Decay ", TimeDecay},
		{"LINEAR", Linear},
	}
	for _, tc := range tests {
		got, err := ParseModel(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseModel(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"last", "first-touch", "u-shaped", "linear;drop"} {
		_, err := ParseModel(in)
		if tributary.ErrorCode(err) != tributary.EINVALID || tributary.ErrorField(err) != "attribution.model" {
			t.Errorf("ParseModel(%q) error %v: want EINVALID on attribution.model", in, err)
			continue
		}
		msg := tributary.ErrorMessage(err)
		for _, m := range Models {
			if !strings.Contains(msg, string(m)) {
				t.Errorf("ParseModel(%q) message %q does not list %s", in, msg, m)
			}
		}
	}
}

func TestLookback(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		days int
		want time.Duration
	}{{0, 30 * day}, {1, day}, {7, 7 * day}, {365, 365 * day}} {
		got, err := Lookback(tc.days)
		if err != nil || got != tc.want {
			t.Errorf("Lookback(%d) = %v, %v; want %v", tc.days, got, err, tc.want)
		}
	}
	for _, days := range []int{-1, 366, 100000} {
		_, err := Lookback(days)
		if tributary.ErrorField(err) != "attribution.lookback_days" {
			t.Errorf("Lookback(%d) error %v: want EINVALID on attribution.lookback_days", days, err)
		}
	}
}

func TestIsDirect(t *testing.T) {
	for _, tc := range []struct {
		tp   Touchpoint
		want bool
	}{
		{Touchpoint{Direct: true}, true},
		{Touchpoint{Channel: "Direct"}, true},
		{Touchpoint{Channel: "direct"}, true},
		{Touchpoint{Channel: "Referral"}, false},
		{Touchpoint{}, false},
	} {
		if got := tc.tp.IsDirect(); got != tc.want {
			t.Errorf("%+v.IsDirect() = %v, want %v", tc.tp, got, tc.want)
		}
	}
}

func TestSelect(t *testing.T) {
	day := 24 * time.Hour
	at := func(d time.Duration, id string) Touchpoint { return Touchpoint{SessionID: id, Start: paidAt.Add(d)} }
	all := []Touchpoint{
		at(time.Second, "after"),       // after the payment
		at(-30*day-time.Second, "old"), // just outside 30 days
		at(-30*day, "edge"),            // exactly 30 days: inside
		at(-2*day, "b"),                // same start as "a": ordered by session id
		at(-2*day, "a"),
		at(0, "at-payment"), // exactly at the payment: inside
		at(-40*day, "older"),
		at(-5*day, "mid"),
	}
	tests := []struct {
		name     string
		lookback time.Duration
		want     []string
	}{
		{"30 days", 30 * day, []string{"edge", "mid", "a", "b", "at-payment"}},
		{"default", 0, []string{"edge", "mid", "a", "b", "at-payment"}},
		{"7 days", 7 * day, []string{"mid", "a", "b", "at-payment"}},
		{"60 days", 60 * day, []string{"older", "old", "edge", "mid", "a", "b", "at-payment"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(all)
			got := Select(in, paidAt, tc.lookback)
			var ids []string
			for _, tp := range got {
				ids = append(ids, tp.SessionID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("got %v, want %v", ids, tc.want)
			}
			if !slices.EqualFunc(in, all, func(a, b Touchpoint) bool { return a.SessionID == b.SessionID }) {
				t.Error("Select reordered its input")
			}
		})
	}
	if got := Select(nil, paidAt, 0); len(got) != 0 {
		t.Errorf("Select(nil) = %v", got)
	}
}

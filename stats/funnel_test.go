package stats

import "testing"

// TestFunnelReach: a visitor's trail ("second:mask", in time order) reaches the steps done in order,
// each by its own event; events of one second count in any order among themselves.
func TestFunnelReach(t *testing.T) {
	tests := []struct {
		name  string
		trail string
		steps int
		want  int
	}{
		{"all in order", "10:1,20:2,30:4", 3, 3},
		{"wrong order", "10:2,20:1", 2, 1},
		{"a later first step still counts", "10:2,20:1,30:2", 2, 2},
		{"one event takes one step", "10:3", 2, 1},
		{"same page twice needs two visits to it", "10:3,20:3", 2, 2},
		{"same second, any order", "10:2,10:1,20:4", 3, 3},
		{"a gap stops the walk", "10:1,20:4", 3, 1},
		{"nothing", "", 2, 0},
		{"only later steps", "10:4,20:2", 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := funnelReach(tc.trail, tc.steps); got != tc.want {
				t.Errorf("funnelReach(%q, %d) = %d, want %d", tc.trail, tc.steps, got, tc.want)
			}
		})
	}
}

// TestPagePattern: * is one path segment, ** anything; everything else is literal.
func TestPagePattern(t *testing.T) {
	tests := []struct {
		page, want string
		wild       bool
	}{
		{"/pricing", "", false},
		{"/blog/*", `^/blog/[^/]*$`, true},
		{"/docs/**", `^/docs/.*$`, true},
		{"/a.b/*/c?", `^/a\.b/[^/]*/c\?$`, true},
	}
	for _, tc := range tests {
		if got, wild := pagePattern(tc.page); got != tc.want || wild != tc.wild {
			t.Errorf("pagePattern(%q) = %q %v, want %q %v", tc.page, got, wild, tc.want, tc.wild)
		}
	}
}

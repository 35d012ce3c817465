package main

import (
	"runtime/debug"
	"testing"
)

// TestServeSetsGOGC pins the collector's target serve sets, and that GOGC in the environment wins.
func TestServeSetsGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, c := range []struct {
		env  string
		want int
	}{{"", serveGOGC}, {"80", 100}} {
		t.Setenv("GOGC", c.env)
		debug.SetGCPercent(100)
		setGCPercent()
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("GOGC=%q: the collector's target is %d, want %d", c.env, got, c.want)
		}
	}
}

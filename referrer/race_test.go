//go:build race

package referrer

// raceSlowdown scales timing limits: the race detector slows parsing several times.
const raceSlowdown = 10

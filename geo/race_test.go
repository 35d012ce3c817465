//go:build race

package geo

// raceEnabled: the race detector slows decoding about a hundredfold, so load-time limits do not apply.
const raceEnabled = true

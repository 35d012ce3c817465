// Package visitday works out what a store keeps to count visitors by local day without a distinct count:
// each visit's previous visits (overall and with the same value of each visit dimension) and the visits
// summed by the site's local day, by dimension value and by the local day of the previous visit of that
// value. A range of whole local days then counts a visitor once per value: at the first visit of the
// range, the one whose previous visit of that value is on a day before it (stats/engine.go, dayTraffic).
//
// The embedded store works these out in its own writer (store/duckdb, prev_* columns and visits_by_day);
// the ClickHouse store's finishing job and the stats engine's correction for the visits not finished
// yet use this package, so both count as the embedded store does.
package visitday

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Dims are the visit columns kept by value, in the embedded store's order (store/duckdb's prevDims).
var Dims = [...]string{"channel", "referrer_source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"click_id_platform", "entry_page", "exit_page", "country", "region", "device", "browser", "os"}

// NoPrev is a previous visit's start when there is none.
const NoPrev = math.MinInt64

// Visit is one visit: times in microseconds since 1970, Vals the Dims columns (the empty text for none),
// Prevs the start of the visitor's previous visit (index 0) and of the previous one with the same value
// of each of Dims (index i for Dims[i-1]), NoPrev for none. Cur is the caller's: whether the visit is
// one being summed rather than one read as its visitor's history.
type Visit struct {
	Cur              bool
	Visitor, Session string
	Start, End       int64
	PV, EV           int64
	Vals             [len(Dims)]string
	Prevs            [1 + len(Dims)]int64
}

// Sort orders visits by visitor, then as the embedded store's windows do: by start, then session id
// (bytewise).
func Sort(vs []Visit) {
	slices.SortFunc(vs, func(a, b Visit) int {
		if c := strings.Compare(a.Visitor, b.Visitor); c != 0 {
			return c
		}
		if a.Start != b.Start {
			if a.Start < b.Start {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Session, b.Session)
	})
}

// SetPrevs sets every visit's Prevs from the visits before it of the same visitor, in vs sorted by Sort.
func SetPrevs(vs []Visit) {
	// last[d] maps a value of dimension d (0: any visit) to the start of the visitor's last visit with it.
	var last [1 + len(Dims)]map[string]int64
	for d := range last {
		last[d] = map[string]int64{}
	}
	for i := range vs {
		v := &vs[i]
		if i == 0 || v.Visitor != vs[i-1].Visitor {
			for d := range last {
				// clear costs the most the map ever held: after a visitor of many values, a new map.
				if len(last[d]) > 64 {
					last[d] = map[string]int64{}
				} else {
					clear(last[d])
				}
			}
		}
		for d := range last {
			val := ""
			if d > 0 {
				val = v.Vals[d-1]
			}
			v.Prevs[d] = NoPrev
			if t, ok := last[d][val]; ok {
				v.Prevs[d] = t
			}
			last[d][val] = v.Start
		}
	}
}

// Key is a row of visits summed by day: Dim 0 for any value, i for Dims[i-1]; days since 1970 in the
// site's zone, PrevDay only with HasPrev. Unit is the store's own grouping of rows (the ClickHouse store
// files a visit under the UTC day of its start).
type Key struct {
	Unit         int32
	Dim          int
	Value        string
	Day, PrevDay int32
	HasPrev      bool
}

// Sum is a row's sums: duration in microseconds.
type Sum struct{ Visits, Pageviews, Bounces, Duration, Events int64 }

// Sums are visits summed into rows by the local days of one zone.
type Sums struct {
	loc *time.Location
	M   map[Key]*Sum
}

// NewSums sums by the local days of loc.
func NewSums(loc *time.Location) *Sums { return &Sums{loc: loc, M: map[Key]*Sum{}} }

// Day is the local day of us (microseconds since 1970) in loc, in days since 1970.
func Day(us int64, loc *time.Location) int32 {
	_, offset := time.UnixMicro(us).In(loc).Zone()
	return int32(floorDiv(us+int64(offset)*1e6, 86400e6))
}

// Add sums v into its rows under unit, times sign (1 to add it, -1 to take it away).
func (s *Sums) Add(unit int32, v *Visit, sign int64) {
	start := Day(v.Start, s.loc)
	bounce := int64(0)
	if v.PV == 1 {
		bounce = 1
	}
	for dim := range v.Prevs {
		k := Key{Unit: unit, Dim: dim, Day: start}
		if dim > 0 {
			k.Value = v.Vals[dim-1]
		}
		if p := v.Prevs[dim]; p != NoPrev {
			k.PrevDay, k.HasPrev = Day(p, s.loc), true
		}
		r := s.M[k]
		if r == nil {
			r = &Sum{}
			s.M[k] = r
		}
		r.Visits += sign
		r.Pageviews += sign * v.PV
		r.Bounces += sign * bounce
		r.Duration += sign * (v.End - v.Start)
		r.Events += sign * v.EV
	}
}

// Rows are the keys whose sums are not all zero, by unit and day.
func (s *Sums) Rows() []Key {
	keys := make([]Key, 0, len(s.M))
	for k, r := range s.M {
		if *r != (Sum{}) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if a.Unit != b.Unit {
			return int(a.Unit) - int(b.Unit)
		}
		return int(a.Day) - int(b.Day)
	})
	return keys
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

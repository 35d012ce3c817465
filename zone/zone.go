// Package zone is a site's time zone over a span of time, as offsets and the instants they change, for
// SQL that buckets UTC timestamps by the site's local days without a zone database in the query.
package zone

import (
	"fmt"
	"strings"
	"time"
)

// Zone is a site's time zone over one query's span, as the offsets in force and the instants they change
// (UTC). Time buckets shift a UTC timestamp by its offset and truncate it: on DuckDB that is plain
// arithmetic, where converting each row through the zone database costs ten times the rest of a query.
type Zone struct {
	Name string
	// Offsets[i] (seconds east of UTC) holds before Changes[i]; the last one holds after every change.
	Offsets []int
	Changes []time.Time
}

// Span returns loc's offsets over [from, to). Offsets change at most a few times a year, so the span
// is walked an hour at a time and each change is then found to the second.
func Span(name string, loc *time.Location, from, to time.Time) Zone {
	z := Zone{Name: name}
	offset := func(t time.Time) int { _, o := t.In(loc).Zone(); return o }
	from, to = from.Add(-24*time.Hour), to.Add(24*time.Hour) // buckets at the edges see their neighbours
	cur := offset(from)
	z.Offsets = append(z.Offsets, cur)
	for t := from; t.Before(to); {
		next := t.Add(time.Hour)
		if o := offset(next); o != cur {
			lo, hi := t, next // offset(lo) == cur, offset(hi) != cur
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
				if mid.Equal(lo) {
					break
				}
				if offset(mid) == cur {
					lo = mid
				} else {
					hi = mid
				}
			}
			cur = offset(hi)
			z.Changes = append(z.Changes, hi.UTC())
			z.Offsets = append(z.Offsets, cur)
		}
		t = next
	}
	return z
}

// Shifted is col moved to local wall-clock time: col plus the offset in force at col.
func (z Zone) Shifted(col string) string {
	if len(z.Changes) == 0 {
		if z.Offsets[0] == 0 {
			return col
		}
		return fmt.Sprintf("(%s + INTERVAL (%d) SECOND)", col, z.Offsets[0])
	}
	var b strings.Builder
	b.WriteString("(" + col + " + CASE")
	for i, c := range z.Changes {
		fmt.Fprintf(&b, " WHEN %s < TIMESTAMP '%s' THEN INTERVAL (%d) SECOND", col, c.Format("2006-01-02 15:04:05"), z.Offsets[i])
	}
	fmt.Fprintf(&b, " ELSE INTERVAL (%d) SECOND END)", z.Offsets[len(z.Offsets)-1])
	return b.String()
}

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Finished visits (migration 006). A visit lasts less than a day, so the visits starting on a UTC day d
// are complete once the day after it is over: the job below writes them as plain rows into visits_done
// under a new generation, built from the visits rows of d-1, d and d+1 (d-1 so that a visit's start is its
// true start), and then records in visit_days the generation and the number of events those three days
// held when the job read it, before building. stats.ClickHouse.Visits reads a day from visits_done only
// while that number is still the three days' count in visit_day_events (events are only ever added, so
// the same number means the same events) and merges the visits table for every other day. The job is the
// writer's: queries never write.
//
// What that gives:
//   - A job stopped halfway leaves rows under a generation nothing recorded (never read) or days recorded
//     and others not (those stay merged); the next run builds what is missing.
//   - Two nodes running the job write two generations of a day; the newer one is read, and both are
//     complete, or else their day counts no longer match and the day is merged.
//   - A late event (dated on a finished day, or moving a visit's start to the day before) changes a day's
//     count: the days whose three days include it are merged from the visits table at once, exactly as
//     before the job, and the job's next run writes them again under a new generation.
//   - Superseded generations stay in visits_done (reads skip them by the sort key); nothing removes them
//     but a site's deletion. They come only from late events, re-runs after a failure and racing nodes.
//
// A reader can see an insert's day counts before its visits rows (18.16 writes an insert's views in name
// order, and visit_day_events_mv sorts first): the day is then merged without the new events for that
// moment, as a visit can lack its newest events while an insert runs (see Visits in the package
// documentation).

// finishEvery is how often a store finishes visits in the background (Open starts the loop), after a
// first run finishFirst after the start: a start does not add a pass over every visit to a node's
// startup, and a short-lived store (a command, a test) runs none beside its own queries (18.16 has
// crashed on a statement racing a DROP DATABASE).
var finishEvery, finishFirst = time.Minute, 10 * time.Minute

// finishChunkEvents bounds the events a single INSERT … SELECT of the job merges (the first run of a large
// site builds every day): about 1.4 GB of aggregation state per million visits, spilled to disk past 1 GB.
const finishChunkEvents = 1_500_000

// finishLoop runs FinishVisits finishFirst after the start and then every finishEvery until stop is closed.
func (s *Store) finishLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	wait := time.NewTimer(finishFirst)
	defer wait.Stop()
	for {
		select {
		case <-stop:
			return
		case <-wait.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := s.FinishVisits(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("finished visits not written; the next run tries again", slog.Any("err", err))
		}
		cancel()
		wait.Reset(finishEvery)
	}
}

// FinishVisits writes the visits of every finished day that visits_done lacks or holds stale (the days up
// to the day before yesterday, UTC, by the store's clock), the open days' run when it is due, and the
// payers' copies (CopyPayers).
func (s *Store) FinishVisits(ctx context.Context) error {
	now := s.now().UTC()
	if err := s.FinishVisitsBefore(ctx, now.AddDate(0, 0, -1)); err != nil {
		return err
	}
	// The open days are written again at most every openShare-th of the time a run of them takes (at
	// 10M events one took about 3 s), so a large site's runs stay a small part of a core; its tail is
	// longer for it.
	var openErr error
	if now.UnixNano() >= s.nextOpen.Load() {
		start := time.Now()
		openErr = s.OpenVisits(ctx, now)
		s.nextOpen.Store(now.Add(time.Since(start) * openShare).UnixNano())
	}
	return errors.Join(openErr, s.CopyPayers(ctx))
}

// FinishVisitsBefore writes the visits starting on the UTC days before before's day that visits_done
// lacks or holds stale. Calling it with a later day than FinishVisits would finish days whose visits can
// still grow: the answers stay exact (such a day is merged again as soon as an event reaches it), the
// work is wasted.
func (s *Store) FinishVisitsBefore(ctx context.Context, before time.Time) error {
	s.finishMu.Lock()
	defer s.finishMu.Unlock()
	cut := epochDay(before.UTC())
	counts, err := s.dayCounts(ctx, `SELECT site_id, day, sum(events) FROM visit_day_events GROUP BY site_id, day`)
	if err != nil {
		return err
	}
	recorded, err := s.dayCounts(ctx, `SELECT site_id, day, argMax(events, gen) FROM visit_days GROUP BY site_id, day`)
	if err != nil {
		return err
	}
	zones, err := s.siteZones(ctx)
	if err != nil {
		// The finished visits do not wait for the MetaStore: this run writes no sums.
		s.log.Warn("finished visits written without their sums by day", slog.Any("err", err))
		zones = nil
	}
	sums, err := s.readDaySums(ctx)
	if err != nil {
		return err
	}
	for site, days := range bySite(counts) {
		var stale []int64
		window := map[int64]uint64{}
		for day, n := range days {
			for d := day - 1; d <= day+1; d++ {
				window[d] += n
			}
		}
		zone, summed := zones[site]
		p := newPrefixes(days)
		for d, w := range window {
			if d >= cut || w == 0 {
				continue
			}
			r, ok := recorded[dayKey{site, d}]
			// A day's sums are stale once any earlier day gains an event (prefix): its visits' previous
			// ones may have changed. Its visits are written again with them.
			sum, ok2 := sums[dayKey{site, d}]
			if !ok || r != w || summed && (!ok2 || sum.zone != zone || sum.prefix != p.at(d+2)) {
				stale = append(stale, d)
			}
		}
		sort.Slice(stale, func(i, j int) bool { return stale[i] < stale[j] })
		for len(stale) > 0 {
			n, events := 0, uint64(0)
			for n < len(stale) && stale[n]-stale[0] < 31 && (n == 0 || events+window[stale[n]] <= 3*finishChunkEvents) {
				events += window[stale[n]]
				n++
			}
			if err := s.finishDays(ctx, site, stale[:n], window, p, zone, summed); err != nil {
				return err
			}
			stale = stale[n:]
		}
	}
	return nil
}

// finishDays writes the visits starting on days (ascending, within a month of each other) under a new
// generation, and with sum their sums by local day in zone (visitsday.go), then records the generation
// with the event counts read before.
func (s *Store) finishDays(ctx context.Context, site string, days []int64, window map[int64]uint64, p prefixes, zone string, sum bool) error {
	gen := s.seq()
	list := make([]string, len(days))
	for i, d := range days {
		list[i] = "'" + dayText(d) + "'"
	}
	// No output column is aliased to a name of the visits table's columns: on 18.16 an alias shadows the
	// column everywhere in the query.
	q := `INSERT INTO visits_done (site_id, day, gen, session_id, ` + strings.Join(doneCols, ", ") + `)
		SELECT site_id, toDate(start, 'UTC') AS start_day, toUInt64(` + strconv.FormatUint(gen, 10) + `), session_id, ` + doneMerges + `
		FROM visits WHERE site_id = $1 AND day >= toDate('` + dayText(days[0]-1) + `') AND day <= toDate('` + dayText(days[len(days)-1]+1) + `')
		GROUP BY site_id, session_id HAVING start_day IN (` + strings.Join(list, ", ") + `)
		SETTINGS max_bytes_before_external_group_by = 1000000000`
	if _, err := s.db.ExecContext(ctx, q, site); err != nil {
		return mapErr("finish visits", err)
	}
	if sum {
		for _, d := range days {
			if err := s.sumDay(ctx, site, d, days, gen, zone); err != nil {
				return err
			}
		}
	}
	err := s.batch(ctx, "record finished days", `INSERT INTO visit_days (site_id, day, gen, events)`, len(days), func(i int) []any {
		return []any{site, dayTime(days[i]), gen, window[days[i]]}
	})
	if err != nil || !sum {
		return err
	}
	return s.batch(ctx, "record finished days' sums", `INSERT INTO visit_day_sums (site_id, day, gen, prefix, zone)`, len(days), func(i int) []any {
		return []any{site, dayTime(days[i]), gen, p.at(days[i] + 2), zone}
	})
}

type dayKey struct {
	site string
	day  int64
}

func (s *Store) dayCounts(ctx context.Context, q string) (map[dayKey]uint64, error) {
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, mapErr("visit day counts", err)
	}
	defer rows.Close()
	out := map[dayKey]uint64{}
	for rows.Next() {
		var site string
		var day time.Time
		var n uint64
		if err := rows.Scan(&site, &day, &n); err != nil {
			return nil, mapErr("visit day counts", err)
		}
		out[dayKey{site, epochDay(day)}] = n
	}
	return out, mapErr("visit day counts", rows.Err())
}

func epochDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func dayText(d int64) string { return time.Unix(d*86400, 0).UTC().Format(time.DateOnly) }

// doneCols and doneMerges are visits_done's visit columns and the merges of the visits table's states
// that fill them, in stats.ClickHouse.Visits's order (stats/dialect_clickhouse.go: visitCols, visitMerges).
var doneCols = []string{"visitor_id", "start_ts", "end_ts", "pv", "ev", "entry_page", "exit_page", "channel", "referrer_source", "referrer",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "click_id_platform", "country", "region", "device", "browser", "os"}

var doneMerges = func() string {
	cols := []string{"argMinMerge(visitor_id_state)", "minMerge(start_ts_state) AS start", "maxMerge(end_ts_state)", "countIfMerge(pv_state)",
		"countIfMerge(ev_state)", "argMinIfMerge(entry_page_state)", "argMaxIfMerge(exit_page_state)"}
	for _, c := range doneCols[7:] {
		cols = append(cols, "argMinMerge("+c+"_state)")
	}
	if len(cols) != len(doneCols) {
		panic(fmt.Sprintf("clickhouse: %d merges for %d visit columns", len(cols), len(doneCols)))
	}
	return strings.Join(cols, ", ")
}()

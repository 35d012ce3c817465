package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary/visitday"
)

// Payers' visits (migration 008). A query counting the paying visitors of a range by a visit column
// (stats: conversions) joins the range's visits with the visitors linked to a payment in it; at 10M
// events that read a million finished visits to keep a few thousand. The job copies, for each finished
// day's newest generation, the rows of visits_done whose visitor has a payment link into visits_paid,
// and records in visit_paid_marks the mark it copied up to: every link (identities: payment_id and
// visitor_id set) whose rowid is at most mark, and how many links that was when it read the mark. Each
// run copies, for the days whose mark is older than the newest link, the visitors linked since.
//
// A reader (stats/units.go, paidLate) takes a day's rows from visits_paid only while the mark's count
// still holds, and reads the visitors linked after the mark from visits_done:
//   - rowid is a write-order clock per process, so a link written by another node, or by an insert that
//     took its rowid before the mark was read and landed after, can have a rowid under a recorded mark;
//     it changes the count, the day is read from visits_done, and the job's next run copies the day's
//     payers again from the start;
//   - a mark is recorded after the rows it covers, so a job stopped halfway leaves copied rows nothing
//     names (rows are only ever added; a visitor copied twice is counted once) and days still marked
//     lower;
//   - two nodes copying the same day both write rows for the links they read before copying: the higher
//     mark wins, and its node copied the links above the mark it started from, whose rows were written
//     before that mark was recorded.
//
// A run copies only visitors not linked under the day's mark, so a payer's renewal adds no rows; a copy
// from the start (after a link under a mark) copies a day's payers again, as two nodes copying one day
// at once both do, and nothing removes rows but a site's deletion. Each run with a new link reads the
// visitor ids of the site's current finished visits once (visits_done is ordered by session). Its errors
// do not stop the open days' run (FinishVisits), and one site's do not stop the others'.

// paidLink selects identities' payment links to a visitor.
const paidLink = `payment_id <> '' AND visitor_id <> ''`

// paidCols are visits_paid's columns after site_id, day and gen: the visit columns a count by value reads.
var paidCols = append([]string{"visitor_id", "start_ts"}, visitday.Dims[:]...)

// paidMark is a day's newest record in visit_paid_marks, or the site's links now.
type paidMark struct{ mark, links uint64 }

// paidState is what markPaid reads once per run for every site.
type paidState struct {
	links map[string]paidMark           // the site's newest rowid among its links and their number
	gens  map[string]map[int64]uint64   // each finished day's newest generation
	marks map[string]map[int64]paidMark // the newest mark of each day's newest generation
}

// CopyPayers copies the payers' finished visits of every site up to its newest link (FinishVisits runs
// it every minute, after the finished and open days, unless finishing the days failed), and returns
// every site's error.
func (s *Store) CopyPayers(ctx context.Context) error {
	s.finishMu.Lock()
	defer s.finishMu.Unlock()
	paid, err := s.readPaid(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for site := range paid.gens {
		if err := s.markPaid(ctx, site, paid); err != nil {
			errs = append(errs, fmt.Errorf("site %s: %w", site, err))
		}
	}
	return errors.Join(errs...)
}

// readPaid reads the sites' links, finished days and marks in three statements.
func (s *Store) readPaid(ctx context.Context) (*paidState, error) {
	st := &paidState{links: map[string]paidMark{}, marks: map[string]map[int64]paidMark{}}
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, max(rowid), count() FROM identities WHERE `+paidLink+` GROUP BY site_id`)
	if err != nil {
		return nil, mapErr("payers' links", err)
	}
	for rows.Next() {
		var site string
		var m paidMark
		if err := rows.Scan(&site, &m.mark, &m.links); err != nil {
			rows.Close()
			return nil, mapErr("payers' links", err)
		}
		st.links[site] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr("payers' links", err)
	}
	gens, err := s.dayCounts(ctx, `SELECT site_id, day, max(gen) FROM visit_days GROUP BY site_id, day`)
	if err != nil {
		return nil, err
	}
	st.gens = bySite(gens)
	rows, err = s.db.QueryContext(ctx, `SELECT site_id, day, gen, max(mark), argMax(links, (mark, links)) FROM visit_paid_marks
		WHERE (site_id, day, gen) IN (SELECT site_id, day, max(gen) FROM visit_days GROUP BY site_id, day) GROUP BY site_id, day, gen`)
	if err != nil {
		return nil, mapErr("payers' marks", err)
	}
	defer rows.Close()
	for rows.Next() {
		var site string
		var day time.Time
		var gen uint64
		var m paidMark
		if err := rows.Scan(&site, &day, &gen, &m.mark, &m.links); err != nil {
			return nil, mapErr("payers' marks", err)
		}
		if st.gens[site][epochDay(day)] != gen {
			continue // written since the days were read: the next run sees both
		}
		if st.marks[site] == nil {
			st.marks[site] = map[int64]paidMark{}
		}
		st.marks[site][epochDay(day)] = m
	}
	return st, mapErr("payers' marks", rows.Err())
}

// markPaid copies into visits_paid the payers' visits of every finished day of site not copied up to
// its newest link, and records the days' new mark. A day whose generation changed under the read
// (another node) is marked for the generation read: the new one stays unmarked until the next run.
func (s *Store) markPaid(ctx context.Context, site string, st *paidState) error {
	now := st.links[site] // zero without links: days are marked as holding none
	marks := st.marks[site]
	// The lowest link each day lacks: 0 for every link.
	from := map[int64]uint64{}
	var check []uint64
	for day := range st.gens[site] {
		m, ok := marks[day]
		switch {
		case !ok:
			from[day] = 0
		case m.mark > now.mark || m.mark == now.mark && m.links >= now.links:
			// Up to date, or recorded by a run that read more than this one (another node): nothing to do.
		case m.mark == now.mark:
			from[day] = 0 // a link landed under the mark
		default:
			from[day] = m.mark
			check = append(check, m.mark)
		}
	}
	if len(from) == 0 {
		return nil
	}
	// A mark whose count of links changed lacks a link under it: the day is copied again from the start.
	if len(check) > 0 {
		held, err := s.linksUpTo(ctx, site, slices.Compact(slices.Sorted(slices.Values(check))))
		if err != nil {
			return err
		}
		for day, low := range from {
			if low > 0 && held[low] != marks[day].links {
				from[day] = 0
			}
		}
	}
	byLow := map[uint64][]int64{}
	for day, low := range from {
		byLow[low] = append(byLow[low], day)
	}
	gens := st.gens[site]
	for low, days := range byLow {
		if low >= now.mark {
			continue // no link since: nothing to copy
		}
		slices.Sort(days)
		for len(days) > 0 {
			n := min(len(days), 400)
			if err := s.copyPaid(ctx, site, days[:n], gens, low, now.mark); err != nil {
				return err
			}
			days = days[n:]
		}
	}
	var days []int64
	for day := range from {
		days = append(days, day)
	}
	return s.batch(ctx, "record payers' marks", `INSERT INTO visit_paid_marks (site_id, day, gen, mark, links)`, len(days), func(i int) []any {
		return []any{site, dayTime(days[i]), gens[days[i]], now.mark, now.links}
	})
}

// copyPaid copies the visits of days' generations whose visitors were linked with a rowid in (low, high]
// and not at or under low (copied already: the caller checked low's mark): a payer's renewal does not
// copy their visits again.
func (s *Store) copyPaid(ctx context.Context, site string, days []int64, gens map[int64]uint64, low, high uint64) error {
	pairs := make([]string, len(days))
	for i, d := range days {
		pairs[i] = "(toDate('" + dayText(d) + "'), toUInt64(" + strconv.FormatUint(gens[d], 10) + "))"
	}
	cols := strings.Join(paidCols, ", ")
	links := `SELECT visitor_id FROM identities WHERE site_id = $1 AND ` + paidLink + ` AND rowid `
	which := links + `> ` + strconv.FormatUint(low, 10) + ` AND rowid <= ` + strconv.FormatUint(high, 10)
	if low > 0 {
		which += ` AND visitor_id NOT IN (` + links + `<= ` + strconv.FormatUint(low, 10) + `)`
	}
	q := `INSERT INTO visits_paid (site_id, day, gen, ` + cols + `)
		SELECT site_id, day, gen, ` + cols + ` FROM visits_done
		PREWHERE visitor_id IN (` + which + `)
		WHERE site_id = $1 AND (day, gen) IN (` + strings.Join(pairs, ", ") + `)`
	if _, err := s.db.ExecContext(ctx, q, site); err != nil {
		return mapErr("copy payers' visits", err)
	}
	return nil
}

// linksUpTo counts site's links with a rowid up to each of marks.
func (s *Store) linksUpTo(ctx context.Context, site string, marks []uint64) (map[uint64]uint64, error) {
	list := make([]string, len(marks))
	for i, m := range marks {
		list[i] = strconv.FormatUint(m, 10)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m, countIf(rowid <= m) FROM identities ARRAY JOIN [`+strings.Join(list, ", ")+`] AS m
		WHERE site_id = $1 AND `+paidLink+` GROUP BY m`, site)
	if err != nil {
		return nil, mapErr("payers' marks", err)
	}
	defer rows.Close()
	out := map[uint64]uint64{}
	for rows.Next() {
		var m, n uint64
		if err := rows.Scan(&m, &n); err != nil {
			return nil, mapErr("payers' marks", err)
		}
		out[m] = n
	}
	return out, mapErr("payers' marks", rows.Err())
}

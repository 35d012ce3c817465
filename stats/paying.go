package stats

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
)

// The paying half of conversions: how many visitors who paid in a range had a visit in it, in all and by
// the value of each visit column. Worked out afresh it reads every visit of the range against the
// identities (about 40 ms a page at 10M events); the memo keeps it per range instead, as each paying
// visitor's values, and brings it up to date by reading again only the visitors a change names.

// payingCols are the visit columns the memo counts paying visitors by: every visit dimension's.
var payingCols = func() []string {
	var cols []string
	for _, col := range visitDims {
		cols = append(cols, col)
	}
	slices.Sort(cols)
	return cols
}()

// maxPayingParts bounds the ranges a site keeps paying visitors for (the dashboard's range, its
// previous period, and a few a user moves between).
const maxPayingParts = 8

// payingCounts is a range's paying visitors with a visit in it: total, and by column then value
// (a visitor counts once in each value their visits have). Read-only once published.
type payingCounts struct {
	total int64
	byCol map[string]map[string]int64
}

type payingKey struct {
	from, to int64
	test     bool
}

// payingPart is one range's paying visitors. Changes (under memo.mu) only mark visitors dirty; the reads
// that bring the part up to date run one at a time (under load) and publish a new payingCounts.
type payingPart struct {
	load sync.Mutex
	// memo.mu guards loaded, gen, dirty, watch and snap. gen counts marks; dirty holds the visitors to
	// read again with the mark they were last given, so a read clears only the marks given before it
	// started. watch is payers' keys, for markPaying.
	loaded bool
	gen    uint64
	dirty  map[string]uint64
	watch  map[string]bool
	snap   *payingCounts
	// load guards the rest.
	payers map[string][]uint64 // paying visitor → (column index << 32 | value id) of their visits in the range
	ids    map[string]uint32
	values []string
	counts map[uint64]int64
	total  int64
}

// mark notes that v's visits or paying may have changed.
func (pp *payingPart) mark(v string) {
	pp.gen++
	pp.dirty[v] = pp.gen
}

// markPaying notes the changes that can move a range's paying visitors (memo.mu held): a link of a
// payment to a visitor, a recomputed visit of a paying visitor (of any visitor, while the range's first
// read has not told who pays).
func (sm *siteMemo) markPaying(c tributary.Change) {
	for key, pp := range sm.paying {
		for _, id := range c.Identities {
			// The store keeps times to the microsecond.
			if at := id.At.UTC().Truncate(time.Microsecond).UnixNano(); id.PaymentID != "" && id.VisitorID != "" && at >= key.from && at < key.to {
				pp.mark(id.VisitorID)
			}
		}
		for v, start := range c.Visits {
			if start.UnixNano() >= key.to {
				continue
			}
			// A visitor being read (dirty) may turn out to pay: its visit must be read after that read.
			if _, due := pp.dirty[v]; due || pp.watch[v] || !pp.loaded {
				pp.mark(v)
			}
		}
	}
}

// paying returns the paying visitors of [from, to) by visit column, reading only what changed since the
// range was last asked for.
func (m *memo) paying(ctx context.Context, e *Engine, site string, from, to time.Time, test bool) (*payingCounts, error) {
	key := payingKey{from.UnixNano(), to.UnixNano(), test}
	m.mu.Lock()
	sm := m.site(site)
	pp := sm.paying[key]
	if pp == nil {
		if len(sm.paying) >= maxPayingParts {
			clear(sm.paying)
		}
		pp = &payingPart{dirty: map[string]uint64{}, watch: map[string]bool{}}
		sm.paying[key] = pp
	}
	if pp.loaded && len(pp.dirty) == 0 {
		snap := pp.snap
		m.mu.Unlock()
		return snap, nil
	}
	m.mu.Unlock()

	pp.load.Lock()
	defer pp.load.Unlock()
	m.mu.Lock()
	if pp.loaded && len(pp.dirty) == 0 { // brought up to date while this waited
		snap := pp.snap
		m.mu.Unlock()
		return snap, nil
	}
	gen := pp.gen
	var list []string
	if pp.loaded && len(pp.dirty) <= listMax {
		list = make([]string, 0, len(pp.dirty))
		for v := range pp.dirty {
			list = append(list, v)
		}
		slices.Sort(list)
	}
	m.mu.Unlock()

	payers, rows, err := e.readPaying(ctx, site, from, to, test, list)
	if err != nil {
		return nil, err
	}
	if m.afterPayingRead != nil {
		m.afterPayingRead()
	}
	full := list == nil
	if full {
		pp.payers, pp.ids, pp.values, pp.counts, pp.total = map[string][]uint64{}, map[string]uint32{}, nil, map[uint64]int64{}, 0
		list = slices.Collect(maps.Keys(payers))
	}
	for _, v := range list {
		pp.set(v, payers[v], rows[v])
	}
	snap := pp.publish()
	m.mu.Lock()
	defer m.mu.Unlock()
	pp.loaded = true
	pp.snap = snap
	if full {
		clear(pp.watch)
	}
	for _, v := range list {
		if _, pays := pp.payers[v]; pays {
			pp.watch[v] = true
		} else {
			delete(pp.watch, v)
		}
	}
	for v, g := range pp.dirty {
		if g <= gen {
			delete(pp.dirty, v)
		}
	}
	return snap, nil
}

// set replaces v's part of the counts: paying tells whether v paid in the range, rows are the values of
// v's visits in it (one slice per visit, in payingCols order).
func (pp *payingPart) set(v string, paying bool, rows [][]string) {
	if old, ok := pp.payers[v]; ok {
		for _, k := range old {
			if pp.counts[k]--; pp.counts[k] == 0 {
				delete(pp.counts, k)
			}
		}
		if len(old) > 0 {
			pp.total--
		}
		delete(pp.payers, v)
	}
	if !paying {
		return
	}
	var keys []uint64
	for _, r := range rows {
		for c, val := range r {
			id, ok := pp.ids[val]
			if !ok {
				id = uint32(len(pp.values))
				pp.ids[val] = id
				pp.values = append(pp.values, val)
			}
			if k := uint64(c)<<32 | uint64(id); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	pp.payers[v] = slices.Clip(keys)
	for _, k := range keys {
		pp.counts[k]++
	}
	if len(keys) > 0 {
		pp.total++
	}
}

// publish builds the counts a query reads.
func (pp *payingPart) publish() *payingCounts {
	out := &payingCounts{total: pp.total, byCol: make(map[string]map[string]int64, len(payingCols))}
	for _, col := range payingCols {
		out.byCol[col] = map[string]int64{}
	}
	for k, n := range pp.counts {
		out.byCol[payingCols[k>>32]][pp.values[uint32(k)]] = n
	}
	return out
}

// readPaying reads who of the visitors in list (all when nil) paid in [from, to), and the values of their
// visits in it.
func (e *Engine) readPaying(ctx context.Context, site string, from, to time.Time, test bool, list []string) (map[string]bool, map[string][][]string, error) {
	a := &args{d: e.d}
	ps, pf, pt := a.add(site), a.add(from), a.add(to)
	paidSQL := "SELECT DISTINCT visitor_id FROM identities WHERE site_id = " + ps + " AND payment_id <> '' AND visitor_id <> '' AND ts >= " + pf + " AND ts < " + pt +
		" AND " + paidInMode(ps, a.add(!test))
	var listSQL string
	if list != nil {
		if len(list) == 0 {
			return nil, nil, nil
		}
		listSQL = a.list(list)
		paidSQL += " AND visitor_id IN (" + listSQL + ")"
	}
	payers := map[string]bool{}
	res, err := e.db.QueryContext(ctx, paidSQL, a.vals...)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: paying visitors: %w", err)
	}
	for res.Next() {
		var v string
		if err := res.Scan(&v); err != nil {
			res.Close()
			return nil, nil, fmt.Errorf("stats: paying visitors: %w", err)
		}
		payers[v] = true
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, nil, fmt.Errorf("stats: paying visitors: %w", err)
	}

	sel := make([]string, len(payingCols))
	for i, col := range payingCols {
		sel[i] = "coalesce(" + col + ", '')"
	}
	// A payer linked between the two reads is read with its visits (and marked, so read again). The
	// query binds its own arguments: a statement must use every argument it is given.
	b := &args{d: e.d}
	bs, bf, bt := b.add(site), b.add(from), b.add(to)
	visitsSQL := "SELECT visitor_id, " + strings.Join(sel, ", ") + " FROM " + e.d.Visits(e.sessionColumns(), bs, bf, bt) + " s WHERE site_id = " + bs +
		" AND start_ts >= " + bf + " AND start_ts < " + bt
	if list != nil {
		// Visits of a listed visitor who does not pay are read and left out: cheaper than the semi-join.
		visitsSQL += " AND visitor_id IN (" + b.list(list) + ")"
	} else {
		visitsSQL += " AND visitor_id IN (SELECT DISTINCT visitor_id FROM identities WHERE site_id = " + bs + " AND payment_id <> '' AND visitor_id <> '' AND ts >= " +
			bf + " AND ts < " + bt + " AND " + paidInMode(bs, b.add(!test)) + ")"
	}
	a = b
	res, err = e.db.QueryContext(ctx, visitsSQL, a.vals...)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: paying visitors' visits: %w", err)
	}
	defer res.Close()
	rows := map[string][][]string{}
	vals := make([]string, len(payingCols))
	dest := make([]any, 1+len(payingCols))
	var v string
	dest[0] = &v
	for i := range vals {
		dest[i+1] = &vals[i]
	}
	for res.Next() {
		if err := res.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("stats: paying visitors' visits: %w", err)
		}
		if list != nil && !payers[v] {
			continue
		}
		payers[v] = true
		rows[v] = append(rows[v], slices.Clone(vals))
	}
	if err := res.Err(); err != nil {
		return nil, nil, fmt.Errorf("stats: paying visitors' visits: %w", err)
	}
	return payers, rows, nil
}

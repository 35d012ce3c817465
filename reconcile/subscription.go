package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// SubState is one known state of a subscription: its MRR (minor units of Currency, 0 when it brings
// none: trialing, canceled, incomplete, paused) at the time the provider stamped it.
type SubState struct {
	At       time.Time `json:"at"`
	Status   string    `json:"status"`
	MRR      int64     `json:"mrr"`
	Currency string    `json:"currency,omitempty"`
}

// lifecycle orders statuses stamped in the same second the way a subscription moves through them.
var lifecycle = map[string]int{"incomplete": 0, "incomplete_expired": 1, "trialing": 2, "active": 3, "past_due": 4, "unpaid": 5, "paused": 6, "canceled": 7}

func (s SubState) before(o SubState) bool {
	if !s.At.Equal(o.At) {
		return s.At.Before(o.At)
	}
	if lifecycle[s.Status] != lifecycle[o.Status] {
		return lifecycle[s.Status] < lifecycle[o.Status]
	}
	return s.MRR < o.MRR
}

// Subscription is the ordered history of one subscription's states, by the provider's timestamps, not
// by arrival: movements are derived from the history, so a late state lands where it belongs.
type Subscription struct {
	ID       string     `json:"id"`
	Livemode bool       `json:"livemode"`
	Customer string     `json:"customer,omitempty"`
	History  []SubState `json:"history"`
	// Metadata is the newest state's metadata: linking keys on a subscription link its invoices' payments.
	Metadata map[string]string `json:"metadata,omitempty"`
	MetaAt   time.Time         `json:"meta_at,omitzero"`
}

// Add inserts a state; it reports whether the history changed. A state equal to a known one (same
// time, status and MRR) is a redelivery.
func (s *Subscription) Add(st SubState) bool {
	for _, h := range s.History {
		if h.At.Equal(st.At) && h.Status == st.Status && h.MRR == st.MRR {
			return false
		}
	}
	s.History = append(s.History, st)
	sort.SliceStable(s.History, func(i, j int) bool { return s.History[i].before(s.History[j]) })
	return true
}

// Movement is a target MRR movement: the summed delta of one kind at one time.
type Movement struct {
	At       time.Time
	Kind     string
	Delta    int64
	Currency string
}

// Movements walks the history: each change of MRR is new (from nothing, never paid before),
// reactivation (from nothing, after it had paid), expansion, contraction or churn (to nothing).
func (s *Subscription) Movements() []Movement {
	var out []Movement
	prev, paid := int64(0), false
	cur := ""
	for _, h := range s.History {
		if h.Currency != "" {
			cur = h.Currency
		}
		if h.MRR == prev {
			continue
		}
		var kind string
		switch {
		case prev == 0 && paid:
			kind = tributary.MRRReactivation
		case prev == 0:
			kind = tributary.MRRNew
		case h.MRR == 0:
			kind = tributary.MRRChurn
		case h.MRR > prev:
			kind = tributary.MRRExpansion
		default:
			kind = tributary.MRRContraction
		}
		out = append(out, Movement{At: h.At, Kind: kind, Delta: h.MRR - prev, Currency: cur})
		prev = h.MRR
		if prev > 0 {
			paid = true
		}
	}
	for i := range out {
		if out[i].Currency == "" {
			out[i].Currency = cur
		}
	}
	return out
}

// MRR is the subscription's MRR in its newest known state.
func (s *Subscription) MRR() int64 {
	if len(s.History) == 0 {
		return 0
	}
	return s.History[len(s.History)-1].MRR
}

// DiffMovements returns the movements to append so that held sums to the targets per time, kind and
// currency. Ids are "mrr:<sub>:<unix>:<kind>", then "#n" for later differences of the same bucket.
func DiffMovements(sub *Subscription, targets []Movement, held []tributary.MRRMovement) []tributary.MRRMovement {
	type key struct {
		at   int64
		kind string
		cur  string
	}
	want := map[key]int64{}
	at := map[key]time.Time{}
	for _, m := range targets {
		k := key{m.At.Unix(), m.Kind, strings.ToUpper(m.Currency)}
		want[k] += m.Delta
		at[k] = m.At
	}
	have := map[key]int64{}
	count := map[string]int{}
	for _, m := range held {
		k := key{m.At.Unix(), m.Kind, strings.ToUpper(m.Currency)}
		have[k] += m.Delta
		count[stemOf(sub.ID, k.at, k.kind)]++
		if _, ok := at[k]; !ok {
			at[k] = m.At
		}
	}
	keys := make([]key, 0, len(want)+len(have))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].at != keys[j].at {
			return keys[i].at < keys[j].at
		}
		if keys[i].kind != keys[j].kind {
			return keys[i].kind < keys[j].kind
		}
		return keys[i].cur < keys[j].cur
	})
	var out []tributary.MRRMovement
	for _, k := range keys {
		d := want[k] - have[k]
		if d == 0 {
			continue
		}
		stem := stemOf(sub.ID, k.at, k.kind)
		id := stem
		if n := count[stem]; n > 0 {
			id = fmt.Sprintf("%s#%d", stem, n)
		}
		count[stem]++
		out = append(out, tributary.MRRMovement{ID: id, SubscriptionID: sub.ID, CustomerID: sub.Customer, At: at[k], Kind: k.kind, Delta: d,
			Currency: k.cur, Livemode: sub.Livemode})
	}
	return out
}

func stemOf(sub string, at int64, kind string) string {
	return fmt.Sprintf("mrr:%s:%d:%s", sub, at, kind)
}

package attribution

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Unattributed is the Share.Index of the pseudo touch that takes a payment with no touchpoint at all,
// so that the money is still counted (its SessionID is "").
const Unattributed = -1

// Share is the part of a payment credited to one touchpoint. (The brief called this type Credit; Go does
// not allow a type and a function of one name, and the function reads better at call sites.)
type Share struct {
	Index     int    // position in the touches given to Credit, or Unattributed
	SessionID string // the touchpoint's session, "" for Unattributed
	Amount    int64  // minor units, same sign as the payment
}

// Credit shares amount out between touches under model and returns one Share per touch, in the order of
// touches (zero shares included, so callers can zip them), or a single Unattributed share when touches
// is empty. An unknown model is treated as DefaultModel; validate user input with ParseModel.
//
// The models look at the touches in time order (Start, then SessionID, then input position), whatever
// order they are given in. paidAt only matters to TimeDecay.
//
// Exactness: every model reduces to non-negative integer weights w_i (one-hot for the single-touch
// models; 1 each for Linear; 2(n−2), 1…1, 2(n−2) out of 5(n−2) for PositionBased, or ½/½ for two
// touches), so the exact share amount·w_i/Σw is a rational computed without rounding (128-bit
// products). Each touch gets the floor of its share and the units left over go one each to the largest
// fractional parts (largest remainder); equal fractions go to the touch nearer the payment. The shares
// therefore sum exactly to amount and each is within one minor unit of its exact share.
//
// TimeDecay weights 2^(−Δt/HalfLife) are irrational, so they are computed in float64 relative to the
// most recent touch (ratio-preserving, and the newest weight is exactly 1 so the sum is never 0), then
// quantised to 52-bit integers (fewer bits only beyond a thousand touches) before the same exact
// distribution. The float step can move a unit between two shares only when their exact fractions are
// within about 10⁻¹⁵·amount of each other; it never changes the sum. Touches after paidAt count as
// Δt = 0.
//
// Negative amounts (refunds, lost disputes) are split as the mirror image of the positive amount,
// Credit(m, t, p, −x) = −Credit(m, t, p, x), so money taken back leaves the same touchpoints it came
// through.
func Credit(model Model, touches []Touchpoint, paidAt time.Time, amount int64) []Share {
	n := len(touches)
	if n == 0 {
		return []Share{{Index: Unattributed, Amount: amount}}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case touchLess(&touches[a], &touches[b]):
			return -1
		case touchLess(&touches[b], &touches[a]):
			return 1
		}
		return 0
	})

	w := make([]uint64, n) // by time rank
	switch model {
	case FirstTouch:
		w[0] = 1
	case LastTouch:
		w[n-1] = 1
	case Linear:
		for i := range w {
			w[i] = 1
		}
	case PositionBased:
		positionWeights(w)
	case TimeDecay:
		decayWeights(w, touches, order, paidAt)
	default: // LastNonDirect
		k := n - 1
		for r := n - 1; r >= 0; r-- {
			if !touches[order[r]].IsDirect() {
				k = r
				break
			}
		}
		w[k] = 1
	}

	amounts := distribute(amount, w)
	out := make([]Share, n)
	for r, i := range order {
		out[i] = Share{Index: i, SessionID: touches[i].SessionID, Amount: amounts[r]}
	}
	return out
}

// positionWeights fills w with 40/20/40 as integers over 5(n−2).
func positionWeights(w []uint64) {
	n := len(w)
	if n <= 2 {
		for i := range w {
			w[i] = 1
		}
		return
	}
	end := uint64(2 * (n - 2))
	for i := range w {
		w[i] = 1
	}
	w[0], w[n-1] = end, end
}

// decayWeights fills w (by time rank) with 2^(−Δt/HalfLife) scaled so the newest touch weighs 2^e, e
// chosen so that Σw stays below 2^62 for any n.
func decayWeights(w []uint64, touches []Touchpoint, order []int, paidAt time.Time) {
	n := len(w)
	e := min(52, 62-bits.Len(uint(n)))
	var dmin time.Duration = math.MaxInt64
	for _, i := range order {
		dmin = min(dmin, max(0, paidAt.Sub(touches[i].Start)))
	}
	for r, i := range order {
		d := max(0, paidAt.Sub(touches[i].Start)) - dmin
		x := math.Exp2(-float64(d) / float64(HalfLife))
		w[r] = uint64(math.Round(math.Ldexp(x, e)))
	}
}

// distribute splits amount in proportion to w (Σw > 0, Σw < 2^64) by largest remainder. Ties between equal
// remainders go to the higher index, i.e. the later touch.
func distribute(amount int64, w []uint64) []int64 {
	n := len(w)
	out := make([]int64, n)
	neg := amount < 0
	a := uint64(amount)
	if neg {
		a = -a // two's complement: also right for math.MinInt64
	}
	var total uint64
	for _, x := range w {
		total += x
	}
	rem := make([]uint64, n)
	var sum uint64
	for i, x := range w {
		hi, lo := bits.Mul64(a, x)
		q, r := bits.Div64(hi, lo, total) // hi < total because x ≤ total
		out[i], rem[i] = int64(q), r
		sum += q
	}
	if left := a - sum; left > 0 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(x, y int) int {
			if rem[x] != rem[y] {
				if rem[x] > rem[y] {
					return -1
				}
				return 1
			}
			return y - x
		})
		for _, i := range idx[:left] {
			out[i]++
		}
	}
	if neg {
		for i := range out {
			out[i] = -out[i]
		}
	}
	return out
}

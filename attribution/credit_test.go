package attribution

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var paidAt = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// The journey the table tests draw from, oldest first.
var journey = map[byte]Touchpoint{
	'A': {SessionID: "s-a", Start: paidAt.Add(-20 * 24 * time.Hour), Channel: "Organic Search", Source: "Google"},
	'B': {SessionID: "s-b", Start: paidAt.Add(-10 * 24 * time.Hour), Channel: "Direct", Source: "Direct", Direct: true},
	'C': {SessionID: "s-c", Start: paidAt.Add(-7 * 24 * time.Hour), Channel: "Paid Social", Source: "Facebook"},
	'D': {SessionID: "s-d", Start: paidAt.Add(-2 * 24 * time.Hour), Channel: "Referral", Source: "news.ycombinator.com"},
	'E': {SessionID: "s-e", Start: paidAt.Add(-time.Hour), Channel: "Direct", Source: "Direct"}, // Direct by channel only
}

var journeys = map[string]string{"one": "D", "two": "AE", "three": "ABC", "five": "ABCDE", "direct": "BE"}

func touches(keys string) []Touchpoint {
	out := make([]Touchpoint, len(keys))
	for i := range keys {
		out[i] = journey[keys[i]]
	}
	return out
}

var tableAmounts = []int64{1, 2, 3, 100, 4999, -1234}

// The expectations were computed outside Go with Python's fractions (and mpmath for time decay), using
// the documented rule: floor of the exact share, leftover units to the largest fractions, ties to the
// later touch.
var creditTable = []struct {
	model   Model
	journey string
	want    [][]int64 // per tableAmounts, per touch in time order
}{
	{FirstTouch, "one", [][]int64{{1}, {2}, {3}, {100}, {4999}, {-1234}}},
	{FirstTouch, "two", [][]int64{{1, 0}, {2, 0}, {3, 0}, {100, 0}, {4999, 0}, {-1234, 0}}},
	{FirstTouch, "three", [][]int64{{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {100, 0, 0}, {4999, 0, 0}, {-1234, 0, 0}}},
	{FirstTouch, "five", [][]int64{{1, 0, 0, 0, 0}, {2, 0, 0, 0, 0}, {3, 0, 0, 0, 0}, {100, 0, 0, 0, 0}, {4999, 0, 0, 0, 0}, {-1234, 0, 0, 0, 0}}},
	{FirstTouch, "direct", [][]int64{{1, 0}, {2, 0}, {3, 0}, {100, 0}, {4999, 0}, {-1234, 0}}},
	{LastTouch, "one", [][]int64{{1}, {2}, {3}, {100}, {4999}, {-1234}}},
	{LastTouch, "two", [][]int64{{0, 1}, {0, 2}, {0, 3}, {0, 100}, {0, 4999}, {0, -1234}}},
	{LastTouch, "three", [][]int64{{0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {0, 0, 100}, {0, 0, 4999}, {0, 0, -1234}}},
	{LastTouch, "five", [][]int64{{0, 0, 0, 0, 1}, {0, 0, 0, 0, 2}, {0, 0, 0, 0, 3}, {0, 0, 0, 0, 100}, {0, 0, 0, 0, 4999}, {0, 0, 0, 0, -1234}}},
	{LastTouch, "direct", [][]int64{{0, 1}, {0, 2}, {0, 3}, {0, 100}, {0, 4999}, {0, -1234}}},
	{LastNonDirect, "one", [][]int64{{1}, {2}, {3}, {100}, {4999}, {-1234}}},
	{LastNonDirect, "two", [][]int64{{1, 0}, {2, 0}, {3, 0}, {100, 0}, {4999, 0}, {-1234, 0}}},
	{LastNonDirect, "three", [][]int64{{0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {0, 0, 100}, {0, 0, 4999}, {0, 0, -1234}}},
	{LastNonDirect, "five", [][]int64{{0, 0, 0, 1, 0}, {0, 0, 0, 2, 0}, {0, 0, 0, 3, 0}, {0, 0, 0, 100, 0}, {0, 0, 0, 4999, 0}, {0, 0, 0, -1234, 0}}},
	{LastNonDirect, "direct", [][]int64{{0, 1}, {0, 2}, {0, 3}, {0, 100}, {0, 4999}, {0, -1234}}},
	{Linear, "one", [][]int64{{1}, {2}, {3}, {100}, {4999}, {-1234}}},
	{Linear, "two", [][]int64{{0, 1}, {1, 1}, {1, 2}, {50, 50}, {2499, 2500}, {-617, -617}}},
	{Linear, "three", [][]int64{{0, 0, 1}, {0, 1, 1}, {1, 1, 1}, {33, 33, 34}, {1666, 1666, 1667}, {-411, -411, -412}}},
	{Linear, "five", [][]int64{{0, 0, 0, 0, 1}, {0, 0, 0, 1, 1}, {0, 0, 1, 1, 1}, {20, 20, 20, 20, 20}, {999, 1000, 1000, 1000, 1000}, {-246, -247, -247, -247, -247}}},
	{Linear, "direct", [][]int64{{0, 1}, {1, 1}, {1, 2}, {50, 50}, {2499, 2500}, {-617, -617}}},
	{TimeDecay, "one", [][]int64{{1}, {2}, {3}, {100}, {4999}, {-1234}}},
	{TimeDecay, "two", [][]int64{{0, 1}, {0, 2}, {0, 3}, {12, 88}, {608, 4391}, {-150, -1084}}},
	{TimeDecay, "three", [][]int64{{0, 0, 1}, {0, 1, 1}, {0, 1, 2}, {14, 37, 49}, {683, 1840, 2476}, {-169, -454, -611}}},
	{TimeDecay, "five", [][]int64{{0, 0, 0, 0, 1}, {0, 0, 0, 1, 1}, {0, 0, 1, 1, 1}, {5, 13, 18, 29, 35}, {244, 657, 885, 1451, 1762}, {-60, -162, -219, -358, -435}}},
	{TimeDecay, "direct", [][]int64{{0, 1}, {1, 1}, {1, 2}, {27, 73}, {1358, 3641}, {-335, -899}}},
	{PositionBased, "one", [][]int64{{1}, {2}, {3}, {100}, {4999}, {-1234}}},
	{PositionBased, "two", [][]int64{{0, 1}, {1, 1}, {1, 2}, {50, 50}, {2499, 2500}, {-617, -617}}},
	{PositionBased, "three", [][]int64{{0, 0, 1}, {1, 0, 1}, {1, 1, 1}, {40, 20, 40}, {1999, 1000, 2000}, {-493, -247, -494}}},
	{PositionBased, "five", [][]int64{{0, 0, 0, 0, 1}, {1, 0, 0, 0, 1}, {1, 0, 0, 0, 2}, {40, 6, 7, 7, 40}, {2000, 333, 333, 333, 2000}, {-494, -82, -82, -82, -494}}},
	{PositionBased, "direct", [][]int64{{0, 1}, {1, 1}, {1, 2}, {50, 50}, {2499, 2500}, {-617, -617}}},
}

func TestCreditTable(t *testing.T) {
	for _, tc := range creditTable {
		for k, amount := range tableAmounts {
			t.Run(fmt.Sprintf("%s/%s/%d", tc.model, tc.journey, amount), func(t *testing.T) {
				got := amounts(Credit(tc.model, touches(journeys[tc.journey]), paidAt, amount))
				if !slices.Equal(got, tc.want[k]) {
					t.Errorf("got %v, want %v", got, tc.want[k])
				}
			})
		}
	}
}

func amounts(shares []Share) []int64 {
	out := make([]int64, len(shares))
	for i, s := range shares {
		out[i] = s.Amount
	}
	return out
}

// Remainder ties are where a rounding rule shows; each row pins the documented tie-break (later touch).
func TestCreditTies(t *testing.T) {
	tests := []struct {
		model   Model
		journey string
		amount  int64
		want    []int64
	}{
		{Linear, "two", 3, []int64{1, 2}},
		{Linear, "two", -3, []int64{-1, -2}},
		{Linear, "three", 2, []int64{0, 1, 1}},
		{Linear, "five", 7, []int64{1, 1, 1, 2, 2}},
		{PositionBased, "two", 1, []int64{0, 1}},
		{PositionBased, "three", 1, []int64{0, 0, 1}},      // 0.4/0.2/0.4: last wins the tie
		{PositionBased, "three", 5, []int64{2, 1, 2}},      // exact
		{PositionBased, "three", 7, []int64{3, 1, 3}},      // 2.8/1.4/2.8
		{PositionBased, "five", 5, []int64{2, 0, 0, 1, 2}}, // middles 1/3 each: the latest middle
		{PositionBased, "five", 9, []int64{3, 0, 1, 1, 4}}, // 3.6/0.6×3/3.6: all fractions .6 tie → the three latest
		{TimeDecay, "direct", 1, []int64{0, 1}},
		{LastNonDirect, "five", math.MaxInt64, []int64{0, 0, 0, math.MaxInt64, 0}},
		{Linear, "one", math.MinInt64, []int64{math.MinInt64}},
		{Linear, "two", math.MinInt64, []int64{math.MinInt64 / 2, math.MinInt64 / 2}},
		{Linear, "three", math.MaxInt64, []int64{3074457345618258602, 3074457345618258602, 3074457345618258603}},
		{Linear, "five", 0, []int64{0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", tc.model, tc.journey, tc.amount), func(t *testing.T) {
			got := amounts(Credit(tc.model, touches(journeys[tc.journey]), paidAt, tc.amount))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCreditUnattributed(t *testing.T) {
	for _, m := range Models {
		for _, amount := range []int64{4999, -1234, 0} {
			got := Credit(m, nil, paidAt, amount)
			want := []Share{{Index: Unattributed, SessionID: "", Amount: amount}}
			if !slices.Equal(got, want) {
				t.Errorf("%s %d: got %+v, want %+v", m, amount, got, want)
			}
		}
	}
}

// Credit must not depend on the order touches are given in, and must index its shares by input position.
func TestCreditInputOrder(t *testing.T) {
	sorted := touches("ABCDE")
	shuffled := touches("DBEAC")
	for _, m := range Models {
		want := map[string]int64{}
		for _, s := range Credit(m, sorted, paidAt, 4999) {
			want[s.SessionID] = s.Amount
		}
		for i, s := range Credit(m, shuffled, paidAt, 4999) {
			if s.Index != i || s.SessionID != shuffled[i].SessionID {
				t.Errorf("%s: share %d is %+v, want index %d of session %s", m, i, s, i, shuffled[i].SessionID)
			}
			if s.Amount != want[s.SessionID] {
				t.Errorf("%s: session %s got %d, want %d", m, s.SessionID, s.Amount, want[s.SessionID])
			}
		}
	}
}

func TestCreditUnknownModelIsDefault(t *testing.T) {
	got := amounts(Credit("bogus", touches("ABCDE"), paidAt, 100))
	want := amounts(Credit(DefaultModel, touches("ABCDE"), paidAt, 100))
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want the default model's %v", got, want)
	}
}

// A refund mirrors the payment, so a full refund cancels every touchpoint's credit exactly.
func TestCreditRefundMirrors(t *testing.T) {
	for _, m := range Models {
		for _, amount := range []int64{1, 7, 4999, 123456789} {
			pay := amounts(Credit(m, touches("ABCDE"), paidAt, amount))
			ref := amounts(Credit(m, touches("ABCDE"), paidAt, -amount))
			for i := range pay {
				if pay[i]+ref[i] != 0 {
					t.Errorf("%s %d: payment %v, refund %v do not cancel", m, amount, pay, ref)
					break
				}
			}
		}
	}
}

// TestCreditProperties checks 10k random payments: every model's shares sum exactly to the amount and
// each lies strictly within one minor unit of its exact share, whose weights the test derives on its own
// (big.Rat for the rational models, float64 for time decay).
func TestCreditProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	channels := []string{"Direct", "Organic Search", "Paid Search", "Referral", "Email"}
	for iter := range 10000 {
		n := rng.IntN(9)
		ts := make([]Touchpoint, n)
		for i := range ts {
			// Coarse starts so that equal times (and so tie-breaks) happen often.
			start := paidAt.Add(-time.Duration(rng.IntN(60)) * 12 * time.Hour)
			ts[i] = Touchpoint{SessionID: fmt.Sprintf("s%d", rng.IntN(6)), Start: start, Channel: channels[rng.IntN(len(channels))]}
		}
		amount := randomAmount(rng)
		for _, m := range Models {
			shares := Credit(m, ts, paidAt, amount)
			if n == 0 {
				if len(shares) != 1 || shares[0].Index != Unattributed || shares[0].Amount != amount {
					t.Fatalf("case %d %s: no touches gave %+v", iter, m, shares)
				}
				continue
			}
			if len(shares) != n {
				t.Fatalf("case %d %s: %d shares for %d touches", iter, m, len(shares), n)
			}
			var sum big.Int
			for _, s := range shares {
				sum.Add(&sum, big.NewInt(s.Amount))
			}
			if !sum.IsInt64() || sum.Int64() != amount {
				t.Fatalf("case %d %s: shares %v sum to %s, want %d", iter, m, amounts(shares), &sum, amount)
			}
			exact := exactShares(m, ts, amount)
			for i, s := range shares {
				d := new(big.Rat).Sub(new(big.Rat).SetInt64(s.Amount), exact[i])
				d.Abs(d)
				limit := big.NewRat(1, 1)
				if m == TimeDecay { // float weights: allow their own rounding on top of the unit
					limit.Add(limit, new(big.Rat).SetFloat64(math.Abs(float64(amount))*1e-12))
				}
				if d.Cmp(limit) >= 0 {
					t.Fatalf("case %d %s amount %d: share %d of %v is %d, exact %s", iter, m, amount, i, amounts(shares), s.Amount, exact[i].FloatString(3))
				}
			}
		}
	}
}

func randomAmount(rng *rand.Rand) int64 {
	switch rng.IntN(6) {
	case 0:
		return rng.Int64N(21) - 10
	case 1:
		return rng.Int64N(2_000_000) - 1_000_000
	case 2:
		return rng.Int64N(2_000_000_000_000) - 1_000_000_000_000
	case 3:
		return []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}[rng.IntN(4)]
	default:
		return rng.Int64() - rng.Int64()
	}
}

// exactShares is the test's own statement of each model's share, in the order of ts.
func exactShares(m Model, ts []Touchpoint, amount int64) []*big.Rat {
	n := len(ts)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := ts[a].Start.Compare(ts[b].Start); c != 0 {
			return c
		}
		if ts[a].SessionID < ts[b].SessionID {
			return -1
		} else if ts[a].SessionID > ts[b].SessionID {
			return 1
		}
		return 0
	})
	w := make([]*big.Rat, n) // by time rank
	for r := range w {
		w[r] = new(big.Rat)
	}
	switch m {
	case FirstTouch:
		w[0].SetInt64(1)
	case LastTouch:
		w[n-1].SetInt64(1)
	case LastNonDirect:
		k := n - 1
		for k > 0 && ts[order[k]].Channel == "Direct" {
			k--
		}
		if ts[order[k]].Channel == "Direct" {
			k = n - 1
		}
		w[k].SetInt64(1)
	case Linear:
		for r := range w {
			w[r].SetFrac64(1, int64(n))
		}
	case PositionBased:
		switch n {
		case 1:
			w[0].SetInt64(1)
		case 2:
			w[0].SetString("0.5")
			w[1].SetString("0.5")
		default:
			for r := range w {
				w[r].SetString("0.2")
				w[r].Quo(w[r], big.NewRat(int64(n-2), 1))
			}
			w[0].SetString("0.4")
			w[n-1].SetString("0.4")
		}
	case TimeDecay:
		for r, i := range order {
			days := paidAt.Sub(ts[i].Start).Hours() / 24
			w[r].SetFloat64(math.Pow(2, -days/7))
		}
	}
	total := new(big.Rat)
	for _, x := range w {
		total.Add(total, x)
	}
	out := make([]*big.Rat, n)
	for r, i := range order {
		out[i] = new(big.Rat).Mul(big.NewRat(amount, 1), w[r])
		out[i].Quo(out[i], total)
	}
	return out
}

func BenchmarkCredit(b *testing.B) {
	ts := touches("ABCDE")
	for _, m := range Models {
		b.Run(string(m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Credit(m, ts, paidAt, 4999)
			}
		})
	}
}

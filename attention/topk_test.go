package attention

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// referenceTopK is the definition of appendTopK by a full stable sort
// (sort.SliceStable, descending score, NaN last).
func referenceTopK(scores []float32, k int) []int {
	idx := appendRange(nil, 0, len(scores))
	rank := func(v float32) float64 {
		if v != v {
			return math.Inf(-1)
		}
		return float64(v)
	}
	sort.SliceStable(idx, func(a, b int) bool { return rank(scores[idx[a]]) > rank(scores[idx[b]]) })
	idx = idx[:min(k, len(idx))]
	slices.Sort(idx)
	return idx
}

func TestAppendTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0))
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		scores func(n int) []float32
	}{
		{"distinct", func(n int) []float32 { return gaussianVector(rng, n) }},
		{"few values (ties)", func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(rng.IntN(4))
			}
			return s
		}},
		{"all equal", func(n int) []float32 { return make([]float32, n) }},
		{"ascending", func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(i)
			}
			return s
		}},
		{"descending", func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(-i)
			}
			return s
		}},
		{"with NaN, infinities and signed zeros", func(n int) []float32 {
			s := gaussianVector(rng, n)
			for i := range s {
				switch rng.IntN(8) {
				case 0:
					s[i] = nan
				case 1:
					s[i] = float32(math.Inf(1))
				case 2:
					s[i] = float32(math.Inf(-1))
				case 3:
					s[i] = float32(math.Copysign(0, -1))
				case 4:
					s[i] = 0
				}
			}
			return s
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 5, 16, 17, 100, 1000, 2047, 2048, 4096, 10000} { // 2048 on: a wide first digit
				scores := tc.scores(n)
				for _, k := range []int{0, 1, 3, n / 4, n / 2, n - 1, n, n + 5} {
					got := appendTopK([]int{-1}, scores, k, make([]uint32, n))
					if got[0] != -1 {
						t.Fatalf("dst prefix overwritten")
					}
					if want := referenceTopK(scores, max(k, 0)); !slices.Equal(got[1:], want) {
						t.Fatalf("n %d k %d: got %v\nwant %v", n, k, got[1:], want)
					}
				}
			}
		})
	}
}

func TestTopKSelectsLargestDotProducts(t *testing.T) {
	// topk against a direct computation of every q·k and a sort.
	const n = 300
	c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 16, MaxTokens: n, Budget: 37}
	s := randomSynth(c, n, 14)
	m := mustNewMethod(t, "topk", c)
	driveMethod(t, m, c, s, n-1, n, nil, func(_, _, h, _ int, sel []int) {
		scores := make([]float32, n)
		for p := range n {
			for i, v := range s.queries[h] {
				scores[p] += v * s.keys[0][p][i]
			}
		}
		if got, want := sortedCopy(sel), referenceTopK(scores, 37); !slices.Equal(got, want) {
			t.Errorf("head %d: got %v\nwant %v", h, got, want)
		}
	})
}

package pim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The store memoises a read's cost by the pattern's shape (patternKey):
// every pattern must cost exactly what the command-level engine says for
// it. Patterns are drawn in pairs with the same shape (the same number of
// groups in each touched row, at other columns and rows), so a key that
// merged patterns of different costs would show.
func TestPatternKeyIsExact(t *testing.T) {
	for _, c := range []struct {
		headDim, maxTokens int
		layout             Layout
	}{
		{64, 600, LayoutGQA},
		{64, 2100, LayoutAttAcc},
		{64, 8192, LayoutGQA},
		{128, 4096, LayoutGQA},
		{256, 3000, LayoutAttAcc},
	} {
		t.Run(fmt.Sprintf("dim%d/tokens%d/%v", c.headDim, c.maxTokens, c.layout), func(t *testing.T) {
			shape := KVShape{Layers: 1, KVHeads: 2, QueryHeads: 6, HeadDim: c.headDim, MaxTokens: c.maxTokens}
			st, err := NewKVStore(HBM3PIM(true), shape, c.layout)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(c.headDim), uint64(c.maxTokens)))
			groups := ceilDiv(c.maxTokens, st.pl.g.partitions)
			perRow := st.pl.g.colsPerRow / st.pl.g.colsPerToken
			keys := map[string]bool{}
			for range 150 {
				p := randomGroups(rng, groups)
				for _, q := range [][]int{p, sameShape(rng, p, perRow, groups)} {
					got := st.patternCost(q)
					want := st.pl.simulate(st.spec, q, st.queries)
					if got.cycles != want.cycles || got.n != want.n {
						t.Fatalf("groups %v: memoised %d cycles %v, engine %d cycles %v", q, got.cycles, got.n, want.cycles, want.n)
					}
					keys[string(st.key)] = true
				}
			}
			if len(keys) >= 300 {
				t.Errorf("%d patterns gave %d keys: no pattern shared a shape, the test proves nothing", 300, len(keys))
			}
		})
	}
}

// randomGroups draws sorted distinct groups below n: runs of consecutive
// groups (STARC's clusters, Quest's pages) or scattered ones (top-k).
func randomGroups(rng *rand.Rand, n int) []int {
	var out []int
	switch rng.IntN(3) {
	case 0: // runs
		for g := 0; g < n; {
			if rng.IntN(3) == 0 {
				for run := 1 + rng.IntN(4); run > 0 && g < n; run-- {
					out = append(out, g)
					g++
				}
			}
			g += 1 + rng.IntN(4)
		}
	case 1: // scattered
		for g := range n {
			if rng.IntN(4) == 0 {
				out = append(out, g)
			}
		}
	default: // a prefix and a recent window (full attention, streaming)
		a, b := rng.IntN(n), rng.IntN(n)
		for g := range n {
			if g <= min(a, b)/4 || g >= max(a, b) {
				out = append(out, g)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, rng.IntN(n))
	}
	return out
}

// sameShape moves p's groups to other columns of their rows (rows of
// perRow groups): the same number of groups in each touched row, mostly at
// other groups. It returns p itself when no other arrangement fits.
func sameShape(rng *rand.Rand, p []int, perRow, n int) []int {
	var out []int
	for lo := 0; lo < len(p); {
		row := p[lo] / perRow
		hi := lo
		for hi < len(p) && p[hi]/perRow == row {
			hi++
		}
		width := min(perRow, n-row*perRow)
		cols := rng.Perm(width)[:hi-lo]
		slices.Sort(cols)
		for _, c := range cols {
			out = append(out, row*perRow+c)
		}
		lo = hi
	}
	return out
}

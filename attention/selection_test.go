package attention

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"starc/model/kernels"
)

// The tests below check each method's partial selection against the
// method's definition computed with a plain full stable sort, on
// integer-valued keys and queries: every dot product is then exact in any
// summation order, and scores tie often, so the tie-breaking rule is what
// decides many of the selections.

// smallInts returns d integers drawn uniformly from -r..r, as float32.
func smallInts(rng *rand.Rand, d, r int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(rng.IntN(2*r+1) - r)
	}
	return v
}

// tiedSynth is randomSynth with keys in -r..r and queries in -2..2.
func tiedSynth(c Config, n, r int, seed uint64) synthSequence {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := synthSequence{keys: make([][][]float32, c.Layers*c.KVHeads), queries: make([][]float32, c.Layers*c.QueryHeads)}
	for i := range s.keys {
		s.keys[i] = make([][]float32, n)
		for p := range n {
			s.keys[i][p] = smallInts(rng, c.HeadDim, r)
		}
	}
	for i := range s.queries {
		s.queries[i] = smallInts(rng, c.HeadDim, 2)
	}
	return s
}

// exactDot is q·k in float64 (exact for the small integers used here).
func exactDot(q, k []float32) float64 {
	var s float64
	for i, v := range q {
		s += float64(v) * float64(k[i])
	}
	return s
}

// stableBest returns the ids 0..n-1 with keep(id), ordered by descending
// score (NaN last, as −Inf), ties by ascending id: sort.SliceStable.
func stableBest(n int, score func(id int) float64, keep func(id int) bool) []int {
	var ids []int
	for id := range n {
		if keep == nil || keep(id) {
			ids = append(ids, id)
		}
	}
	rank := func(v float64) float64 {
		if v != v {
			return math.Inf(-1)
		}
		return v
	}
	sort.SliceStable(ids, func(a, b int) bool { return rank(score(ids[a])) > rank(score(ids[b])) })
	return ids
}

var tieBudgets = []int{1, 3, 16, 17, 40, 64, 100, 256, 333, 599}

func TestRankHeapPopsInSortedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 0))
	for _, n := range []int{0, 1, 2, 3, 7, 64, 500} {
		keys := make([]uint64, n)
		for i := range keys {
			keys[i] = uint64(rng.IntN(8))<<32 | uint64(rng.IntN(3)) // many equal keys
		}
		want := slices.Sorted(slices.Values(keys))
		h := rankHeap(slices.Clone(keys))
		h.init()
		var got []uint64
		for len(h) > 0 {
			got = append(got, h.pop())
		}
		if !slices.Equal(got, want) {
			t.Errorf("n %d: popped %v, want %v", n, got, want)
		}
	}
}

// TestSTARCSelectionMatchesStableSort: the clusters taken are those of a
// stable sort by descending q·μ (ties: earlier cluster), filled whole while
// they fit and the boundary cluster cut to its first slots, after the
// buffer. Centroids are overwritten with small integers (and some NaN and
// infinities) so that many clusters tie.
func TestSTARCSelectionMatchesStableSort(t *testing.T) {
	const prefill, n = 520, 600
	c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 8, MaxTokens: n}
	rng := rand.New(rand.NewPCG(22, 0))
	for _, budget := range tieBudgets {
		c.Budget = budget
		m := mustNewMethod(t, "starc", c).(*starc)
		s := tiedSynth(c, n, 3, uint64(budget))
		nonFinite := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
		driveMethod(t, m, c, s, prefill, n, nil, nil) // cluster the prefill and some decode windows
		g := &m.groups[0]
		for step := range 20 {
			for i := range g.centroids {
				g.centroids[i] = float32(rng.IntN(3) - 1)
				if step%4 == 3 && rng.IntN(50) == 0 {
					g.centroids[i] = nonFinite[rng.IntN(3)]
				}
			}
			for h := range c.QueryHeads {
				q := smallInts(rng, c.HeadDim, 1)
				got := m.Select(0, h, q, n, nil)
				want := referenceSTARC(g, q, n, budget, c.HeadDim)
				if !slices.Equal(got, want) {
					t.Fatalf("budget %d step %d head %d:\ngot  %v\nwant %v", budget, step, h, got, want)
				}
			}
		}
		if len(g.size) < 30 {
			t.Fatalf("only %d clusters: the test needs many", len(g.size))
		}
	}
}

// referenceSTARC is starc.md §1.4 step 3 over the clustered state of g.
func referenceSTARC(g *starcGroup, q []float32, n, budget, hd int) []int {
	sel := appendRange(nil, g.clustered, n)
	left := budget - (n - g.clustered)
	if left <= 0 {
		return sel
	}
	score := func(id int) float64 {
		var s float32 // float32 as the method scores; exact here unless non-finite
		for i, v := range q {
			s += v * g.centroids[id*hd+i]
		}
		return float64(s)
	}
	for _, id := range stableBest(len(g.size), score, func(id int) bool { return g.size[id] > 0 }) {
		take := min(int(g.size[id]), left)
		for _, p := range g.posAt[g.start[id] : int(g.start[id])+take] {
			sel = append(sel, int(p))
		}
		if left -= take; left == 0 {
			break
		}
	}
	return sel
}

func TestTopKSelectionMatchesStableSort(t *testing.T) {
	const n = 600
	c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 8, MaxTokens: n}
	for _, budget := range tieBudgets {
		c.Budget = budget
		s := tiedSynth(c, n, 1, uint64(budget))
		m := mustNewMethod(t, "topk", c)
		driveMethod(t, m, c, s, n-40, n, nil, func(_, _, h, n int, sel []int) {
			scores := make([]float32, n)
			for p := range n {
				scores[p] = float32(exactDot(s.queries[h], s.keys[0][p]))
			}
			if got, want := sortedCopy(sel), referenceTopK(scores, budget); !slices.Equal(got, want) {
				t.Fatalf("budget %d n %d head %d:\ngot  %v\nwant %v", budget, n, h, got, want)
			}
		})
	}
}

func TestSparQSelectionMatchesStableSort(t *testing.T) {
	const n = 600
	c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 16, MaxTokens: n, SparQRank: 5}
	for _, budget := range tieBudgets {
		c.Budget = budget
		s := tiedSynth(c, n, 1, uint64(budget))
		m := mustNewMethod(t, "sparq", c)
		driveMethod(t, m, c, s, n-40, n, nil, func(_, _, h, n int, sel []int) {
			q := s.queries[h] // components in -2..2: |q| ties everywhere
			comps := stableBest(len(q), func(i int) float64 { return math.Abs(float64(q[i])) }, nil)[:c.SparQRank]
			scores := make([]float32, n)
			for p := range n {
				var v float64
				for _, i := range comps {
					v += float64(q[i]) * float64(s.keys[0][p][i])
				}
				scores[p] = float32(v)
			}
			if got, want := sortedCopy(sel), referenceTopK(scores, budget); !slices.Equal(got, want) {
				t.Fatalf("budget %d n %d head %d:\ngot  %v\nwant %v", budget, n, h, got, want)
			}
		})
	}
}

func TestQuestSelectionMatchesStableSort(t *testing.T) {
	const n = 600
	for _, tc := range []struct {
		kernel bool
		ps     int
	}{{false, 16}, {true, 16}, {false, 3}, {true, 3}} { // small pages: bounds that differ
		kernel, ps := tc.kernel, tc.ps
		name := map[bool]string{false: "quest", true: "quest-kernel"}[kernel]
		c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 8, MaxTokens: n, PageSize: ps}
		for _, budget := range tieBudgets {
			c.Budget = budget
			s := tiedSynth(c, n, 1, uint64(budget))
			m := mustNewMethod(t, name, c)
			driveMethod(t, m, c, s, n-40, n, nil, func(_, _, h, n int, sel []int) {
				want := referenceQuest(s.keys[0][:n], s.queries[h], budget, ps, kernel)
				if got := sortedCopy(sel); !slices.Equal(got, want) {
					t.Fatalf("%s budget %d n %d head %d:\ngot  %v\nwant %v", name, budget, n, h, got, want)
				}
			})
		}
	}
}

// referenceQuest is Quest's selection (starc.md §2) by its definition:
// per-page bounds, upper-bound scores, a stable sort of the pages, the
// chosen pages' tokens in ascending order.
func referenceQuest(keys [][]float32, q []float32, budget, ps int, kernel bool) []int {
	n := len(keys)
	pages := (n + ps - 1) / ps
	k := min(max(3, budget/ps), pages)
	if budget >= n || k >= pages {
		return appendRange(nil, 0, n)
	}
	score := func(p int) float64 {
		var s float64
		for i, qi := range q {
			hi, lo := math.Inf(-1), math.Inf(1)
			for _, key := range keys[p*ps : min((p+1)*ps, n)] {
				hi, lo = max(hi, float64(key[i])), min(lo, float64(key[i]))
			}
			s += max(float64(qi)*hi, float64(qi)*lo)
		}
		return s
	}
	candidates := pages
	if kernel {
		candidates, k = pages-1, k-1
	}
	chosen := stableBest(candidates, score, nil)[:k]
	if kernel {
		chosen = append(chosen, pages-1)
	}
	var sel []int
	for _, p := range chosen {
		sel = appendRange(sel, p*ps, min((p+1)*ps, n))
	}
	slices.Sort(sel)
	return sel
}

// The methods score with kernels.ScoreRows at scale 1 where they used
// MatVec: the same scores bit for bit, so the same selections.
func TestScoreRowsAtScaleOneIsMatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 0))
	for _, hd := range []int{8, 16, 64} {
		for _, m := range []int{1, 15, 16, 17, 100, 503} {
			rows := gaussianVector(rng, m*hd)
			q := gaussianVector(rng, hd)
			rows[rng.IntN(len(rows))] = float32(math.Inf(1))
			got, want := make([]float32, m), make([]float32, m)
			kernels.ScoreRows(got, rows, q, hd, 1)
			kernels.MatVec(want, kernels.Matrix{Rows: m, Cols: hd, DType: kernels.F32, F32: rows}, q)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("hd %d m %d row %d: ScoreRows %v, MatVec %v", hd, m, i, got[i], want[i])
				}
			}
		}
	}
}

// A method that selects a whole KV group at once (groupSelector) returns
// for each query head exactly what Select returns for it.
func TestGroupSelectionEqualsSelect(t *testing.T) {
	const prefill, n = 300, 340
	for _, name := range Names() {
		for _, budget := range []int{0, 17, 100, n} {
			c := Config{Layers: 2, QueryHeads: 6, KVHeads: 2, HeadDim: 16, MaxTokens: n, Budget: budget, DenseLayers: 1,
				PageSize: 2} // Quest's bounds over 16 tied keys would tie every page
			m := mustNewMethod(t, name, c)
			group, ok := m.(groupSelector)
			if !ok {
				continue
			}
			s := tiedSynth(c, n, 1, uint64(budget)+5)
			gs := c.GroupSize()
			driveMethod(t, m, c, s, prefill, n, nil, func(_, layer, h, n int, sel []int) {
				if h%gs != gs-1 {
					return // once per group, after its last head
				}
				g := h / gs
				q := make([]float32, 0, gs*c.HeadDim)
				for i := range gs {
					q = append(q, s.queries[layer*c.QueryHeads+g*gs+i]...)
				}
				got := make([][]int, gs)
				group.selectGroup(layer, g, q, n, got)
				for i := range gs {
					want := m.Select(layer, g*gs+i, s.queries[layer*c.QueryHeads+g*gs+i], n, nil)
					if !slices.Equal(got[i], want) {
						t.Fatalf("%s budget %d layer %d head %d n %d:\ngroup %v\nhead  %v", name, budget, layer, g*gs+i, n, got[i], want)
					}
				}
			})
		}
	}
}

func TestGroupSelectionDoesNotAllocateWhenWarm(t *testing.T) {
	const prefill, n = 300, 400
	for _, name := range Names() {
		c := smallGQAShape(128)
		m := mustNewMethod(t, name, c)
		group, ok := m.(groupSelector)
		if !ok {
			continue
		}
		s := randomSynth(c, n, 5)
		driveMethod(t, m, c, s, prefill, prefill+1, nil, nil)
		gs := c.GroupSize()
		q := make([]float32, 0, gs*c.HeadDim)
		for i := range gs {
			q = append(q, s.queries[c.QueryHeads+i]...)
		}
		dst := make([][]int, gs)
		for i := range dst {
			dst[i] = make([]int, 0, c.MaxTokens)
		}
		allocs := testing.AllocsPerRun(20, func() {
			for i := range dst {
				dst[i] = dst[i][:0]
			}
			group.selectGroup(1, 0, q, prefill+1, dst)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per warm group selection", name, allocs)
		}
	}
}

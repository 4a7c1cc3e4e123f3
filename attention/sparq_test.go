package attention

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSparQFullRankEqualsTopK(t *testing.T) {
	// Integer keys and queries make every partial sum exact, so SparQ with
	// r = HeadDim must pick what exact top-k picks, ties included.
	const n = 200
	c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 8, MaxTokens: n, Budget: 50, SparQRank: 8}
	rng := rand.New(rand.NewPCG(15, 0))
	intVec := func() []float32 {
		v := make([]float32, c.HeadDim)
		for i := range v {
			v[i] = float32(rng.IntN(7) - 3)
		}
		return v
	}
	s := synthSequence{keys: [][][]float32{make([][]float32, n)}, queries: [][]float32{intVec(), intVec()}}
	for p := range n {
		s.keys[0][p] = intVec()
	}
	want := recordSelections(t, mustNewMethod(t, "topk", c), c, s, n-10, n)
	got := recordSelections(t, mustNewMethod(t, "sparq", c), c, s, n-10, n)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sparq at full rank differs from topk")
	}
}

func TestSparQUsesLargestQueryComponents(t *testing.T) {
	// q's largest |components| are 1 (negative) and 3. Token 10 is huge on
	// component 0, which SparQ ignores; tokens 20 and 30 score high on
	// components 1 and 3; every other key is zero.
	const n = 64
	c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 8, MaxTokens: n, Budget: 2, SparQRank: 2}
	m := mustNewMethod(t, "sparq", c)
	for p := range n {
		k := make([]float32, 8)
		switch p {
		case 10:
			k[0] = 100
		case 20:
			k[1] = -2
		case 30:
			k[3] = 3
		}
		m.Append(0, 0, p, k)
	}
	m.Prepare(0, 0, n, nil)
	q := []float32{0.5, -4, 0.1, 3, 0, 0, 0, 0.2}
	got := sortedCopy(m.Select(0, 0, q, n, nil))
	if want := []int{20, 30}; !slices.Equal(got, want) {
		t.Errorf("selected %v, want %v", got, want)
	}
	if comp := m.(*sparq).heads[0].comp; !slices.Equal(comp, []int{1, 3}) {
		t.Errorf("components %v, want [1 3]", comp)
	}
}

func TestSparQDefaultRank(t *testing.T) {
	m := mustNewMethod(t, "sparq", Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 64, MaxTokens: 8})
	if r := m.(*sparq).rank; r != 8 {
		t.Errorf("default rank %d, want HeadDim/8 = 8", r)
	}
}

func TestSparQGrowsPastMaxTokens(t *testing.T) {
	c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 4, MaxTokens: 5, Budget: 3, SparQRank: 4}
	s := randomSynth(c, 23, 16)
	want := recordSelections(t, mustNewMethod(t, "topk", c), c, s, 4, 23)
	got := recordSelections(t, mustNewMethod(t, "sparq", c), c, s, 4, 23)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sparq differs from topk after growing its columns")
	}
}

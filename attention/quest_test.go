package attention

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuestPageBounds(t *testing.T) {
	// 70 tokens: four full pages and a 6-token partial page; bounds are
	// checked after every append against a direct max/min over the page.
	const n, hd = 70, 8
	c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: hd, MaxTokens: 128, Budget: 48}
	m := mustNewMethod(t, "quest", c).(*quest)
	s := randomSynth(c, n, 11)
	keys := s.keys[0]
	for pos := range n {
		m.Append(0, 0, pos, keys[pos])
		g := &m.groups[0]
		if got, want := len(g.maxK), (pos/16+1)*hd; got != want {
			t.Fatalf("after %d keys: %d bound values, want %d", pos+1, got, want)
		}
		for page := 0; page*16 <= pos; page++ {
			for i := range hd {
				hi, lo := keys[page*16][i], keys[page*16][i]
				for p := page * 16; p <= min(pos, page*16+15); p++ {
					hi, lo = max(hi, keys[p][i]), min(lo, keys[p][i])
				}
				if g.maxK[page*hd+i] != hi || g.minK[page*hd+i] != lo {
					t.Fatalf("after %d keys page %d channel %d: bounds [%v, %v], want [%v, %v]",
						pos+1, page, i, g.minK[page*hd+i], g.maxK[page*hd+i], lo, hi)
				}
			}
		}
	}
}

func TestQuestPageScoreIsTightUpperBound(t *testing.T) {
	// Σ max(q_i·M_i, q_i·m_i) ≥ q·k for every key of the page, with equality
	// at the corner of the bounding box picked by the signs of q.
	rng := rand.New(rand.NewPCG(12, 0))
	for trial := range 50 {
		const hd = 16
		hi, lo := make([]float32, hd), make([]float32, hd)
		keys := make([][]float32, 1+rng.IntN(16))
		for p := range keys {
			keys[p] = gaussianVector(rng, hd)
			for i, v := range keys[p] {
				if p == 0 {
					hi[i], lo[i] = v, v
				}
				hi[i], lo[i] = max(hi[i], v), min(lo[i], v)
			}
		}
		q := gaussianVector(rng, hd)
		bound := pageBound(q, hi, lo)
		corner := float32(0)
		for i := range q {
			if q[i] >= 0 {
				corner += q[i] * hi[i]
			} else {
				corner += q[i] * lo[i]
			}
		}
		if d := bound - corner; d > 1e-5 || d < -1e-5 {
			t.Fatalf("trial %d: bound %v, corner q·k %v", trial, bound, corner)
		}
		for p, k := range keys {
			dot := float32(0)
			for i := range q {
				dot += q[i] * k[i]
			}
			if dot > bound+1e-5 {
				t.Fatalf("trial %d: key %d scores %v above the page bound %v", trial, p, dot, bound)
			}
		}
	}
}

// pageBound is the definition of a page's score, term by term:
// Σ_i max(q_i·hi_i, q_i·lo_i).
func pageBound(q, hi, lo []float32) float32 {
	var s float32
	for i, qi := range q {
		s += max(qi*hi[i], qi*lo[i])
	}
	return s
}

func TestQuestPageScoresMatchDefinition(t *testing.T) {
	const n, hd = 4096, 64
	c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: hd, MaxTokens: n, Budget: 256}
	m := mustNewMethod(t, "quest", c).(*quest)
	s := randomSynth(c, n, 17)
	for p := range n {
		m.Append(0, 0, p, s.keys[0][p])
	}
	g := &m.groups[0]
	q := s.queries[0]
	q[5] = 0 // a zero component takes neither bound
	got := m.pageScores(&m.heads[0], q, g, n/16)
	for p := range n / 16 {
		want := pageBound(q, g.maxK[p*hd:(p+1)*hd], g.minK[p*hd:(p+1)*hd])
		if d := got[p] - want; d > 1e-4 || d < -1e-4 {
			t.Fatalf("page %d: score %v, definition %v", p, got[p], want)
		}
	}
}

func TestQuestSelectsTopPages(t *testing.T) {
	// Every key of page p is (s[p], 0, 0, 0) and q = (1, 0, 0, 0), so page
	// scores are s. Expected pages are listed by hand from s.
	tests := []struct {
		name   string
		method string
		n      int
		budget int
		s      []float32
		pages  []int
	}{
		{"budget/16 pages", "quest", 80, 48, []float32{1, 5, 3, 4, 2}, []int{1, 2, 3}},
		{"at least 3 pages", "quest", 80, 20, []float32{1, 5, 3, 4, 2}, []int{1, 2, 3}},
		{"budget rounds down to pages", "quest", 80, 79, []float32{1, 5, 3, 4, 2}, []int{1, 2, 3, 4}},
		{"partial last page is a candidate", "quest", 70, 48, []float32{1, 5, 3, 4, 9}, []int{1, 3, 4}},
		{"ties go to the lower page", "quest", 80, 48, []float32{2, 2, 2, 2, 2}, []int{0, 1, 2}},
		{"negative scores", "quest", 80, 48, []float32{-1, -5, -3, -4, -2}, []int{0, 2, 4}},
		{"kernel variant keeps the last page", "quest-kernel", 70, 48, []float32{1, 5, 3, 4, 0}, []int{1, 3, 4}},
		{"kernel variant, last page also best", "quest-kernel", 80, 48, []float32{1, 5, 3, 4, 9}, []int{1, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 4, MaxTokens: 128, Budget: tc.budget}
			m := mustNewMethod(t, tc.method, c)
			for p := range tc.n {
				m.Append(0, 0, p, []float32{tc.s[p/16], 0, 0, 0})
			}
			m.Prepare(0, 0, tc.n, nil)
			got := sortedCopy(m.Select(0, 0, []float32{1, 0, 0, 0}, tc.n, []int{-7})[1:])
			var want []int
			for _, p := range tc.pages {
				want = appendRange(want, p*16, min((p+1)*16, tc.n))
			}
			if !slices.Equal(got, want) {
				t.Errorf("selected %v\nwant pages %v: %v", got, tc.pages, want)
			}
		})
	}
}

func TestQuestPerQueryHead(t *testing.T) {
	// Two query heads of one KV head choose different pages.
	c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 2, MaxTokens: 96, Budget: 48}
	m := mustNewMethod(t, "quest", c)
	for p := range 96 {
		k := []float32{0, 0}
		k[(p/16)%2] = float32(p / 16) // pages 0,2,4 on axis 0; 1,3,5 on axis 1
		m.Append(0, 0, p, k)
	}
	m.Prepare(0, 0, 96, nil)
	for h, want := range [][]int{{0, 2, 4}, {1, 3, 5}} {
		q := []float32{0, 0}
		q[h] = 1
		got := sortedCopy(m.Select(0, h, q, 96, nil))
		var pages []int
		for _, p := range got {
			if p%16 == 0 {
				pages = append(pages, p/16)
			}
		}
		if fmt.Sprint(pages) != fmt.Sprint(want) || len(got) != 48 {
			t.Errorf("head %d chose pages %v (%d tokens), want %v", h, pages, len(got), want)
		}
	}
}

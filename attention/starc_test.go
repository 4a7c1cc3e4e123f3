package attention

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// plantedKeys builds keys whose direction is e_{dir(p)} (one of four orthogonal
// axes) with small noise and a varying norm, so K-means on unit keys
// recovers dir exactly and the first four tokens of every window cover all
// four directions.
func plantedKeys(n, dim int, dir func(p int) int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	keys := make([][]float32, n)
	for p := range keys {
		k := make([]float32, dim)
		scale := float32(0.5 + 2*rng.Float64())
		for i := range k {
			k[i] = scale * 0.03 * float32(rng.NormFloat64())
		}
		k[dir(p)] += scale
		keys[p] = k
	}
	return keys
}

// axisMix returns Σ w[i]·e_i in dim dimensions.
func axisMix(dim int, w ...float32) []float32 {
	q := make([]float32, dim)
	copy(q, w)
	return q
}

// positionsWhere lists p in 0..n-1 with ok(p), ascending, at most limit.
func positionsWhere(n, limit int, ok func(p int) bool) []int {
	var out []int
	for p := 0; p < n && len(out) < limit; p++ {
		if ok(p) {
			out = append(out, p)
		}
	}
	return out
}

func sortedCopy(s []int) []int { s = slices.Clone(s); slices.Sort(s); return s }

func TestSTARCFillsBudgetInClusterOrder(t *testing.T) {
	// Window 0 (positions 0..63) points along axes 0..3 (p%4), a second full
	// window along axes 4..7, a 36-token tail window (K = 3) along axes
	// 4..6. q ranks the axes 0 > 4 > 1 > 5 > 2 > 6 > 3 > 7, so clusters are
	// taken in that order; the boundary cluster is cut to its earliest
	// positions (physical order after the stable sort).
	twoWindows := func(p int) int { return p%4 + 4*(p/64) }
	tail := func(p int) int {
		if p < 64 {
			return p % 4
		}
		return 4 + p%3
	}
	q := axisMix(16, 8, 6, 4, 2, 7, 5, 3, 1)
	tests := []struct {
		name    string
		dir     func(p int) int
		prefill int // tokens before the first decode step
		n       int // tokens at the checked step
		budget  int
		init    string
		metric  string
		want    [][2]int // (axis, how many of its earliest positions)
		buffer  int      // tokens not clustered at the checked step
	}{
		{"whole clusters exactly", twoWindows, 63, 64, 32, "", "", [][2]int{{0, 16}, {1, 16}}, 0},
		{"boundary cluster cut to its first tokens", twoWindows, 63, 64, 40, "", "", [][2]int{{0, 16}, {1, 16}, {2, 8}}, 0},
		{"one token of the last cluster", twoWindows, 63, 64, 49, "", "", [][2]int{{0, 16}, {1, 16}, {2, 16}, {3, 1}}, 0},
		{"buffer kept and charged to the budget", twoWindows, 63, 74, 40, "", "", [][2]int{{0, 16}, {1, 14}}, 10},
		{"buffer alone when it exceeds the budget", twoWindows, 63, 74, 5, "", "", nil, 10},
		{"clusters of two windows ranked together", twoWindows, 127, 128, 40, "", "", [][2]int{{0, 16}, {4, 16}, {1, 8}}, 0},
		{"short tail window", tail, 99, 100, 30, "", "", [][2]int{{0, 16}, {4, 12}, {1, 2}}, 0},
		{"random init (paper)", twoWindows, 63, 64, 40, "random", "", [][2]int{{0, 16}, {1, 16}, {2, 8}}, 0},
		{"kmeans++ init, cosine", twoWindows, 63, 64, 40, "kmeans++", "cosine", [][2]int{{0, 16}, {1, 16}, {2, 8}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 16, MaxTokens: 256, Budget: tc.budget,
				KMeansInit: tc.init, KMeansMetric: tc.metric, Seed: 7}
			clustered := tc.n - tc.buffer
			want := appendRange(nil, clustered, tc.n)
			for _, w := range tc.want {
				want = append(want, positionsWhere(clustered, w[1], func(p int) bool { return tc.dir(p) == w[0] })...)
			}
			want = sortedCopy(want)
			m := mustNewMethod(t, "starc", c)
			s := synthSequence{keys: [][][]float32{plantedKeys(tc.n, 16, tc.dir, 1)}, queries: [][]float32{q}}
			var got []int
			mover := newRecordingMover(t)
			driveMethod(t, m, c, s, tc.prefill, tc.n, mover, func(_, _, _, k int, sel []int) {
				if k == tc.n {
					got = sortedCopy(sel)
				}
			})
			checkSTARCLayout(t, &m.(*starc).groups[0], mover, 0, 0, tc.dir)
			if !slices.Equal(got, want) {
				t.Errorf("selected\n %v\nwant\n %v", got, want)
			}
			if len(got) != max(min(tc.budget, tc.n), tc.buffer) {
				t.Errorf("%d tokens selected, want %d", len(got), max(min(tc.budget, tc.n), tc.buffer))
			}
			if cl := m.(*starc).groups[0].clustered; cl != clustered {
				t.Errorf("%d tokens clustered, want %d", cl, clustered)
			}
		})
	}
}

func TestSTARCWindowsAndReclustering(t *testing.T) {
	dir := func(p int) int { return (p * 7 / 3) % 4 }
	tests := []struct {
		name        string
		edit        func(*Config)
		prefill, n  int
		wantMoves   [][2]int // [first slot, tokens] of every Move, in order
		wantK       []int    // clusters per window
		clusteredAt func(n int) int
	}{
		{
			name: "released: 64-token windows, recluster every 64", edit: func(*Config) {},
			prefill: 100, n: 240,
			wantMoves: [][2]int{{0, 64}, {64, 37}, {101, 64}, {165, 64}},
			wantK:     []int{4, 3, 4, 4},
			clusteredAt: func(n int) int {
				switch {
				case n < 165:
					return 101
				case n < 229:
					return 165
				}
				return 229
			},
		},
		{
			name: "window 32, cluster size 8, recluster every 40", edit: func(c *Config) {
				c.Window, c.ClusterSize, c.ReclusterInterval = 32, 8, 40
			},
			prefill: 40, n: 130,
			// First decode clusters 41 tokens (32 + 9); each batch of 40
			// buffered tokens is split into windows of 32 + 8.
			wantMoves: [][2]int{{0, 32}, {32, 9}, {41, 32}, {73, 8}, {81, 32}, {113, 8}},
			wantK:     []int{4, 2, 4, 1, 4, 1},
			clusteredAt: func(n int) int {
				switch {
				case n < 81:
					return 41
				case n < 121:
					return 81
				}
				return 121
			},
		},
		{
			name: "one prompt token (PG-19 stream protocol)", edit: func(*Config) {},
			prefill: 1, n: 70,
			wantMoves:   [][2]int{{0, 2}, {2, 64}},
			wantK:       []int{1, 4},
			clusteredAt: func(n int) int { return map[bool]int{true: 2, false: 66}[n < 66] },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 16, MaxTokens: 256, Budget: 20}
			tc.edit(&c)
			m := mustNewMethod(t, "starc", c)
			mover := newRecordingMover(t)
			s := synthSequence{keys: [][][]float32{plantedKeys(tc.n, 16, dir, 2)}, queries: [][]float32{axisMix(16, 1, 2)}}
			g := &m.(*starc).groups[0]
			driveMethod(t, m, c, s, tc.prefill, tc.n, mover, func(_, _, _, k int, sel []int) {
				if g.clustered != tc.clusteredAt(k) {
					t.Fatalf("at %d tokens %d are clustered, want %d", k, g.clustered, tc.clusteredAt(k))
				}
				for p := g.clustered; p < k; p++ { // the buffer is always attended
					if !slices.Contains(sel, p) {
						t.Fatalf("at %d tokens buffered position %d not selected", k, p)
					}
				}
			})
			if fmt.Sprint(mover.calls) != fmt.Sprint(tc.wantMoves) {
				t.Errorf("moves %v, want %v", mover.calls, tc.wantMoves)
			}
			if g.windows != len(tc.wantK) {
				t.Fatalf("%d windows, want %d", g.windows, len(tc.wantK))
			}
			// Cluster table: K per window, contiguous, in window order.
			id := 0
			for w, k := range tc.wantK {
				first := tc.wantMoves[w][0]
				slot := first
				for range k {
					if int(g.start[id]) != slot {
						t.Fatalf("window %d cluster %d starts at slot %d, want %d", w, id, g.start[id], slot)
					}
					slot += int(g.size[id])
					id++
				}
				if slot != first+tc.wantMoves[w][1] {
					t.Errorf("window %d clusters cover %d slots, want %d", w, slot-first, tc.wantMoves[w][1])
				}
			}
			checkSTARCLayout(t, g, mover, 0, 0, nil) // windows here are not seeded one per direction
		})
	}
}

// checkSTARCLayout verifies that the method's slot table agrees with the moves
// the Mover saw, that each cluster's tokens are contiguous and in ascending
// position, and (for planted keys) that a cluster is one direction.
func checkSTARCLayout(t *testing.T, g *starcGroup, mover *recordingMover, layer, kvHead int, dir func(int) int) {
	t.Helper()
	for slot := range g.clustered {
		if got := mover.slot(layer, kvHead, int(g.posAt[slot])); got != slot {
			t.Fatalf("method puts token %d at slot %d, mover at %d", g.posAt[slot], slot, got)
		}
	}
	for id, size := range g.size {
		members := g.posAt[g.start[id] : g.start[id]+size]
		if !slices.IsSorted(members) {
			t.Errorf("cluster %d positions %v not ascending", id, members)
		}
		for _, p := range members {
			if dir == nil {
				break
			}
			if dir(int(p)) != dir(int(members[0])) {
				t.Errorf("cluster %d mixes directions: %v", id, members)
				break
			}
		}
	}
}

func TestSTARCQueryHeadsUseTheirKVHead(t *testing.T) {
	// Two KV heads with different planted directions; two query heads per
	// KV head asking for different axes.
	const n = 64
	c := Config{Layers: 1, QueryHeads: 4, KVHeads: 2, HeadDim: 16, MaxTokens: n, Budget: 16}
	dir0 := func(p int) int { return p % 4 }
	dir1 := func(p int) int { return (p / 2) % 4 }
	s := synthSequence{
		keys:    [][][]float32{plantedKeys(n, 16, dir0, 3), plantedKeys(n, 16, dir1, 4)},
		queries: [][]float32{axisMix(16, 1), axisMix(16, 0, 0, 1), axisMix(16, 0, 1), axisMix(16, 0, 0, 0, 1)},
	}
	want := [][]int{
		positionsWhere(n, n, func(p int) bool { return dir0(p) == 0 }),
		positionsWhere(n, n, func(p int) bool { return dir0(p) == 2 }),
		positionsWhere(n, n, func(p int) bool { return dir1(p) == 1 }),
		positionsWhere(n, n, func(p int) bool { return dir1(p) == 3 }),
	}
	m := mustNewMethod(t, "starc", c)
	driveMethod(t, m, c, s, n-1, n, newRecordingMover(t), func(_, _, h, _ int, sel []int) {
		if got := sortedCopy(sel); !slices.Equal(got, want[h]) {
			t.Errorf("query head %d selected %v, want %v", h, got, want[h])
		}
	})
}

func TestSTARCWithoutMover(t *testing.T) {
	c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 16, MaxTokens: 128, Budget: 32}
	s := synthSequence{keys: [][][]float32{plantedKeys(100, 16, func(p int) int { return p % 4 }, 5)}, queries: [][]float32{axisMix(16, 1)}}
	withMover := recordSelections(t, mustNewMethod(t, "starc", c), c, s, 70, 100)
	var without [][]int
	driveMethod(t, mustNewMethod(t, "starc", c), c, s, 70, 100, nil, func(_, _, _, _ int, sel []int) {
		without = append(without, sortedCopy(sel))
	})
	if !slices.EqualFunc(withMover, without, slices.Equal) {
		t.Errorf("selections depend on the Mover")
	}
}

func TestSTARCPanicsOnSelectBeforePrepare(t *testing.T) {
	c := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 4, MaxTokens: 8, Budget: 2}
	m := mustNewMethod(t, "starc", c)
	for p := range 4 {
		m.Append(0, 0, p, []float32{1, 2, 3, float32(p)})
	}
	defer func() {
		if recover() == nil {
			t.Errorf("no panic")
		}
	}()
	m.Select(0, 0, []float32{1, 0, 0, 0}, 4, nil)
}

func TestSTARCPrepareDoesNotAllocateWhenWarm(t *testing.T) {
	c := smolShape(1024)
	c.MaxTokens = 1 << 14
	m := mustNewMethod(t, "starc", c).(*starc)
	s := randomSynth(c, 4096+128, 8)
	driveMethod(t, m, c, s, 4095, 4096+128, nil, nil)
	rewind := warmRecluster(m, s, 4096+128)
	if a := testing.AllocsPerRun(10, rewind); a != 0 {
		t.Errorf("%v allocations per reclustering Prepare", a)
	}
}

// warmRecluster returns a function that undoes the last window of layer 0,
// KV head 0 and clusters it again: one reclustering Prepare.
func warmRecluster(m *starc, s synthSequence, n int) func() {
	c := m.shape.cfg
	g := &m.groups[0]
	k := (c.ReclusterInterval + c.ClusterSize - 1) / c.ClusterSize
	return func() {
		g.clustered -= c.ReclusterInterval
		g.windows--
		g.start, g.size = g.start[:len(g.start)-k], g.size[:len(g.size)-k]
		g.centroids = g.centroids[:len(g.centroids)-k*c.HeadDim]
		g.posAt = g.posAt[:g.clustered]
		m.Prepare(0, 0, g.clustered+c.ReclusterInterval, nil)
	}
}

func BenchmarkSTARCPrepare(b *testing.B) {
	b.Run("recluster/64-tokens", func(b *testing.B) {
		c := smolShape(1024)
		m := mustNewMethod(b, "starc", c).(*starc)
		s := randomSynth(c, 4096, 9)
		driveMethod(b, m, c, s, 4095-64, 4096, nil, nil)
		recluster := warmRecluster(m, s, 4096)
		for b.Loop() {
			recluster()
		}
	})
	b.Run("first-decode/4096-tokens", func(b *testing.B) {
		c := smolShape(1024)
		m := mustNewMethod(b, "starc", c)
		s := randomSynth(c, 4096, 10)
		for b.Loop() {
			b.StopTimer()
			m.Reset()
			for p := range 4096 {
				m.Append(0, 0, p, s.keys[0][p])
			}
			b.StartTimer()
			m.Prepare(0, 0, 4096, nil)
		}
	})
}

func TestRankKeyOrdersByScoreThenID(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	// Listed in the wanted rank order.
	order := []struct {
		score float32
		id    int
	}{
		{inf, 9}, {3, 0}, {3, 1}, {1e-30, 4}, {0, 2}, {float32(math.Copysign(0, -1)), 3},
		{-1e-30, 0}, {-2, 7}, {-inf, 1}, {nan, 5}, // NaN ranks as −Inf
	}
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if !(rankKey(a.score, a.id) < rankKey(b.score, b.id)) {
			t.Errorf("(%v, %d) does not rank before (%v, %d)", a.score, a.id, b.score, b.id)
		}
	}
}

package attention

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sparseMethods are the methods this file checks against the Method
// contract.
var sparseMethods = []string{"starc", "quest", "quest-kernel", "topk", "sparq", "streaming"}

// exactBudget lists the methods documented to return exactly min(Budget, n)
// positions (Quest selects whole pages).
var exactBudget = map[string]bool{"starc": true, "topk": true, "sparq": true, "streaming": true}

// smallGQAShape is a small GQA shape: 2 query heads per KV head.
func smallGQAShape(budget int) Config {
	return Config{Layers: 2, QueryHeads: 4, KVHeads: 2, HeadDim: 16, MaxTokens: 512, Budget: budget}
}

// recordingMover records every Move and checks the Mover contract: the listed
// tokens' current slots are exactly the slots they are moved to (a
// permutation), they form one contiguous range (one window), and no token
// is ever moved twice.
type recordingMover struct {
	t      testing.TB
	slotOf map[[3]int]int // (layer, kvHead, pos) → slot; absent = identity
	moved  map[[3]int]bool
	calls  [][2]int // [first slot, tokens] of each Move
}

func newRecordingMover(t testing.TB) *recordingMover {
	return &recordingMover{t: t, slotOf: map[[3]int]int{}, moved: map[[3]int]bool{}}
}

func (f *recordingMover) slot(layer, kvHead, pos int) int {
	if s, ok := f.slotOf[[3]int{layer, kvHead, pos}]; ok {
		return s
	}
	return pos
}

func (f *recordingMover) Move(layer, kvHead int, pos, slot []int) {
	f.t.Helper()
	if len(pos) != len(slot) || len(pos) == 0 {
		f.t.Fatalf("Move with %d positions and %d slots", len(pos), len(slot))
	}
	from := make([]int, len(pos))
	for i, p := range pos {
		key := [3]int{layer, kvHead, p}
		if f.moved[key] {
			f.t.Fatalf("token %d of layer %d head %d moved twice", p, layer, kvHead)
		}
		f.moved[key] = true
		from[i] = f.slot(layer, kvHead, p)
	}
	to := slices.Clone(slot)
	slices.Sort(from)
	slices.Sort(to)
	if !slices.Equal(from, to) {
		f.t.Fatalf("Move is not a permutation: from slots %v to %v", from, to)
	}
	for i := 1; i < len(to); i++ {
		if to[i] != to[i-1]+1 {
			f.t.Fatalf("Move slots %v are not one contiguous window", to)
		}
	}
	for i, p := range pos {
		f.slotOf[[3]int{layer, kvHead, p}] = slot[i]
	}
	f.calls = append(f.calls, [2]int{to[0], len(to)})
}

// synthSequence is synthetic post-RoPE keys and decode queries for one test.
type synthSequence struct {
	keys    [][][]float32 // [layer*KVHeads+g][pos][HeadDim]
	queries [][]float32   // [layer*QueryHeads+h][HeadDim] reused every step
}

func randomSynth(c Config, n int, seed uint64) synthSequence {
	rng := rand.New(rand.NewPCG(seed, 2))
	s := synthSequence{keys: make([][][]float32, c.Layers*c.KVHeads), queries: make([][]float32, c.Layers*c.QueryHeads)}
	for i := range s.keys {
		s.keys[i] = make([][]float32, n)
		for p := range n {
			s.keys[i][p] = gaussianVector(rng, c.HeadDim)
		}
	}
	for i := range s.queries {
		s.queries[i] = gaussianVector(rng, c.HeadDim)
	}
	return s
}

func gaussianVector(rng *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// driveMethod feeds prefill tokens 0..prefill-1 and decodes up to n tokens the way
// the Engine does (Append for every layer; Prepare and Select for layers ≥
// DenseLayers), calling check after every decode step's selections.
func driveMethod(t testing.TB, m Method, c Config, s synthSequence, prefill, n int, mover Mover,
	check func(step, layer, head, n int, sel []int)) {
	for p := range prefill {
		for l := range c.Layers {
			for g := range c.KVHeads {
				m.Append(l, g, p, s.keys[l*c.KVHeads+g][p])
			}
		}
	}
	var sel []int
	for pos := prefill; pos < n; pos++ {
		for l := range c.Layers {
			for g := range c.KVHeads {
				m.Append(l, g, pos, s.keys[l*c.KVHeads+g][pos])
				if l < c.DenseLayers {
					continue
				}
				m.Prepare(l, g, pos+1, mover)
				for h := g * c.GroupSize(); h < (g+1)*c.GroupSize(); h++ {
					sel = m.Select(l, h, s.queries[l*c.QueryHeads+h], pos+1, sel[:0])
					if check != nil {
						check(pos, l, h, pos+1, sel)
					}
				}
			}
		}
	}
}

func mustNewMethod(t testing.TB, name string, c Config) Method {
	t.Helper()
	m, err := New(name, c)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return m
}

// checkPositions fails unless sel holds distinct positions in 0..n-1.
func checkPositions(t testing.TB, name string, sel []int, n int) {
	t.Helper()
	seen := make(map[int]bool, len(sel))
	for _, p := range sel {
		if p < 0 || p >= n || seen[p] {
			t.Fatalf("%s: selection %v has a repeated or out-of-range position (n %d)", name, sel, n)
		}
		seen[p] = true
	}
}

func TestRegistryHasEveryMethod(t *testing.T) {
	names := Names()
	for _, want := range append([]string{"full"}, sparseMethods...) {
		if !slices.Contains(names, want) {
			t.Errorf("method %q not registered (have %v)", want, names)
		}
	}
}

func TestEveryMethodAttendsToAllWithinBudget(t *testing.T) {
	const n = 150
	for _, name := range sparseMethods {
		for _, budget := range []int{0, n, n + 1, 4096} {
			t.Run(fmt.Sprintf("%s/budget=%d", name, budget), func(t *testing.T) {
				c := smallGQAShape(budget)
				m := mustNewMethod(t, name, c)
				driveMethod(t, m, c, randomSynth(c, n, 1), 100, n, newRecordingMover(t), func(_, _, _, k int, sel []int) {
					if !slices.Equal(sel, appendRange(nil, 0, k)) {
						t.Fatalf("budget %d, %d tokens: selected %d positions, want all in order", budget, k, len(sel))
					}
				})
			})
		}
	}
}

func TestEveryMethodReturnsDistinctPositionsWithinBudget(t *testing.T) {
	const prefill, n = 200, 330
	for _, name := range sparseMethods {
		for _, budget := range []int{48, 100, 128} {
			t.Run(fmt.Sprintf("%s/budget=%d", name, budget), func(t *testing.T) {
				c := smallGQAShape(budget)
				c.DenseLayers = 1
				m := mustNewMethod(t, name, c)
				driveMethod(t, m, c, randomSynth(c, n, 2), prefill, n, newRecordingMover(t), func(_, layer, head, k int, sel []int) {
					if layer < c.DenseLayers {
						t.Fatalf("Select reached dense layer %d", layer)
					}
					checkPositions(t, name, sel, k)
					want := min(budget, k)
					if st, ok := m.(*starc); ok {
						// A buffer larger than the budget is attended whole.
						buffer := k - st.groups[layer*c.KVHeads+head/c.GroupSize()].clustered
						want = max(want, buffer)
					}
					if exactBudget[name] && len(sel) != want {
						t.Fatalf("%d positions selected of %d, want exactly %d", len(sel), k, want)
					}
					if !exactBudget[name] && (len(sel) == 0 || len(sel) > max(budget, 3*c.PageSize)+c.PageSize) {
						t.Fatalf("%d positions selected of %d with budget %d", len(sel), k, budget)
					}
				})
			})
		}
	}
}

// recordSelections records every selection of a run, sorted, for comparisons.
func recordSelections(t testing.TB, m Method, c Config, s synthSequence, prefill, n int) [][]int {
	var out [][]int
	driveMethod(t, m, c, s, prefill, n, newRecordingMover(t), func(_, _, _, _ int, sel []int) {
		cp := slices.Clone(sel)
		slices.Sort(cp)
		out = append(out, cp)
	})
	return out
}

func TestEveryMethodIsDeterministicAndResets(t *testing.T) {
	const prefill, n = 90, 200
	for _, name := range sparseMethods {
		t.Run(name, func(t *testing.T) {
			c := smallGQAShape(64)
			c.KMeansInit = "kmeans++" // seeded randomness must reproduce too
			if name != "starc" {
				c.KMeansInit = ""
			}
			s := randomSynth(c, n, 3)
			a := mustNewMethod(t, name, c)
			first := recordSelections(t, a, c, s, prefill, n)
			second := recordSelections(t, mustNewMethod(t, name, c), c, s, prefill, n)
			if !slices.EqualFunc(first, second, slices.Equal) {
				t.Fatalf("two instances selected differently")
			}
			a.Reset()
			again := recordSelections(t, a, c, s, prefill, n)
			if !slices.EqualFunc(first, again, slices.Equal) {
				t.Fatalf("after Reset the same synthSequence selected differently")
			}
		})
	}
}

func TestEveryMethodSelectsPlantedWinners(t *testing.T) {
	// A few tokens whose keys align with the query, among random keys of
	// small norm: every method must attend to them with a budget that holds
	// the winners' page/cluster. The winners sit in one 16-token page and
	// share one direction, so Quest's page and STARC's cluster hold them.
	const n, budget = 256, 32
	for _, name := range sparseMethods {
		if name == "streaming" {
			continue // query-blind by design; see TestStreamingKeepsSinksAndRecent
		}
		t.Run(name, func(t *testing.T) {
			c := Config{Layers: 1, QueryHeads: 2, KVHeads: 1, HeadDim: 16, MaxTokens: n, Budget: budget}
			s := randomSynth(c, n, 4)
			for p := range n {
				for i := range s.keys[0][p] {
					s.keys[0][p][i] *= 0.05
				}
			}
			winners := []int{80, 83, 87, 90, 94}
			q := s.queries[0]
			for _, w := range winners {
				for i := range q {
					s.keys[0][w][i] = 2 * q[i]
				}
			}
			s.queries[1] = q
			m := mustNewMethod(t, name, c)
			driveMethod(t, m, c, s, n-1, n, newRecordingMover(t), func(_, _, _, _ int, sel []int) {
				for _, w := range winners {
					if !slices.Contains(sel, w) {
						t.Errorf("winner %d not selected in %v", w, sel)
					}
				}
			})
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		method string
		edit   func(*Config)
	}{
		{"starc", func(c *Config) { c.KMeansInit = "kmeans" }},
		{"starc", func(c *Config) { c.KMeansMetric = "manhattan" }},
		{"starc", func(c *Config) { c.Window = -64 }},
		{"starc", func(c *Config) { c.ClusterSize = -1 }},
		{"quest", func(c *Config) { c.PageSize = -16 }},
		{"sparq", func(c *Config) { c.SparQRank = 17 }},
		{"streaming", func(c *Config) { c.Sinks = -1 }},
	}
	for _, tc := range tests {
		c := smallGQAShape(64)
		tc.edit(&c)
		if _, err := New(tc.method, c); err == nil {
			t.Errorf("%s accepted %+v", tc.method, c)
		}
	}
}

func TestSelectDoesNotAllocateWhenWarm(t *testing.T) {
	const prefill, n = 300, 400
	for _, name := range sparseMethods {
		t.Run(name, func(t *testing.T) {
			c := smallGQAShape(128)
			m := mustNewMethod(t, name, c)
			s := randomSynth(c, n, 5)
			driveMethod(t, m, c, s, prefill, prefill+1, nil, nil)
			dst := make([]int, 0, c.MaxTokens)
			allocs := testing.AllocsPerRun(20, func() {
				for h := range c.QueryHeads {
					dst = m.Select(1, h, s.queries[c.QueryHeads+h], prefill+1, dst[:0])
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per warm step", allocs)
			}
		})
	}
}

// smolShape is SmolLM2-135M's attention shape at a 4096-token context.
func smolShape(budget int) Config {
	return Config{Layers: 1, QueryHeads: 9, KVHeads: 3, HeadDim: 64, MaxTokens: 4096, Budget: budget}
}

func BenchmarkSelect(b *testing.B) {
	const n = 4096
	for _, name := range sparseMethods {
		for _, budget := range []int{256, 1024} {
			b.Run(fmt.Sprintf("%s/n=%d/budget=%d", name, n, budget), func(b *testing.B) {
				c := smolShape(budget)
				m := mustNewMethod(b, name, c)
				s := randomSynth(c, n, 6)
				driveMethod(b, m, c, s, n-1, n, nil, nil)
				dst := make([]int, 0, n)
				for b.Loop() {
					dst = m.Select(0, 4, s.queries[4], n, dst[:0])
				}
			})
		}
	}
}

// selectionRecorder passes calls through and keeps the last selection of
// every (layer, query head).
type selectionRecorder struct {
	Method
	last map[[2]int][]int
}

func (r *selectionRecorder) Select(layer, head int, q []float32, n int, dst []int) []int {
	dst = r.Method.Select(layer, head, q, n, dst)
	r.last[[2]int{layer, head}] = slices.Clone(dst)
	return dst
}

// TestEngineAttendsToTheSelectionDespiteRemap runs each method inside the
// Engine over the Dense store (STARC moves slots there) and checks every
// decode output against softmax attention computed directly from the
// position-ordered keys and values over the positions the method selected.
func TestEngineAttendsToTheSelectionDespiteRemap(t *testing.T) {
	const prefill, n = 100, 170
	for _, name := range sparseMethods {
		t.Run(name, func(t *testing.T) {
			c := smallGQAShape(40)
			c.DenseLayers = 1
			c.MaxTokens = n
			rec := &selectionRecorder{Method: mustNewMethod(t, name, c), last: map[[2]int][]int{}}
			store, err := NewDense(c.Layers, c.KVHeads, c.HeadDim, c.MaxTokens)
			if err != nil {
				t.Fatal(err)
			}
			e, err := NewEngine(c, store, rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(18, 0))
			hd, qDim, kvDim := c.HeadDim, c.QueryHeads*c.HeadDim, c.KVHeads*c.HeadDim
			q := make([][]float32, c.Layers) // [layer][pos*qDim]
			k := make([][]float32, c.Layers) // [layer][pos*kvDim]
			v := make([][]float32, c.Layers)
			for l := range c.Layers {
				q[l], k[l], v[l] = gaussianVector(rng, n*qDim), gaussianVector(rng, n*kvDim), gaussianVector(rng, n*kvDim)
			}
			out := make([]float32, prefill*qDim)
			for l := range c.Layers {
				e.Prefill(l, 0, prefill, q[l][:prefill*qDim], k[l][:prefill*kvDim], v[l][:prefill*kvDim], out)
			}
			moved := 0
			for pos := prefill; pos < n; pos++ {
				for l := range c.Layers {
					qs := q[l][pos*qDim : (pos+1)*qDim]
					e.Decode(l, pos, qs, k[l][pos*kvDim:(pos+1)*kvDim], v[l][pos*kvDim:(pos+1)*kvDim], out[:qDim])
					if l < c.DenseLayers {
						continue
					}
					for h := range c.QueryHeads {
						g := h / c.GroupSize()
						sel := rec.last[[2]int{l, h}]
						want := make([]float64, hd)
						scores := make([]float64, len(sel))
						best := math.Inf(-1)
						for i, p := range sel {
							for d := range hd {
								scores[i] += float64(qs[h*hd+d]) * float64(k[l][p*kvDim+g*hd+d])
							}
							scores[i] /= math.Sqrt(float64(hd))
							best = max(best, scores[i])
						}
						var sum float64
						for i, p := range sel {
							w := math.Exp(scores[i] - best)
							sum += w
							for d := range hd {
								want[d] += w * float64(v[l][p*kvDim+g*hd+d])
							}
						}
						for d := range hd {
							if got := float64(out[h*hd+d]); math.Abs(got-want[d]/sum) > 1e-4 {
								t.Fatalf("pos %d layer %d head %d dim %d: engine %v, masked attention %v",
									pos, l, h, d, got, want[d]/sum)
							}
						}
					}
					for g := range c.KVHeads {
						for p := range pos + 1 {
							if e.SlotOf(l, g, p) != p {
								moved++
							}
						}
					}
				}
			}
			if name == "starc" && moved == 0 {
				t.Errorf("STARC moved no token: the remap was not exercised")
			}
			if st, ok := rec.Method.(*starc); ok { // the Engine's slots are STARC's
				for l := c.DenseLayers; l < c.Layers; l++ {
					for g := range c.KVHeads {
						grp := &st.groups[l*c.KVHeads+g]
						for slot, p := range grp.posAt[:grp.clustered] {
							if e.SlotOf(l, g, int(p)) != slot {
								t.Fatalf("layer %d KV head %d: STARC puts token %d at slot %d, the Engine at %d",
									l, g, p, slot, e.SlotOf(l, g, int(p)))
							}
						}
					}
				}
			}
		})
	}
}

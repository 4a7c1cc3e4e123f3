package pim

import (
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// boundsCases are the parts and shapes the bound tests cover: both parts
// (nCCDAB 6 with the power limit, 4 without), head dims of 64, 128 and 256
// (one, two and four columns per token per bank) and 1 to 8 query heads
// per read (the AttAcc layout, SmolLM2's GQA group of 3, Llama-3's 4,
// Qwen2's 6 and 7), in stores of 2336 tokens (SmolLM2 at 2K) and 8200.
func boundsCases() (cases []struct {
	spec                        Spec
	headDim, maxTokens, queries int
}) {
	for _, spec := range []Spec{HBM3PIM(true), HBM3PIM(false)} {
		for _, dim := range []int{64, 128, 256} {
			for q := 1; q <= 8; q++ {
				for _, tokens := range []int{2336, 8200} {
					cases = append(cases, struct {
						spec                        Spec
						headDim, maxTokens, queries int
					}{spec, dim, tokens, q})
				}
			}
		}
	}
	return cases
}

// boundsPatterns draws the kinds of reads a store meets: STARC-like
// clusters plus recent tokens, random runs and scattered groups, and full
// reads of a prefix.
func boundsPattern(rng *rand.Rand, groups int) []int {
	ctx := 1 + rng.IntN(groups)
	switch rng.IntN(5) {
	case 0, 1:
		return starcLikeGroups(rng, ctx)
	case 2, 3:
		return randomGroups(rng, ctx)
	}
	g := make([]int, ctx)
	for i := range g {
		g[i] = i
	}
	return g
}

// checkBounds runs the engine on groups and checks that it lies in
// cycleBounds and, when the upper bound is below nREFI (the store's
// condition for using it), that it issued no refresh and the commands
// readCommands names. It returns engine − lower bound.
func checkBounds(t *testing.T, pl placement, s Spec, m *simulator, groups []int, q int) int64 {
	t.Helper()
	e := pl.simulateOn(m, groups, q)
	lo, hi := pl.cycleBounds(s.Timing, groups, q)
	if e.cycles < lo {
		t.Fatalf("groups %v: engine %d cycles, below the lower bound %d", groups, e.cycles, lo)
	}
	if hi >= int64(s.Timing.REFI) {
		return e.cycles - lo
	}
	if e.cycles > hi {
		t.Fatalf("groups %v: engine %d cycles, above the upper bound %d (lower %d)", groups, e.cycles, hi, lo)
	}
	if got := pl.readCommands(groups, q); got != e.n {
		t.Fatalf("groups %v: readCommands %v, engine %v", groups, got, e.n)
	}
	return e.cycles - lo
}

// The lower bound holds on every read, and the upper bound and the
// closed-form commands on every read whose upper bound is below nREFI, for
// every case; the lower bound is exact on a good share of reads (else it
// would prune nothing).
func TestCycleBounds(t *testing.T) {
	for _, c := range boundsCases() {
		name := fmt.Sprintf("%s/dim%d/tokens%d/q%d", c.spec.Name, c.headDim, c.maxTokens, c.queries)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.headDim*c.queries), uint64(c.maxTokens)))
			pl := newPlacement(c.spec, c.headDim, c.maxTokens)
			groups := ceilDiv(c.maxTokens, pl.g.partitions)
			m := newSimulator(c.spec)
			n := 150
			if testing.Short() {
				n = 40
			}
			exact := 0
			for range n {
				g := boundsPattern(rng, groups)
				if len(g) == 0 {
					continue
				}
				if checkBounds(t, pl, c.spec, m, g, c.queries) == 0 {
					exact++
				}
			}
			if exact < n/10 {
				t.Errorf("the lower bound is exact on %d of %d reads, want at least a tenth", exact, n)
			}
		})
	}
}

// The bounds hold on recorded reads: a few decode steps of SmolLM2 with
// STARC and Quest at budget 256 (2K and 8K tokens of context), as
// starc generate --trace wrote them.
func TestCycleBoundsOnRecordedTraces(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded traces in testdata (%v)", err)
	}
	s := HBM3PIM(true)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			tr := readTraceFile(t, f)
			h := tr.Header
			pl := newPlacement(s, h.HeadDim, h.MaxTokens)
			m := newSimulator(s)
			reads := 0
			for _, st := range tr.Steps {
				for _, r := range st.Reads {
					g := make([]int, len(r.Rows))
					for i, rc := range r.Rows {
						g[i] = rc.Row
					}
					if len(g) > 0 {
						checkBounds(t, pl, s, m, g, h.QueryHeads/h.KVHeads)
						reads++
					}
				}
			}
			if reads == 0 {
				t.Fatal("the trace has no reads")
			}
		})
	}
}

func readTraceFile(t testing.TB, path string) *Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr, err := ReadTrace(z)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr
}

// A store charges what a store running the engine on every read charges,
// step for step and field for field, with reads of new and repeated shapes
// on several layers and heads, some (layer, KV head) read twice in a step,
// some earlier layer read again after the settler took it, for both
// layouts, and across a snapshot taken in the middle of a step (with
// layers handed to the settler) and restored into a third store.
func TestChargeMatchesEngine(t *testing.T) {
	for _, layout := range []Layout{LayoutGQA, LayoutAttAcc} {
		t.Run(layout.String(), func(t *testing.T) {
			shape := KVShape{Layers: 4, KVHeads: 3, QueryHeads: 9, HeadDim: 64, MaxTokens: 2400}
			newStore := func(engine bool) *KVStore {
				st, err := NewKVStore(HBM3PIM(true), shape, layout)
				if err != nil {
					t.Fatal(err)
				}
				if engine {
					st.sim = newSimulator(st.spec)
				}
				return st
			}
			fast, ref := newStore(false), newStore(true)
			vec := make([]float32, shape.HeadDim)
			for _, st := range []*KVStore{fast, ref} {
				for l := range shape.Layers {
					for h := range shape.KVHeads {
						for s := range shape.MaxTokens {
							st.Write(l, h, s, vec, vec)
						}
					}
				}
				st.EndStep()
			}
			rng := rand.New(rand.NewPCG(7, uint64(layout)))
			groups := ceilDiv(shape.MaxTokens, 16)
			var seen [][]int
			var snap KVSnapshot
			var restored *KVStore
			reopened := 0 // reads of a layer the settler had taken
			steps := 40
			if testing.Short() {
				steps = 10
			}
			for step := range steps {
				for l := range shape.Layers {
					// The heads of a layer read variants of one pattern, so
					// that their cycles are close and which one is the slowest
					// depends on the upper bounds being right.
					base := boundsPattern(rng, groups)
					var reads [][2]int // (layer, KV head)
					for h := range shape.KVHeads {
						reads = append(reads, [2]int{l, h})
					}
					if l > 0 && rng.IntN(4) == 0 { // an earlier layer again
						reads = append(reads, [2]int{rng.IntN(l), rng.IntN(shape.KVHeads)})
					}
					for _, r := range reads {
						l, h := r[0], r[1]
						if fast.handed[l] {
							reopened++
						}
						for range 1 + rng.IntN(2)*rng.IntN(2) { // now and then twice
							g := nearPattern(rng, base, groups)
							if len(seen) > 0 && rng.IntN(5) == 0 {
								g = seen[rng.IntN(len(seen))]
							}
							seen = append(seen, g)
							var slots []int
							for _, x := range g {
								n := 1 + rng.IntN(16)
								for s := x * 16; s < x*16+n && s < shape.MaxTokens; s++ {
									slots = append(slots, s)
								}
							}
							for _, st := range []*KVStore{fast, ref, restored} {
								if st != nil {
									st.Charge(l, h, slots)
								}
							}
						}
					}
					if step == steps/2 && l == shape.Layers/2 {
						fast.SnapshotTo(&snap)
						restored = newStore(false)
						if err := restored.Restore(&snap); err != nil {
							t.Fatal(err)
						}
					}
				}
				want := ref.EndStep()
				if got := fast.EndStep(); got != want {
					t.Fatalf("step %d: store charges %+v, engine %+v", step, got, want)
				}
				if restored != nil {
					if got := restored.EndStep(); got != want {
						t.Fatalf("step %d, restored store: charges %+v, engine %+v", step, got, want)
					}
				}
			}
			if got, want := fast.Total(), ref.Total(); got != want {
				t.Errorf("totals: store %+v, engine %+v", got, want)
			}
			if reopened == 0 {
				t.Errorf("no read of a layer already handed to the settler: the test proves nothing about reopening")
			}
		})
	}
}

// nearPattern returns base with a few groups dropped or added (below
// groups), sorted and distinct, and never empty.
func nearPattern(rng *rand.Rand, base []int, groups int) []int {
	in := make([]bool, groups)
	for _, g := range base {
		in[g] = true
	}
	for range rng.IntN(4) {
		in[rng.IntN(groups)] = rng.IntN(2) == 0
	}
	var out []int
	for g, ok := range in {
		if ok {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		out = append(out, rng.IntN(groups))
	}
	return out
}

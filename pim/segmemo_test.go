package pim

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// starcLikeGroups is a STARC-like selection over n groups: scattered
// clusters of one or two groups, then the recent groups.
func starcLikeGroups(rng *rand.Rand, n int) []int {
	var g []int
	recent := min(n, 8+rng.IntN(20))
	for x := 0; x < n-recent; x += 1 + rng.IntN(6) {
		for run := 1 + rng.IntN(2); run > 0 && x < n-recent; run-- {
			g = append(g, x)
			x++
		}
	}
	for x := n - recent; x < n; x++ {
		g = append(g, x)
	}
	return g
}

// The segment memo gives what the engine gives on a fresh device, cycle
// for cycle and command for command: one memo reads a long mix of
// randomised sparse patterns, STARC-like ones, repeats and full reads long
// enough to meet refreshes (so that it both hits and misses, and meets
// refreshes inside segments it remembered without one), for the shapes the
// controller parity test uses. The engine is itself held to the reference
// scheduler (TestControllerMatchesReference) and to Ramulator2 (parity_test).
func TestSegmentMemoMatchesEngine(t *testing.T) {
	for _, c := range []struct {
		spec      Spec
		headDim   int
		maxTokens int
		queries   int
	}{
		{HBM3PIM(true), 64, 2100, 3},   // SmolLM2, GQA layout
		{HBM3PIM(true), 64, 8200, 3},   // SmolLM2 at 8K
		{HBM3PIM(true), 64, 9000, 1},   // AttAcc layout, long context
		{HBM3PIM(false), 128, 4096, 4}, // nCCDAB 4, two columns per token
		{HBM3PIM(true), 256, 3000, 2},
	} {
		name := fmt.Sprintf("%s/dim%d/tokens%d/q%d", c.spec.Name, c.headDim, c.maxTokens, c.queries)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.headDim), uint64(c.maxTokens)))
			pl := newPlacement(c.spec, c.headDim, c.maxTokens)
			groups := ceilDiv(c.maxTokens, pl.g.partitions)
			m, memo := newSimulator(c.spec), newSegmentMemo()
			var seen [][]int
			n := 400
			if testing.Short() {
				n = 100
			}
			for i := range n {
				ctx := 1 + rng.IntN(groups)
				var g []int
				switch r := rng.IntN(20); {
				case r < 8:
					g = starcLikeGroups(rng, ctx)
				case r < 16:
					g = randomGroups(rng, ctx)
				case r < 18 && len(seen) > 0:
					g = seen[rng.IntN(len(seen))]
				default:
					for x := range ctx {
						g = append(g, x)
					}
				}
				if len(g) == 0 {
					continue
				}
				seen = append(seen, g)
				d := NewDevice(c.spec)
				var cnt CommandCounter
				d.AddObserver(&cnt)
				want := NewController(d).Run(pl.requests(g, c.queries))
				got := pl.simulateMemo(m, memo, g, c.queries)
				if got.cycles != want || got.n != cnt.N {
					t.Fatalf("read %d (groups %v): %d cycles %v, engine %d cycles %v", i, g, got.cycles, got.n, want, cnt.N)
				}
			}
			t.Logf("%d segment hits, %d misses, %d states", memo.hits, memo.misses, len(memo.states))
			if memo.hits == 0 {
				t.Errorf("the memo never hit")
			}
		})
	}
}

// BenchmarkSegmentMemo times the segment memo against the engine on
// STARC-like reads of a SmolLM2-shaped store at a 2048-token context (as
// BenchmarkSparseReadEngine), each read a new pattern, in alternation, and
// reports each one's CPU time per read once the memo is warm.
func BenchmarkSegmentMemo(b *testing.B) {
	s := HBM3PIM(true)
	pl := newPlacement(s, 64, 2112)
	rng := rand.New(rand.NewPCG(3, 4))
	m, memo := newSimulator(s), newSegmentMemo()
	for range 2000 { // warm the memo
		pl.simulateMemo(m, memo, starcLikeGroups(rng, 128), 3)
	}
	patterns := make([][]int, 200)
	for i := range patterns {
		patterns[i] = starcLikeGroups(rng, 128)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sim := newSimulator(s)
	var eng, fast time.Duration
	h0, m0 := memo.hits, memo.misses
	for b.Loop() {
		for _, g := range patterns {
			t0 := threadCPUTime()
			want := pl.simulateOn(sim, g, 3)
			t1 := threadCPUTime()
			got := pl.simulateMemo(m, memo, g, 3)
			t2 := threadCPUTime()
			if got.cycles != want.cycles || got.n != want.n {
				b.Fatalf("groups %v: %d cycles %v, engine %d cycles %v", g, got.cycles, got.n, want.cycles, want.n)
			}
			eng, fast = eng+t1-t0, fast+t2-t1
		}
	}
	n := float64(b.N * len(patterns))
	b.ReportMetric(float64(eng.Microseconds())/n, "engine-cpu-µs/read")
	b.ReportMetric(float64(fast.Microseconds())/n, "cpu-µs/read")
	b.ReportMetric(float64(memo.hits-h0)/float64(memo.hits-h0+memo.misses-m0), "hit-rate")
}

// BenchmarkChargeTrace replays the reads of a recorded access trace
// (STARC_PIM_TRACE: a file written by starc generate --trace) through two
// KV stores of the trace's shape, one charging as the store does (bounds,
// the engine on the reads that may be a layer's slowest, with the segment
// memo) and one with the engine alone on every read, read by read and step
// by step in alternation (the memo starts empty, as in a fresh process),
// and reports each one's CPU time (Charge and EndStep) per read and per
// decode step, the segment hit rate, and checks that both charge the same
// (every StepReport field). Skipped without a trace.
func BenchmarkChargeTrace(b *testing.B) {
	path := os.Getenv("STARC_PIM_TRACE")
	if path == "" {
		b.Skip("STARC_PIM_TRACE not set")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := ReadTrace(f)
	f.Close()
	if err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	h := tr.Header
	layout := LayoutGQA
	if h.Layout == LayoutAttAcc.String() {
		layout = LayoutAttAcc
	}
	shape := KVShape{Layers: h.Layers, KVHeads: h.KVHeads, QueryHeads: h.QueryHeads, HeadDim: h.HeadDim, MaxTokens: h.MaxTokens}
	newStore := func(memo bool) *KVStore {
		st, err := NewKVStore(HBM3PIM(true), shape, layout)
		if err != nil {
			b.Fatal(err)
		}
		if memo {
			st.engine = &sharedEngine{sim: newSimulator(st.spec), memo: newSegmentMemo()} // cold, as in a fresh process
		} else {
			st.sim = newSimulator(st.spec)
		}
		return st
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var eng, fast time.Duration
	var reads, steps, runs int64
	var memo *segmentMemo
	vec := make([]float32, shape.HeadDim)
	var slots []int
	for b.Loop() {
		withMemo, engine := newStore(true), newStore(false)
		memo = withMemo.engine.memo
		for _, step := range tr.Steps {
			for _, r := range step.Reads {
				slots = slots[:0]
				for _, rc := range r.Rows {
					for s := rc.Row * h.TokensPerRow; s < rc.Row*h.TokensPerRow+rc.Tokens; s++ {
						slots = append(slots, s)
					}
				}
				for _, st := range []*KVStore{withMemo, engine} {
					for s := st.Len(r.Layer, r.KVHead); s < r.Context; s++ {
						st.Write(r.Layer, r.KVHead, s, vec, vec)
					}
				}
				t0 := threadCPUTime()
				engine.Charge(r.Layer, r.KVHead, slots)
				t1 := threadCPUTime()
				withMemo.Charge(r.Layer, r.KVHead, slots)
				t2 := threadCPUTime()
				eng, fast = eng+t1-t0, fast+t2-t1
				reads++
			}
			t0 := threadCPUTime()
			want := engine.EndStep()
			t1 := threadCPUTime()
			got := withMemo.EndStep() // runs the engine on the reads that may be a layer's slowest
			t2 := threadCPUTime()
			eng, fast = eng+t1-t0, fast+t2-t1
			if got != want {
				b.Fatalf("step %d: memo charges %+v, engine %+v", step.Step, got, want)
			}
			steps++
		}
		runs += withMemo.engineRuns
	}
	b.ReportMetric(float64(eng.Microseconds())/float64(reads), "engine-cpu-µs/read")
	b.ReportMetric(float64(fast.Microseconds())/float64(reads), "cpu-µs/read")
	b.ReportMetric(float64(eng.Microseconds())/float64(steps)/1000, "engine-cpu-ms/step")
	b.ReportMetric(float64(fast.Microseconds())/float64(steps)/1000, "cpu-ms/step")
	b.ReportMetric(float64(memo.hits)/float64(max(memo.hits+memo.misses, 1)), "hit-rate")
	b.ReportMetric(float64(runs)/float64(steps), "engine-runs/step")
	b.ReportMetric(float64(reads)/float64(steps), "reads/step")
}

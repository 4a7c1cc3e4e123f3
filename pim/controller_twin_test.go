package pim

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// The Controller skips twin queue entries (same command, node and row as an
// older entry). The reference controller (controller_ref_test.go) is the
// scheduler as specified, looking at every entry every cycle: on the KV
// store's request streams for randomised sparse patterns, full reads long
// enough to be refreshed, AttAcc's own trace and a mix of plain DRAM
// reads and writes, the two must issue the same commands to the same
// addresses at the same cycles.
func TestControllerMatchesReference(t *testing.T) {
	type stream struct {
		name string
		spec Spec
		reqs []Request
	}
	var streams []stream
	for _, c := range []struct {
		spec      Spec
		headDim   int
		maxTokens int
		queries   int
	}{
		{HBM3PIM(true), 64, 2100, 3},   // SmolLM2, GQA layout
		{HBM3PIM(true), 64, 9000, 1},   // AttAcc layout, long context
		{HBM3PIM(false), 128, 4096, 4}, // nCCDAB 4, two columns per token
		{HBM3PIM(true), 256, 3000, 2},
	} {
		rng := rand.New(rand.NewPCG(uint64(c.headDim), uint64(c.maxTokens)))
		pl := newPlacement(c.spec, c.headDim, c.maxTokens)
		groups := ceilDiv(c.maxTokens, pl.g.partitions)
		for i := range 40 {
			g := randomGroups(rng, groups)
			streams = append(streams, stream{fmt.Sprintf("%s/dim%d/q%d/random%d", c.spec.Name, c.headDim, c.queries, i), c.spec, pl.requests(g, c.queries)})
		}
		all := make([]int, groups) // a full read: long enough to meet refreshes
		for i := range all {
			all[i] = i
		}
		streams = append(streams, stream{fmt.Sprintf("%s/dim%d/q%d/full", c.spec.Name, c.headDim, c.queries), c.spec, pl.requests(all, c.queries)})
	}
	for _, R := range []int{1, 17, 300, 2048} {
		streams = append(streams, stream{fmt.Sprintf("attacc/R%d", R), HBM3PIM(true), AttAccRequests(HBM3PIM(true), R)})
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var dram []Request // plain reads and writes to a few rows of a few banks
	for range 400 {
		cmd := CmdRD
		if rng.IntN(3) == 0 {
			cmd = CmdWR
		}
		dram = append(dram, Request{cmd, Addr{rng.IntN(2), rng.IntN(2), rng.IntN(4), rng.IntN(4), rng.IntN(3), rng.IntN(32)}})
	}
	streams = append(streams, stream{"dram", HBM3PIM(true), dram})

	for _, st := range streams {
		var got, want CommandLog
		d := NewDevice(st.spec)
		d.AddObserver(&got)
		gotCycles := NewController(d).Run(st.reqs)
		r := NewDevice(st.spec)
		r.AddObserver(&want)
		wantCycles := newRefController(r).Run(st.reqs)
		if gotCycles != wantCycles {
			t.Errorf("%s: %d cycles, reference %d", st.name, gotCycles, wantCycles)
		}
		if len(got.Lines) != len(want.Lines) {
			t.Errorf("%s: %d commands issued, reference %d", st.name, len(got.Lines), len(want.Lines))
			continue
		}
		for i := range got.Lines {
			if got.Lines[i] != want.Lines[i] {
				t.Errorf("%s: command %d is %+v, reference %+v", st.name, i, got.Lines[i], want.Lines[i])
				break
			}
		}
	}
}

// What a KV store charges for a sparse read (its memo, the reused device
// and the optimised scheduler) is what the reference scheduler on a fresh
// device says for that read: cycles, every command count, rows activated,
// bytes and energy, for randomised sparse selections in both layouts.
func TestKVStoreChargeMatchesReferenceEngine(t *testing.T) {
	for _, layout := range []Layout{LayoutGQA, LayoutAttAcc} {
		t.Run(layout.String(), func(t *testing.T) {
			const ctx = 2000
			shape := KVShape{Layers: 1, KVHeads: 3, QueryHeads: 9, HeadDim: 64, MaxTokens: 2100}
			st := newStore(t, shape, layout)
			rng := rand.New(rand.NewPCG(21, uint64(layout)))
			vec := randVec(rng, shape.HeadDim)
			for g := range shape.KVHeads {
				for slot := range ctx {
					st.Write(0, g, slot, vec, vec)
				}
			}
			st.EndStep()
			spec, tpg := st.Spec(), st.pl.g.partitions
			for i := range 120 {
				h := rng.IntN(shape.KVHeads)
				groups := randomGroups(rng, ctx/tpg)
				var slots []int
				for _, g := range groups {
					for s := g * tpg; s < (g+1)*tpg; s++ {
						if rng.IntN(3) > 0 || s == g*tpg {
							slots = append(slots, s)
						}
					}
				}
				st.Charge(0, h, slots)
				got := st.EndStep()

				var cnt CommandCounter
				d := NewDevice(spec)
				d.AddObserver(&cnt)
				cycles := newRefController(d).Run(st.pl.requests(groups, st.queries))
				reps := int64(st.replicas)
				var energy float64
				for cmd := Command(0); cmd < numCommands; cmd++ {
					energy += float64(cnt.N[cmd]) * CommandEnergyPJ(spec, cmd, st.queries)
				}
				var want CommandCounts
				want.add(&cnt.N, reps)
				switch {
				case got.LatencyCycles != cycles:
					t.Fatalf("read %d (groups %v): %d cycles, reference engine %d", i, groups, got.LatencyCycles, cycles)
				case got.Commands != want:
					t.Fatalf("read %d (groups %v): commands %+v, reference engine %+v", i, groups, got.Commands, want)
				case got.RowActivations != cnt.N[CmdACTAB]*reps:
					t.Fatalf("read %d: %d rows activated, reference engine %d", i, got.RowActivations, cnt.N[CmdACTAB]*reps)
				case got.BytesFetched != cnt.N[CmdMACAB]*int64(spec.Org.BanksPerChannel()*spec.Org.ColumnBytes)*reps:
					t.Fatalf("read %d: %d bytes fetched for %d MACs", i, got.BytesFetched, cnt.N[CmdMACAB])
				case got.EnergyPJ != energy*float64(reps):
					t.Fatalf("read %d: %v pJ, reference engine %v pJ", i, got.EnergyPJ, energy*float64(reps))
				}
			}
		})
	}
}

// BenchmarkSparseReadEngine times the command-level engine on STARC-like
// reads of a SmolLM2-shaped store at a 2048-token context (about 38 of 132
// groups: scattered clusters and the recent tokens, GQA layout, 3 query
// heads per read), the KV store's way (reused device, twin-skipping
// scheduler) against the reference scheduler on a fresh device, in
// alternation, and reports each one's CPU time per read and their ratio.
func BenchmarkSparseReadEngine(b *testing.B) {
	s := HBM3PIM(true)
	pl := newPlacement(s, 64, 2112)
	rng := rand.New(rand.NewPCG(3, 4))
	var patterns [][]int
	for range 200 {
		var g []int
		recent := 8 + rng.IntN(20)
		for x := 0; x < 128-recent; x += 1 + rng.IntN(6) {
			for run := 1 + rng.IntN(2); run > 0 && x < 128-recent; run-- {
				g = append(g, x)
				x++
			}
		}
		for x := 128 - recent; x < 128; x++ {
			g = append(g, x)
		}
		patterns = append(patterns, g)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sim := newSimulator(s)
	var ref, fast time.Duration
	for b.Loop() {
		for _, g := range patterns {
			t0 := threadCPUTime()
			d := NewDevice(s)
			var cnt CommandCounter
			d.AddObserver(&cnt)
			want := newRefController(d).Run(pl.requests(g, 3))
			t1 := threadCPUTime()
			got := pl.simulateOn(sim, g, 3)
			t2 := threadCPUTime()
			if got.cycles != want || got.n != cnt.N {
				b.Fatalf("groups %v: %d cycles %v, reference %d cycles %v", g, got.cycles, got.n, want, cnt.N)
			}
			ref, fast = ref+t1-t0, fast+t2-t1
		}
	}
	n := float64(b.N * len(patterns))
	b.ReportMetric(float64(ref.Microseconds())/n, "ref-cpu-µs/read")
	b.ReportMetric(float64(fast.Microseconds())/n, "cpu-µs/read")
	b.ReportMetric(float64(ref)/float64(fast), "speedup")
}

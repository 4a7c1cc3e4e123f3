package pim

import (
	"fmt"
	"testing"
)

var benchSink int64

// One decode step of Mistral-7B at 32K context, batch 16, as AttAcc models
// it: 64 attention heads per AttAcc device, 13 per HBM stack, one head per
// channel, all channels and all 32 layers running the same trace in lock
// step, so one channel's command-level simulation gives the step's
// attention time (AttAcc + Ramulator2 took about 15 s per step for this on
// this machine, attacc.md §8).
func BenchmarkDecodeStepMistral7B32K(b *testing.B) {
	s := HBM3PIM(true)
	R := ceilDiv(32768, 16)
	var cycles int64
	for b.Loop() {
		cycles, _ = SimulateAttention(s, R)
	}
	benchSink = cycles
	b.ReportMetric(float64(cycles), "cycles")
}

func BenchmarkClosedForm(b *testing.B) {
	s := HBM3PIM(true)
	for _, R := range []int{64, 2048} {
		b.Run(fmt.Sprintf("R=%d", R), func(b *testing.B) {
			for b.Loop() {
				c, _ := ClosedFormAttention(s, R)
				benchSink += c
			}
		})
	}
}

// One decode step of SmolLM2-135M (30 layers × 3 KV heads of dim 64, 9
// query heads) at 512 tokens of context, full attention: one Read per
// (layer, KV head) of all 512 slots, then EndStep. The first iteration
// fills the pattern cache, as the first decode step of a run would.
func BenchmarkKVStoreStepSmolLM2(b *testing.B) {
	for _, layout := range []Layout{LayoutGQA, LayoutAttAcc} {
		b.Run(layout.String(), func(b *testing.B) {
			st, slots := smolStore512(b, layout)
			sh := st.Shape()
			dk, dv := make([]float32, len(slots)*sh.HeadDim), make([]float32, len(slots)*sh.HeadDim)
			b.SetBytes(int64(sh.Layers * sh.KVHeads * len(slots) * sh.HeadDim * 2 * 2))
			for b.Loop() {
				for l := 0; l < sh.Layers; l++ {
					for h := 0; h < sh.KVHeads; h++ {
						st.Read(l, h, slots, dk, dv)
					}
				}
				benchSink += st.EndStep().LatencyCycles
			}
		})
	}
}

// The accounting alone (Charge, no data copy) for the same step.
func BenchmarkKVStoreChargeStepSmolLM2(b *testing.B) {
	st, slots := smolStore512(b, LayoutGQA)
	sh := st.Shape()
	for b.Loop() {
		for l := 0; l < sh.Layers; l++ {
			for h := 0; h < sh.KVHeads; h++ {
				st.Charge(l, h, slots)
			}
		}
		benchSink += st.EndStep().LatencyCycles
	}
}

// smolStore512 is a SmolLM2-shaped store (30 layers, 3 KV heads of 64)
// holding 512 tokens per (layer, KV head), and the slots 0..511.
func smolStore512(b *testing.B, layout Layout) (*KVStore, []int) {
	b.Helper()
	sh := KVShape{Layers: 30, KVHeads: 3, QueryHeads: 9, HeadDim: 64, MaxTokens: 2048}
	st, err := NewKVStore(HBM3PIM(true), sh, layout)
	if err != nil {
		b.Fatal(err)
	}
	const ctx = 512
	vec := make([]float32, sh.HeadDim)
	for l := 0; l < sh.Layers; l++ {
		for h := 0; h < sh.KVHeads; h++ {
			for s := 0; s < ctx; s++ {
				vec[s%sh.HeadDim] = float32(s)
				st.Write(l, h, s, vec, vec)
			}
		}
	}
	slots := make([]int, ctx)
	for i := range slots {
		slots[i] = i
	}
	st.EndStep() // the writes are not part of the measured step
	return st, slots
}

// Cost of a cache-missing pattern (a STARC-like scattered selection).
func BenchmarkSimulatePatternScattered(b *testing.B) {
	s := HBM3PIM(true)
	var groups []int
	for g := 0; g < 128; g += 5 {
		groups = append(groups, g)
	}
	p := AttentionPattern{HeadDim: 64, MaxTokens: 2048, Groups: groups, Queries: 3}
	for b.Loop() {
		c, _, _ := SimulatePattern(s, p)
		benchSink += c
	}
}

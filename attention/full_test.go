package attention

import (
	"fmt"
	"slices"
	"testing"

	"starc/pim"
)

// Full attention in a sparse layer reads like a dense layer when nobody
// watches its selections: the same outputs bit for bit and the same reads
// reported as with an OnSelect observer attached (which makes the Engine
// ask the method for each head's selection), over a store read in place
// and the device's FP16 cells, with and without a sliding window.
func TestFullUnobservedEqualsSelecting(t *testing.T) {
	cfg := Config{Layers: 3, QueryHeads: 6, KVHeads: 2, HeadDim: 64, MaxTokens: 90, DenseLayers: 1}
	for _, device := range []bool{false, true} {
		for _, window := range []int{0, 7} {
			t.Run(fmt.Sprintf("device=%v/window%d", device, window), func(t *testing.T) {
				run := newWindowRun(cfg, 40, 5)
				outputs := func(observe bool) (out [][]float32, reads [][]int) {
					var store Store
					store, err := NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, cfg.MaxTokens)
					if device {
						store, err = NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
					}
					if err != nil {
						t.Fatal(err)
					}
					e, err := NewEngine(cfg, store, mustNewMethod(t, "full", cfg), nil)
					if err != nil {
						t.Fatal(err)
					}
					e.SetSlidingWindow(window)
					selections := 0
					if observe {
						e.OnSelect(func(_, _, _ int, _ []int) { selections++ })
					}
					e.OnRead(func(layer, kvHead, n int, slots []int) {
						reads = append(reads, append([]int{layer, kvHead, n}, slots...))
					})
					run.drive(e, 16, func(_, _ int, o []float32) { out = append(out, slices.Clone(o)) })
					if observe && selections == 0 {
						t.Fatal("the OnSelect observer was never called")
					}
					return out, reads
				}
				want, wantReads := outputs(true)
				got, gotReads := outputs(false)
				for i := range want {
					if !slices.Equal(got[i], want[i]) {
						t.Fatalf("output %d: unobserved %v, selecting %v", i, got[i][:4], want[i][:4])
					}
				}
				if len(gotReads) != len(wantReads) {
					t.Fatalf("%d reads reported, selecting %d", len(gotReads), len(wantReads))
				}
				for i := range wantReads {
					if !slices.Equal(gotReads[i], wantReads[i]) {
						t.Fatalf("read %d: unobserved %v, selecting %v", i, gotReads[i][:3], wantReads[i][:3])
					}
				}
			})
		}
	}
}

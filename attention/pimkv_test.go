package attention

import (
	"math/rand/v2"
	"testing"

	"starc/pim"
)

// f16Dense is the dense store holding what the device holds: FP16-rounded
// vectors. Against it the device store must be exact.
type f16Dense struct {
	*Dense
	k, v []float32
}

func (d *f16Dense) Write(layer, kvHead, slot int, k, v []float32) {
	d.k, d.v = d.k[:0], d.v[:0]
	for i := range k {
		d.k = append(d.k, pim.F16Round(k[i]))
		d.v = append(d.v, pim.F16Round(v[i]))
	}
	d.Dense.Write(layer, kvHead, slot, d.k, d.v)
}

// The KV cache in the device gives exactly the attention outputs of a
// dense cache holding the same FP16-rounded vectors, for every method,
// including STARC's physical remap of clusters into device rows.
func TestPIMStoreEqualsDenseFP16(t *testing.T) {
	cfg := Config{Layers: 3, QueryHeads: 4, KVHeads: 2, HeadDim: 64, MaxTokens: 400, Budget: 64, DenseLayers: 1}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			run := func(store Store) [][]float32 {
				m, err := New(name, cfg)
				if err != nil {
					t.Fatal(err)
				}
				e, err := NewEngine(cfg, store, m, nil)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(7, 7))
				vec := func(n int) []float32 {
					x := make([]float32, n)
					for i := range x {
						x[i] = float32(rng.NormFloat64())
					}
					return x
				}
				qd, kvd := cfg.QueryHeads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
				const prompt = 100
				var outs [][]float32
				for l := range cfg.Layers {
					out := make([]float32, prompt*qd)
					e.Prefill(l, 0, prompt, vec(prompt*qd), vec(prompt*kvd), vec(prompt*kvd), out)
				}
				for pos := prompt; pos < cfg.MaxTokens; pos++ {
					for l := range cfg.Layers {
						out := make([]float32, qd)
						e.Decode(l, pos, vec(qd), vec(kvd), vec(kvd), out)
						outs = append(outs, out)
					}
				}
				return outs
			}
			dense, err := NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, cfg.MaxTokens)
			if err != nil {
				t.Fatal(err)
			}
			device, err := NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
			if err != nil {
				t.Fatal(err)
			}
			want, got := run(&f16Dense{Dense: dense}), run(device)
			for i := range want {
				for j := range want[i] {
					if got[i][j] != want[i][j] {
						t.Fatalf("step/layer %d element %d: device %g, dense FP16 %g", i, j, got[i][j], want[i][j])
					}
				}
			}
		})
	}
}

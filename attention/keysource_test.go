package attention

import (
	"math/rand/v2"
	"testing"

	"starc/pim"
)

// unbound hides a method's keyReader, so that it keeps its own copy of the
// keys: the behaviour before methods read the store's keys.
type unbound struct{ Method }

// Methods reading the store's keys (bound by the Engine) attend exactly as
// they do with their own float32 copy, over the dense store; over the
// device they keep no float32 keys at all.
func TestMethodsReadTheStoresKeys(t *testing.T) {
	cfg := Config{Layers: 3, QueryHeads: 6, KVHeads: 2, HeadDim: 64, MaxTokens: 420, Budget: 80, DenseLayers: 1}
	for _, name := range []string{"starc", "topk", "sparq"} {
		t.Run(name, func(t *testing.T) {
			run := func(store Store, wrap bool) (Method, [][]float32) {
				m, err := New(name, cfg)
				if err != nil {
					t.Fatal(err)
				}
				inner := m
				if wrap {
					m = unbound{m}
				}
				e, err := NewEngine(cfg, store, m, nil)
				if err != nil {
					t.Fatal(err)
				}
				return inner, decodeRandom(e, cfg, 150, 9)
			}
			dense := func() Store {
				d, err := NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, cfg.MaxTokens)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			_, want := run(dense(), true)
			_, got := run(dense(), false)
			for i := range want {
				for j := range want[i] {
					if got[i][j] != want[i][j] {
						t.Fatalf("step/layer %d element %d: reading the store's keys %g, own copy %g", i, j, got[i][j], want[i][j])
					}
				}
			}
			device, err := NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := run(device, false)
			if kept := keptKeys(m); kept != 0 {
				t.Errorf("over the device, %s keeps %d float32 key values", name, kept)
			}
			if m, _ := run(dense(), true); keptKeys(m) == 0 {
				t.Errorf("unbound, %s keeps no keys: the check above proves nothing", name)
			}
		})
	}
}

// keptKeys is the number of float32 key values a method holds as copies.
func keptKeys(m Method) int {
	n := 0
	switch m := m.(type) {
	case *topK:
		for _, kl := range m.keys {
			n += cap(kl.keys)
		}
	case *starc:
		for _, g := range m.groups {
			n += cap(g.keys.keys)
		}
	case *sparq:
		for _, g := range m.groups {
			n += cap(g.cols)
		}
	}
	return n
}

// decodeRandom prefills prompt random tokens into every layer of e and
// decodes the rest of its capacity, returning every decode output.
func decodeRandom(e *Engine, cfg Config, prompt int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, seed))
	vec := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	qd, kvd := cfg.QueryHeads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	for l := range cfg.Layers {
		e.Prefill(l, 0, prompt, vec(prompt*qd), vec(prompt*kvd), vec(prompt*kvd), make([]float32, prompt*qd))
	}
	var outs [][]float32
	for pos := prompt; pos < cfg.MaxTokens; pos++ {
		for l := range cfg.Layers {
			out := make([]float32, qd)
			e.Decode(l, pos, vec(qd), vec(kvd), vec(kvd), out)
			outs = append(outs, out)
		}
	}
	return outs
}

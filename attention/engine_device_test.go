package attention

import (
	"math/rand/v2"
	"testing"

	"starc/model/kernels"
	"starc/pim"
)

// uncharged is the device store with its cost model switched off, so that
// an allocation test sees attention's own reads of the device's bytes.
type uncharged struct{ *PIM }

func (uncharged) Charge(int, int, []int) {}

// A decode step over the device store reads the FP16 bytes in place: no
// allocation, for every method, whatever the thread count. The device's
// cost model is tested separately below, since it builds a simulated
// device the first time it meets an access pattern.
func TestDecodeOnDeviceAllocatesNothing(t *testing.T) {
	cfg := Config{Layers: 3, QueryHeads: 9, KVHeads: 3, HeadDim: 64, MaxTokens: 600, Budget: 96, DenseLayers: 1}
	for _, name := range Names() {
		for _, threads := range []int{1, 2} {
			t.Run(name+"/"+string(rune('0'+threads)), func(t *testing.T) {
				device, err := NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
				if err != nil {
					t.Fatal(err)
				}
				pool := kernels.NewPool(threads)
				defer pool.Close()
				d := newDecoder(t, cfg, name, uncharged{device}, pool, 300)
				for range 10 { // method scratch grows (amortised) with the first pages
					d.step()
				}
				if a := testing.AllocsPerRun(20, d.step); a != 0 {
					t.Errorf("%v allocations per decode step", a)
				}
			})
		}
	}
}

// With the cost model on, a step whose access pattern the device has
// already costed allocates nothing either: full attention at positions
// that fill the same 16-slot row groups.
func TestDecodeOnChargedDeviceAllocatesNothing(t *testing.T) {
	cfg := Config{Layers: 3, QueryHeads: 9, KVHeads: 3, HeadDim: 64, MaxTokens: 600}
	device, err := NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(t, cfg, "full", device, nil, 320)
	d.step() // slots 0..320: row groups 0..20, costed once
	if a := testing.AllocsPerRun(10, d.step); a != 0 {
		t.Errorf("%v allocations per decode step", a)
	}
}

type decoder struct {
	e            *Engine
	cfg          Config
	pos          int
	q, k, v, out []float32
}

// newDecoder prefills prompt random tokens into an Engine over store.
func newDecoder(t *testing.T, cfg Config, method string, store Store, pool *kernels.Pool, prompt int) *decoder {
	t.Helper()
	m, err := New(method, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(cfg, store, m, pool)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
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
	return &decoder{e: e, cfg: cfg, pos: prompt, q: vec(qd), k: vec(kvd), v: vec(kvd), out: make([]float32, qd)}
}

func (d *decoder) step() {
	for l := range d.cfg.Layers {
		d.e.Decode(l, d.pos, d.q, d.k, d.v, d.out)
	}
	if dev, ok := d.e.store.(*PIM); ok {
		dev.EndStep()
	}
	d.pos++
}

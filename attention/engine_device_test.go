package attention

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

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
func newDecoder(t testing.TB, cfg Config, method string, store Store, pool *kernels.Pool, prompt int) *decoder {
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

// BenchmarkDecodeStores is the attention of one decode step (all 30 layers
// of SmolLM2-135M's shape, one thread) over the dense store, the device
// store, and the device store with its cost model off ("uncharged"), at
// 512, 2048 and 8000 cached tokens: what reading FP16 rows in place costs
// against float32 rows, and what the device's command-level charge adds.
// The cpu-ms/step metric is process CPU time, steadier than ns/op on a
// shared machine.
func BenchmarkDecodeStores(b *testing.B) {
	for _, n := range []int{512, 2048, 8000} {
		for _, method := range []string{"full", "starc"} {
			for _, kind := range []string{"dense", "device", "uncharged"} {
				b.Run(fmt.Sprintf("n=%d/%s/%s", n, method, kind), func(b *testing.B) {
					cfg := Config{Layers: 30, QueryHeads: 9, KVHeads: 3, HeadDim: 64, MaxTokens: n + 1000, DenseLayers: 2}
					if method == "starc" {
						cfg.Budget = 256
					}
					var store Store
					device, err := NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
					if err != nil {
						b.Fatal(err)
					}
					switch kind {
					case "dense":
						if store, err = NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, cfg.MaxTokens); err != nil {
							b.Fatal(err)
						}
					case "device":
						store = device
					default:
						store = uncharged{device}
					}
					d := newDecoder(b, cfg, method, store, nil, n)
					d.step()
					c0 := processCPU()
					for i := 0; b.Loop(); i++ {
						if d.pos == cfg.MaxTokens {
							b.Fatal("capacity reached: use a smaller -benchtime")
						}
						d.step()
					}
					b.ReportMetric(float64(processCPU()-c0)/1e6/float64(b.N), "cpu-ms/step")
				})
			}
		}
	}
}

// processCPU is the user + system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

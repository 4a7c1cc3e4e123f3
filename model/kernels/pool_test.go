package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
)

// coverTask counts visits per index and flags malformed calls.
type coverTask struct {
	visits  []atomic.Int32
	threads int
	bad     atomic.Bool
}

func (c *coverTask) Do(worker, lo, hi int) {
	if worker < 0 || worker >= c.threads || lo >= hi || lo < 0 || hi > len(c.visits) {
		c.bad.Store(true)
		return
	}
	for i := lo; i < hi; i++ {
		c.visits[i].Add(1)
	}
}

func TestPoolRunVisitsEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 5} {
		p := NewPool(threads)
		if p.Threads() != threads {
			t.Fatalf("Threads() = %d, want %d", p.Threads(), threads)
		}
		for _, n := range []int{0, 1, 2, 3, 7, 100, 1000} {
			task := &coverTask{visits: make([]atomic.Int32, n), threads: threads}
			for rep := range 50 { // back-to-back Runs: workers must not mix generations
				for i := range task.visits {
					task.visits[i].Store(0)
				}
				p.Run(n, task)
				if task.bad.Load() {
					t.Fatalf("threads=%d n=%d: bad worker id or range", threads, n)
				}
				for i := range task.visits {
					if v := task.visits[i].Load(); v != 1 {
						t.Fatalf("threads=%d n=%d run %d: index %d visited %d times, want 1", threads, n, rep, i, v)
					}
				}
			}
		}
		p.Close()
		p.Close() // idempotent
	}
}

func TestPoolMatVecEqualsMatVec(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	forEachLevel(t, func(t *testing.T) {
		for _, dt := range allTypes {
			// 2053×97 is over minParallelWeights: split across the workers.
			for _, sh := range [][2]int{{1, 65}, {5, 65}, {13, 65}, {577, 65}, {2053, 97}} {
				rows, cols := sh[0], sh[1]
				rng := rand.New(rand.NewPCG(uint64(rows), 21))
				w, _ := randMatrix(rng, dt, rows, cols)
				x := randVec(rng, cols)
				want := make([]float32, rows)
				MatVec(want, w, x)
				got, check := guarded(rows)
				p.MatVec(got, w, x)
				check(t)
				for r := range got {
					if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
						t.Fatalf("%v rows=%d: row %d: pool %v, serial %v", dt, rows, r, got[r], want[r])
					}
				}
			}
		}
	})
}

// MatVecs equals one MatVec per product, bit for bit: products of mixed
// types and sizes (some over minParallelWeights, some under, together
// under and over), pools of 1 and 3 threads.
func TestPoolMatVecsEqualsMatVec(t *testing.T) {
	cases := []struct {
		name  string
		cols  int
		types []DType
		rows  []int
	}{
		{"qkv", 97, []DType{BF16, BF16, BF16}, []int{1031, 343, 343}},
		{"gate-up", 65, []DType{BF16, BF16}, []int{2053, 2053}},
		{"small", 33, []DType{BF16, BF16, BF16}, []int{5, 3, 3}},
		{"mixed", 161, []DType{F32, BF16, F16, BF16}, []int{301, 1200, 7, 400}},
		{"one", 31, []DType{BF16}, []int{4099}},
	}
	for _, threads := range []int{1, 3} {
		p := NewPool(threads)
		forEachLevel(t, func(t *testing.T) {
			for _, c := range cases {
				rng := rand.New(rand.NewPCG(uint64(c.cols), uint64(threads)))
				x := randVec(rng, c.cols)
				prods := make([]Product, len(c.rows))
				want := make([][]float32, len(c.rows))
				checks := make([]func(*testing.T), len(c.rows))
				for i, rows := range c.rows {
					w, _ := randMatrix(rng, c.types[i], rows, c.cols)
					want[i] = make([]float32, rows)
					MatVec(want[i], w, x)
					prods[i].W = w
					prods[i].Dst, checks[i] = guarded(rows)
				}
				p.MatVecs(x, prods...)
				for i := range prods {
					checks[i](t)
					for r, got := range prods[i].Dst {
						if math.Float32bits(got) != math.Float32bits(want[i][r]) {
							t.Fatalf("threads=%d %s: product %d row %d: MatVecs %v, MatVec %v", threads, c.name, i, r, got, want[i][r])
						}
					}
				}
			}
		})
		p.Close()
	}
}

func TestMatVecRowsWritesOnlyItsRows(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 22))
		w, _ := randMatrix(rng, BF16, 23, 33)
		x := randVec(rng, 33)
		want := make([]float32, 23)
		MatVec(want, w, x)
		for _, span := range [][2]int{{0, 0}, {0, 23}, {3, 4}, {5, 18}, {22, 23}} {
			dst, check := guarded(23)
			for i := range dst {
				dst[i] = -7
			}
			MatVecRows(dst, w, x, span[0], span[1])
			check(t)
			for r, got := range dst {
				in := r >= span[0] && r < span[1]
				if in && got != want[r] || !in && got != -7 {
					t.Fatalf("rows %v: dst[%d] = %v (want %v in range, -7 outside)", span, r, got, want[r])
				}
			}
		}
	})
}

// TestMisusePanics checks that shape errors panic with the package prefix.
func TestMisusePanics(t *testing.T) {
	w := Matrix{Rows: 2, Cols: 3, DType: BF16, U16: make([]uint16, 6)}
	short := Matrix{Rows: 2, Cols: 3, DType: F32, F32: make([]float32, 5)}
	p := NewPool(2)
	defer p.Close()
	cases := []struct {
		name string
		f    func()
	}{
		{"MatVec short x", func() { MatVec(make([]float32, 2), w, make([]float32, 2)) }},
		{"MatVec short dst", func() { MatVec(make([]float32, 1), w, make([]float32, 3)) }},
		{"MatVec bad storage", func() { MatVec(make([]float32, 2), short, make([]float32, 3)) }},
		{"MatVecRows bad range", func() { MatVecRows(make([]float32, 2), w, make([]float32, 3), 1, 3) }},
		{"MatMul short x", func() { MatMul(make([]float32, 4), w, make([]float32, 5), 2) }},
		{"Pool.MatMul short dst", func() { p.MatMul(make([]float32, 3), w, make([]float32, 6), 2) }},
		{"Pool.MatVec short x", func() { p.MatVec(make([]float32, 2), w, make([]float32, 4)) }},
		{"RowTo out of range", func() { w.RowTo(make([]float32, 3), 2) }},
		{"Dot lengths", func() { Dot(make([]float32, 3), make([]float32, 4)) }},
		{"RMSNorm weight", func() { RMSNorm(make([]float32, 3), make([]float32, 3), make([]float32, 2), 1e-5) }},
		{"RoPE odd head", func() { RoPEHalf(make([]float32, 5), make([]float32, 2), make([]float32, 2)) }},
		{"BF16ToF32 lengths", func() { BF16ToF32(make([]float32, 2), make([]uint16, 3)) }},
		{"NewPool zero", func() { NewPool(0) }},
		{"Argmax empty", func() { Argmax(nil) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, "kernels: ") {
					t.Errorf("panic = %v, want a string starting with %q", r, "kernels: ")
				}
			}()
			c.f()
		})
	}
}

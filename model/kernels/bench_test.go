package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// Benchmarks at the SmolLM-135M shapes (hidden 576, kv 192, mlp 1536,
// vocab 49152). Weights are generated once per shape; 49152x576 does not fit
// in cache, so it measures DRAM streaming.

var matVecShapes = [][2]int{{576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}}

var benchSink float32

func BenchmarkMatVec(b *testing.B) {
	for _, dt := range []DType{BF16, F16, F32} {
		for _, sh := range matVecShapes {
			rows, cols := sh[0], sh[1]
			b.Run(fmt.Sprintf("%s/%dx%d", lower(dt), rows, cols), func(b *testing.B) {
				benchMatVec(b, dt, rows, cols, nil)
			})
		}
	}
}

// BenchmarkPoolMatVec splits the rows over a pool of 1 and 2 workers.
func BenchmarkPoolMatVec(b *testing.B) {
	for _, threads := range []int{1, 2} {
		p := NewPool(threads)
		for _, sh := range matVecShapes {
			rows, cols := sh[0], sh[1]
			b.Run(fmt.Sprintf("threads=%d/bf16/%dx%d", threads, rows, cols), func(b *testing.B) {
				benchMatVec(b, BF16, rows, cols, p)
			})
		}
		p.Close()
	}
}

func benchMatVec(b *testing.B, dt DType, rows, cols int, p *Pool) {
	rng := rand.New(rand.NewPCG(1, 1))
	w, _ := randMatrix(rng, dt, rows, cols)
	x := randVec(rng, cols)
	dst := make([]float32, rows)
	b.SetBytes(int64(w.Bytes()))
	cpu := startCPUClock(p)
	for b.Loop() {
		if p != nil {
			p.MatVec(dst, w, x)
		} else {
			MatVec(dst, w, x)
		}
	}
	reportFLOPS(b, 2*float64(rows*cols), cpu)
	benchSink = dst[0]
}

// matMulShapes are n×k×m: n activations of width k against an m×k weight.
var matMulShapes = [][3]int{{128, 576, 1536}, {512, 576, 576}, {512, 576, 1536}, {512, 1536, 576}}

func BenchmarkMatMul(b *testing.B) {
	for _, sh := range matMulShapes {
		b.Run(fmt.Sprintf("bf16/%dx%dx%d", sh[0], sh[1], sh[2]), func(b *testing.B) {
			benchMatMul(b, BF16, sh, nil)
		})
	}
}

func BenchmarkPoolMatMul(b *testing.B) {
	for _, threads := range []int{1, 2} {
		p := NewPool(threads)
		for _, sh := range matMulShapes {
			b.Run(fmt.Sprintf("threads=%d/bf16/%dx%dx%d", threads, sh[0], sh[1], sh[2]), func(b *testing.B) {
				benchMatMul(b, BF16, sh, p)
			})
		}
		p.Close()
	}
}

func benchMatMul(b *testing.B, dt DType, sh [3]int, p *Pool) {
	n, k, m := sh[0], sh[1], sh[2]
	rng := rand.New(rand.NewPCG(1, 1))
	w, _ := randMatrix(rng, dt, m, k)
	x := randVec(rng, n*k)
	dst := make([]float32, n*m)
	b.SetBytes(int64(w.Bytes()))
	MatMul(dst, w, x, n) // warm-up: size the scratch buffer
	cpu := startCPUClock(p)
	for b.Loop() {
		if p != nil {
			p.MatMul(dst, w, x, n)
		} else {
			MatMul(dst, w, x, n)
		}
	}
	reportFLOPS(b, 2*float64(n*k*m), cpu)
	benchSink = dst[0]
}

// cpuClock measures the benchmark goroutine's thread CPU time when the
// work runs on that thread alone (no pool, or a one-thread pool).
type cpuClock struct {
	start time.Duration
	on    bool
}

func startCPUClock(p *Pool) cpuClock {
	if p != nil && p.Threads() > 1 {
		return cpuClock{}
	}
	runtime.LockOSThread()
	return cpuClock{start: threadCPUTime(), on: true}
}

// reportFLOPS reports GFLOP/s over wall time and, when measured, over the
// thread's CPU time ("cpu-GFLOP/s": the rate while the core was ours, the
// steadier figure on a shared machine).
func reportFLOPS(b *testing.B, flopsPerOp float64, c cpuClock) {
	total := flopsPerOp * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if c.on {
		if used := threadCPUTime() - c.start; used > 0 {
			b.ReportMetric(total/used.Seconds()/1e9, "cpu-GFLOP/s")
		}
		runtime.UnlockOSThread()
	}
}

func lower(t DType) string {
	switch t {
	case BF16:
		return "bf16"
	case F16:
		return "f16"
	}
	return "f32"
}

// BenchmarkPoolRun is the dispatch cost of one Run with (almost) no work:
// waking the workers, claiming chunks and waiting for the last one.
func BenchmarkPoolRun(b *testing.B) {
	for _, threads := range []int{1, 2} {
		p := NewPool(threads)
		task := &runTask{}
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			for b.Loop() {
				p.Run(64, task)
			}
		})
		p.Close()
	}
}

// BenchmarkMatVecBatch compares, at the batched decode step's shapes (B
// vectors against SmolLM2's projections, bf16), MatVecBatch (MatVec's
// numbers for every vector) with MatMul (the GEMM, another summation
// order), on one thread, at each SIMD level this CPU runs: cpu-GFLOP/s is
// the steadier figure.
func BenchmarkMatVecBatch(b *testing.B) {
	for _, l := range levels()[1:] {
		for _, n := range []int{5, 8, 16} {
			for _, sh := range matVecShapes {
				rows, cols := sh[0], sh[1]
				rng := rand.New(rand.NewPCG(1, 1))
				w, _ := randMatrix(rng, BF16, rows, cols)
				x := randVec(rng, n*cols)
				dst := make([]float32, n*rows)
				for _, kind := range []string{"MatVecBatch", "MatMul"} {
					f := func() { MatVecBatch(dst, w, x, n) }
					if kind == "MatMul" {
						f = func() { MatMul(dst, w, x, n) }
					}
					b.Run(fmt.Sprintf("%s/n=%d/%dx%d/%s", l, n, rows, cols, kind), func(b *testing.B) {
						old := active
						active = l
						defer func() { active = old }()
						f() // warm-up: size the scratch buffers
						b.SetBytes(int64(w.Bytes()))
						cpu := startCPUClock(nil)
						for b.Loop() {
							f()
						}
						reportFLOPS(b, 2*float64(n*rows*cols), cpu)
					})
				}
			}
		}
	}
}

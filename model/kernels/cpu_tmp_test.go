package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

func threadCPU() time.Duration { return threadCPUTime() }

func cpuRate(f func(), flops float64, reps int) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	best := 0.0
	for range 5 {
		t0 := threadCPU()
		for range reps {
			f()
		}
		d := threadCPU() - t0
		if g := flops * float64(reps) / d.Seconds() / 1e9; g > best {
			best = g
		}
	}
	return best
}

func TestStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	w, _ := randMatrix(rng, BF16, 49152, 576)
	wf, _ := randMatrix(rng, F32, 49152, 576)
	x := randVec(rng, 576)
	a := randVec(rng, 49152*576/2)
	dst := make([]float32, 49152)
	for range 3 {
		g := cpuRate(func() { MatVec(dst, w, x) }, 2*49152*576, 5)
		g2 := cpuRate(func() { MatVec(dst, wf, x) }, 2*49152*576, 5)
		d := cpuRate(func() { benchSink = Dot(a, a) }, float64(len(a))*4, 5)
		long := Matrix{Rows: 1, Cols: 49152 * 576, DType: BF16, U16: w.U16}
		g3 := cpuRate(func() { MatVec(dst[:1], long, wf.F32) }, 2*49152*576, 5)
		wide := Matrix{Rows: 768, Cols: 36864, DType: BF16, U16: w.U16}
		g4 := cpuRate(func() { MatVec(dst[:768], wide, a[:36864]) }, 2*49152*576, 5)
		fmt.Printf("bf16 one long row %.1f GB/s; 768x36864 %.1f GB/s\n", g3, g4)
		fmt.Printf("bf16 matvec %.1f GB/s, f32 matvec %.1f GB/s, f32 dot same bytes %.1f GB/s\n", g, g2*2, d)
	}
}

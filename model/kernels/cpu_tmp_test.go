package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"golang.org/x/sys/unix"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

func TestPeak(t *testing.T) {
	fmt.Printf("peak512 %.1f GFLOP/s\n", cpuRate(func() { peakFMA512(1e6) }, 12*32*1e6, 5))
	fmt.Printf("peak256 %.1f GFLOP/s\n", cpuRate(func() { peakFMA256(1e6) }, 12*16*1e6, 5))
}

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

func TestCPUTune(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range matMulShapes {
		n, k, m := sh[0], sh[1], sh[2]
		w, _ := randMatrix(rng, BF16, m, k)
		x := randVec(rng, n*k)
		dst := make([]float32, n*m)
		g := cpuRate(func() { MatMul(dst, w, x, n) }, 2*float64(n*k*m), 20)
		fmt.Printf("matmul %v %.1f GFLOP/s (cpu time)\n", sh, g)
	}
	for _, sh := range matVecShapes {
		for _, dt := range allTypes {
			w, _ := randMatrix(rng, dt, sh[0], sh[1])
			x := randVec(rng, sh[1])
			dst := make([]float32, sh[0])
			g := cpuRate(func() { MatVec(dst, w, x) }, 2*float64(sh[0]*sh[1]), 20)
			fmt.Printf("matvec %v %v %.1f GFLOP/s (cpu time)\n", dt, sh, g)
		}
	}
}

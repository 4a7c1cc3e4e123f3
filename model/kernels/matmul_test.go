package kernels

import (
	"math/rand/v2"
	"testing"
)

// matMulShapesTest are n×k×m (activations × width × weight rows), chosen to
// hit every edge: n not a multiple of 4, m not a multiple of 3 or 4, K
// remainders for both vector widths, several panels, and n = 0.
var matMulShapesTest = [][3]int{
	{0, 16, 4}, {1, 1, 1}, {1, 17, 5}, {3, 33, 7}, {4, 16, 4}, {5, 31, 13}, {7, 63, 12},
	{9, 65, 25}, {17, 127, 31}, {8, 576, 24}, {6, 577, 15}, {13, 1536, 9}, {4, 1537, 300},
	{33, 64, 700}, // several panels at k = 64
}

func TestMatMulMatchesFloat64Reference(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	forEachLevel(t, func(t *testing.T) {
		for _, dt := range allTypes {
			for _, sh := range matMulShapesTest {
				n, k, m := sh[0], sh[1], sh[2]
				t.Run(dt.String()+"/"+sizeName(n, k, m), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(n), uint64(k*m)))
					w, ref := randMatrix(rng, dt, m, k)
					x := randVec(rng, n*k)
					for _, run := range []struct {
						name string
						f    func(dst []float32)
					}{
						{"MatMul", func(dst []float32) { MatMul(dst, w, x, n) }},
						{"Pool.MatMul", func(dst []float32) { pool.MatMul(dst, w, x, n) }},
					} {
						dst, check := guarded(n * m)
						run.f(dst)
						check(t)
						for i := range n {
							for r := range m {
								want, mag := refDot(ref[r*k:(r+1)*k], x[i*k:(i+1)*k])
								if got := dst[i*m+r]; !closeRel(got, want, mag, dotTol(k)) {
									t.Fatalf("%s: dst[%d][%d] = %v, want %v (Σ|w·x| = %v)", run.name, i, r, got, want, mag)
								}
							}
						}
					}
				})
			}
		}
	})
}

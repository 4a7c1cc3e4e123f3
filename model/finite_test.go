package model

import (
	"math"
	"testing"
)

// finite agrees with math.IsNaN/IsInf for every length, position and edge
// value (the largest finite float32s and the smallest subnormal included).
func TestFiniteMatchesMath(t *testing.T) {
	values := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 0}
	for n := 1; n < 40; n++ {
		for i := range n {
			for _, v := range values {
				x := make([]float32, n)
				for j := range x {
					x[j] = float32(j) - 7.5
				}
				x[i] = v
				want := !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
				if got := finite(x); got != want {
					t.Fatalf("len %d, x[%d] = %g: finite = %v", n, i, v, got)
				}
				// An odd offset: the uint64 view starts at a 4-byte boundary.
				if got := finite(x[1:]); i > 0 && got != want {
					t.Fatalf("len %d offset 1, x[%d] = %g: finite = %v", n-1, i, v, got)
				}
			}
		}
	}
	if !finite(nil) {
		t.Error("empty slice reported non-finite")
	}
}

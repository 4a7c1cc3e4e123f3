package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWeightedRowSum checks every path against the float64 sum written
// from the definition, over head dims that hit every column block and
// masked tail, and row counts that hit every row interleave. The bound is
// the package's reduction tolerance, dotTol(count) relative to
// Σ_j |w[j]·rows[j·dim+d]|. dst starts as garbage, so a kernel that adds
// instead of overwriting fails.
func TestWeightedRowSum(t *testing.T) {
	dims := []int{1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 127, 128, 129, 200, 1000, 4097}
	counts := []int{0, 1, 2, 3, 5, 7, 15, 17, 64, 65}
	type shape struct{ dim, count int }
	var shapes []shape
	for _, d := range dims {
		for _, c := range counts {
			shapes = append(shapes, shape{d, c})
		}
	}
	for _, c := range []int{1000, 4097} { // attention lengths at the common head dims
		shapes = append(shapes, shape{64, c}, shape{128, c}, shape{65, c})
	}
	forEachLevel(t, func(t *testing.T) {
		for _, sh := range shapes {
			rng := rand.New(rand.NewPCG(uint64(sh.dim), uint64(sh.count)))
			w, rows := randVec(rng, sh.count), randVec(rng, sh.count*sh.dim)
			dst, check := guarded(sh.dim)
			for i := range dst {
				dst[i] = 12345
			}
			WeightedRowSum(dst, w, rows, sh.dim)
			check(t)
			for d := range sh.dim {
				var want, mag float64
				for j, wj := range w {
					p := float64(wj) * float64(rows[j*sh.dim+d])
					want += p
					mag += math.Abs(p)
				}
				if !closeRel(dst[d], want, mag, dotTol(sh.count)) {
					t.Fatalf("dim=%d count=%d: dst[%d] = %v, want %v (Σ|w·v| = %v)", sh.dim, sh.count, d, dst[d], want, mag)
				}
			}
		}
	})
}

// TestWeightedRowSumTwin compares the SIMD paths with the plain-Go twin on
// the shapes attention uses, within the same bound.
func TestWeightedRowSumTwin(t *testing.T) {
	for _, dim := range []int{64, 128, 65, 17} {
		for _, count := range []int{1, 511, 4096} {
			rng := rand.New(rand.NewPCG(uint64(dim), uint64(count)))
			w, rows := randVec(rng, count), randVec(rng, count*dim)
			twin := make([]float32, dim)
			weightedRowSumGo(twin, w, rows, dim)
			for _, l := range levels()[1:] {
				got := make([]float32, dim)
				withLevel(l, func() { WeightedRowSum(got, w, rows, dim) })
				for d := range dim {
					var mag float64
					for j, wj := range w {
						mag += math.Abs(float64(wj) * float64(rows[j*dim+d]))
					}
					if !closeRel(got[d], float64(twin[d]), mag, 2*dotTol(count)) {
						t.Fatalf("%s dim=%d count=%d: [%d] = %v, twin %v", l, dim, count, d, got[d], twin[d])
					}
				}
			}
		}
	}
}

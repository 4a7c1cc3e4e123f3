package kernels

import (
	"math/rand/v2"
	"testing"
)

var allTypes = []DType{F32, F16, BF16}

func TestMatVecMatchesFloat64Reference(t *testing.T) {
	shapes := [][2]int{{1, 1}, {3, 7}, {5, 15}, {7, 17}, {4, 16}, {9, 31}, {6, 33}, {13, 63}, {2, 65}, {11, 127},
		{8, 576}, {7, 577}, {5, 1536}, {3, 1537}, {33, 8}, {17, 32}}
	forEachLevel(t, func(t *testing.T) {
		for _, dt := range allTypes {
			for _, sh := range shapes {
				rows, cols := sh[0], sh[1]
				t.Run(dt.String()+"/"+sizeName(rows, cols), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
					w, ref := randMatrix(rng, dt, rows, cols)
					x := randVec(rng, cols)
					dst, check := guarded(rows)
					MatVec(dst, w, x)
					check(t)
					for r := range rows {
						want, mag := refDot(ref[r*cols:(r+1)*cols], x)
						if !closeRel(dst[r], want, mag, dotTol(cols)) {
							t.Errorf("row %d: got %v, want %v (Σ|w·x| = %v)", r, dst[r], want, mag)
						}
					}
				})
			}
		}
	})
}

func TestSplitPairs(t *testing.T) {
	for _, n := range []int{32, 64, 96, 576} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		got := make([]float32, n)
		splitPairs(got, x)
		for b := 0; b < n; b += 32 {
			for i := range 16 {
				if got[b+i] != float32(b+2*i) || got[b+16+i] != float32(b+2*i+1) {
					t.Fatalf("n=%d block %d: got %v, want the block's even then odd elements", n, b/32, got[b:b+32])
				}
			}
		}
	}
	for _, c := range []struct{ dst, x int }{{31, 31}, {32, 33}, {64, 32}} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("splitPairs(len %d, len %d) did not panic", c.dst, c.x)
				}
			}()
			splitPairs(make([]float32, c.dst), make([]float32, c.x))
		}()
	}
}

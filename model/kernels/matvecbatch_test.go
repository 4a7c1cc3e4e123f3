package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// MatVecBatch and Pool.MatVecBatch compute every vector's product exactly
// as MatVec computes it alone, bit for bit, at every level and for every
// type: vector counts around the four-vector tiles (0 to 9, and 13),
// columns with and without a remainder past each kernel's blocks (16, 32,
// 64 wide), and weight rows spanning several panels and pool units.
func TestMatVecBatchEqualsMatVec(t *testing.T) {
	pool := NewPool(3)
	defer pool.Close()
	shapes := [][2]int{{1, 1}, {5, 7}, {3, 16}, {7, 31}, {9, 32}, {4, 33}, {17, 64}, {13, 96}, {6, 97},
		{65, 576}, {131, 577}, {20, 1536}, {300, 128}}
	counts := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13}
	forEachLevel(t, func(t *testing.T) {
		for _, dt := range allTypes {
			for _, sh := range shapes {
				rows, cols := sh[0], sh[1]
				rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
				w, _ := randMatrix(rng, dt, rows, cols)
				x := randVec(rng, 13*cols)
				for _, n := range counts {
					want := make([]float32, n*rows)
					for i := range n {
						MatVec(want[i*rows:(i+1)*rows], w, x[i*cols:(i+1)*cols])
					}
					for _, run := range []struct {
						name string
						f    func(dst []float32)
					}{
						{"MatVecBatch", func(dst []float32) { MatVecBatch(dst, w, x[:n*cols], n) }},
						{"Pool.MatVecBatch", func(dst []float32) { pool.MatVecBatch(dst, w, x[:n*cols], n) }},
					} {
						got, check := guarded(n * rows)
						run.f(got)
						check(t)
						for j := range got {
							if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
								t.Fatalf("%s %v %s n=%d: vector %d row %d: %v, MatVec %v",
									run.name, dt, sizeName(rows, cols), n, j/rows, j%rows, got[j], want[j])
							}
						}
					}
				}
			}
		}
	})
}

// A product large enough to split across the pool's workers (about 50
// units per worker) gives MatVec's numbers too.
func TestPoolMatVecBatchSplitEqualsMatVec(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	forEachLevel(t, func(t *testing.T) {
		for _, dt := range allTypes {
			const rows, cols, n = 1600, 576, 6
			rng := rand.New(rand.NewPCG(7, uint64(dt)))
			w, _ := randMatrix(rng, dt, rows, cols)
			x := randVec(rng, n*cols)
			got := make([]float32, n*rows)
			pool.MatVecBatch(got, w, x, n)
			want := make([]float32, rows)
			for i := range n {
				MatVec(want, w, x[i*cols:(i+1)*cols])
				for r, v := range want {
					if g := got[i*rows+r]; math.Float32bits(g) != math.Float32bits(v) {
						t.Fatalf("%v: vector %d row %d: %v, MatVec %v", dt, i, r, g, v)
					}
				}
			}
		}
	})
}

func TestMatVecBatchPanicsOnLengths(t *testing.T) {
	w := Matrix{Rows: 3, Cols: 4, DType: F32, F32: make([]float32, 12)}
	for _, c := range []struct {
		name   string
		dst, x int
		n      int
	}{{"short x", 6, 7, 2}, {"short dst", 5, 8, 2}, {"negative n", 0, 0, -1}} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("no panic")
				} else if s := fmt.Sprint(r); len(s) < 9 || s[:9] != "kernels: " {
					t.Errorf("panic %q lacks the kernels: prefix", s)
				}
			}()
			MatVecBatch(make([]float32, c.dst), w, make([]float32, c.x), c.n)
		})
	}
}

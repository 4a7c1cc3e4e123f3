package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The FP16-row kernels are specified twice: by their definition (checked
// against float64 sums of values widened by github.com/x448/float16) and
// as the float32 kernels on the widened rows (checked bit for bit, the
// property that makes a device-resident KV cache equal to a dense one).

var f16RowDims = []int{1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128, 129, 192, 200, 256}

var f16RowCounts = []int{0, 1, 2, 3, 4, 5, 7, 15, 17, 64, 65, 1000}

// randF16Rows returns n FP16 values in [-1, 1] and their widening by the
// reference converter.
func randF16Rows(rng *rand.Rand, n int) ([]uint16, []float32) {
	m, ref := randMatrix(rng, F16, 1, n)
	wide := make([]float32, n)
	for i := range ref {
		wide[i] = float32(ref[i])
	}
	return m.U16, wide
}

func TestDotRowsF16(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, dim := range f16RowDims {
			for _, count := range f16RowCounts {
				rng := rand.New(rand.NewPCG(uint64(dim), uint64(count)))
				rows, wide := randF16Rows(rng, count*dim)
				x := randVec(rng, dim)
				dst, check := guarded(count)
				for i := range dst {
					dst[i] = 12345
				}
				DotRowsF16(dst, rows, x)
				check(t)

				same := make([]float32, count)
				MatVec(same, Matrix{Rows: count, Cols: dim, DType: F32, F32: wide}, x)
				for j := range count {
					want, mag := refDot(f64(wide[j*dim:(j+1)*dim]), x)
					if !closeRel(dst[j], want, mag, dotTol(dim)) {
						t.Fatalf("dim=%d count=%d: row %d = %v, want %v (Σ|k·q| = %v)", dim, count, j, dst[j], want, mag)
					}
					if math.Float32bits(dst[j]) != math.Float32bits(same[j]) {
						t.Fatalf("dim=%d count=%d: row %d = %v, MatVec on the widened rows %v", dim, count, j, dst[j], same[j])
					}
				}
			}
		}
	})
}

func TestWeightedRowSumF16(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, dim := range f16RowDims {
			for _, count := range f16RowCounts {
				rng := rand.New(rand.NewPCG(uint64(dim), uint64(count)))
				rows, wide := randF16Rows(rng, count*dim)
				w := randVec(rng, count)
				dst, check := guarded(dim)
				for i := range dst {
					dst[i] = 12345
				}
				WeightedRowSumF16(dst, w, rows, dim)
				check(t)

				same := make([]float32, dim)
				WeightedRowSum(same, w, wide, dim)
				twin := make([]float32, dim)
				weightedRowSumF16Go(twin, w, rows, dim)
				exact := active == isaGeneric || dim%vectorWidth(active) == 0
				for d := range dim {
					var want, mag float64
					for j, wj := range w {
						p := float64(wj) * float64(wide[j*dim+d])
						want += p
						mag += math.Abs(p)
					}
					if !closeRel(dst[d], want, mag, dotTol(count)) {
						t.Fatalf("dim=%d count=%d: dst[%d] = %v, want %v (Σ|w·v| = %v)", dim, count, d, dst[d], want, mag)
					}
					if !closeRel(dst[d], float64(twin[d]), mag, 2*dotTol(count)) {
						t.Fatalf("dim=%d count=%d: dst[%d] = %v, twin %v", dim, count, d, dst[d], twin[d])
					}
					if exact && math.Float32bits(dst[d]) != math.Float32bits(same[d]) {
						t.Fatalf("dim=%d count=%d: dst[%d] = %v, WeightedRowSum on the widened rows %v", dim, count, d, dst[d], same[d])
					}
				}
			}
		}
	})
}

// Special values go through the kernels as through the float32 ones:
// subnormals, ±0, ±Inf and NaN rows.
func TestF16RowsSpecialValues(t *testing.T) {
	specials := []uint16{0x0000, 0x8000, 0x0001, 0x83ff, 0x3c00, 0xfbff, 0x7c00, 0xfc00, 0x7e00}
	const dim = 64
	for _, s := range specials {
		t.Run(fmt.Sprintf("%#04x", s), func(t *testing.T) {
			forEachLevel(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(s), 1))
				rows, wide := randF16Rows(rng, 5*dim)
				rows[2*dim+7], wide[2*dim+7] = s, refF16(s)
				x, w := randVec(rng, dim), randVec(rng, 5)
				got, want := make([]float32, 5), make([]float32, 5)
				DotRowsF16(got, rows, x)
				MatVec(want, Matrix{Rows: 5, Cols: dim, DType: F32, F32: wide}, x)
				gotV, wantV := make([]float32, dim), make([]float32, dim)
				WeightedRowSumF16(gotV, w, rows, dim)
				WeightedRowSum(wantV, w, wide, dim)
				for i := range got {
					if !sameFloat(got[i], want[i]) {
						t.Fatalf("DotRowsF16 row %d = %v, float32 kernel %v", i, got[i], want[i])
					}
				}
				for i := range gotV {
					if !sameFloat(gotV[i], wantV[i]) {
						t.Fatalf("WeightedRowSumF16 [%d] = %v, float32 kernel %v", i, gotV[i], wantV[i])
					}
				}
			})
		})
	}
}

func TestF16RowsAllocateNothing(t *testing.T) {
	rows, _ := randF16Rows(rand.New(rand.NewPCG(1, 2)), 100*64)
	x, w := make([]float32, 64), make([]float32, 100)
	dst, out := make([]float32, 100), make([]float32, 64)
	if a := testing.AllocsPerRun(20, func() { DotRowsF16(dst, rows, x); WeightedRowSumF16(out, w, rows, 64) }); a != 0 {
		t.Errorf("%v allocations per call, want 0", a)
	}
}

func TestF16RowsPanicOnBadLengths(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"DotRowsF16 rows", func() { DotRowsF16(make([]float32, 3), make([]uint16, 10), make([]float32, 4)) }},
		{"WeightedRowSumF16 dst", func() { WeightedRowSumF16(make([]float32, 3), make([]float32, 2), make([]uint16, 8), 4) }},
		{"WeightedRowSumF16 rows", func() { WeightedRowSumF16(make([]float32, 4), make([]float32, 2), make([]uint16, 7), 4) }},
		{"WeightedRowSumF16 dim", func() { WeightedRowSumF16(nil, nil, nil, -1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			c.f()
		})
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// sameFloat is bit equality, with every NaN equal to every NaN.
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

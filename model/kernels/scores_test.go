package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// The group kernels are specified twice: by their definition (float64
// sums) and as the single-query kernels applied to each query in turn,
// bit for bit, at every implementation level.

var groupDims = []int{1, 3, 8, 15, 16, 17, 32, 33, 48, 64, 80, 96, 127, 128, 144}

var groupRows = []int{0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 100, 257}

func TestScoreRows(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, dim := range groupDims {
			for _, m := range groupRows {
				for _, nq := range []int{1, 2, 3, 4} {
					rng := rand.New(rand.NewPCG(uint64(dim), uint64(m*8+nq)))
					rows, q := randVec(rng, m*dim), randVec(rng, nq*dim)
					const scale = 0.125 + 1.0/3
					dst, check := guarded(nq * m)
					ScoreRows(dst, rows, q, dim, scale)
					check(t)
					checkGroupScores(t, "MatVec", dst, rows, q, dim, m, nq, scale, func(same, qh []float32) {
						if m > 0 {
							MatVec(same, Matrix{Rows: m, Cols: dim, DType: F32, F32: rows}, qh)
						}
					})
				}
			}
		}
	})
}

// checkGroupScores holds the scores dst of nq queries q over m rows (wide:
// the rows as float32) to their definition and, bit for bit, to the
// single-query kernel single (named for messages) followed by Scale.
func checkGroupScores(t *testing.T, single string, dst, wide, q []float32, dim, m, nq int, scale float64, singleQuery func(same, qh []float32)) {
	t.Helper()
	for h := range nq {
		qh := q[h*dim : (h+1)*dim]
		same := make([]float32, m)
		singleQuery(same, qh)
		Scale(same, float32(scale))
		for j := range m {
			got := dst[h*m+j]
			want, mag := refDot(f64(wide[j*dim:(j+1)*dim]), qh)
			if !closeRel(got, want*scale, mag*scale, dotTol(dim)) {
				t.Fatalf("dim=%d m=%d nq=%d: query %d row %d = %v, want %v", dim, m, nq, h, j, got, want*scale)
			}
			if math.Float32bits(got) != math.Float32bits(same[j]) {
				t.Fatalf("dim=%d m=%d nq=%d: query %d row %d = %v, %s then Scale %v", dim, m, nq, h, j, got, single, same[j])
			}
		}
	}
}

func TestWeightedRowSums(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, dim := range groupDims {
			for _, m := range groupRows {
				for _, nq := range []int{1, 2, 3, 4, 6, 7} {
					rng := rand.New(rand.NewPCG(uint64(dim), uint64(m*8+nq)))
					rows, w := randVec(rng, m*dim), randVec(rng, nq*m)
					dst, check := guarded(nq * dim)
					for i := range dst {
						dst[i] = 12345
					}
					WeightedRowSums(dst, w, rows, dim)
					check(t)
					for h := range nq {
						same := make([]float32, dim)
						WeightedRowSum(same, w[h*m:(h+1)*m], rows, dim)
						for d := range dim {
							var want, mag float64
							for j := range m {
								p := float64(w[h*m+j]) * float64(rows[j*dim+d])
								want += p
								mag += math.Abs(p)
							}
							got := dst[h*dim+d]
							if !closeRel(got, want, mag, dotTol(m)) {
								t.Fatalf("dim=%d m=%d nq=%d: query %d column %d = %v, want %v", dim, m, nq, h, d, got, want)
							}
							if math.Float32bits(got) != math.Float32bits(same[d]) {
								t.Fatalf("dim=%d m=%d nq=%d: query %d column %d = %v, WeightedRowSum %v", dim, m, nq, h, d, got, same[d])
							}
						}
					}
				}
			}
		}
	})
}

// Special values go through the group kernels as through the single-query
// ones: an infinity or a NaN in one row or query lands where MatVec and
// WeightedRowSum put it.
func TestGroupKernelsSpecialValues(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		const dim, m, nq = 64, 35, 3
		for _, bad := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
			rng := rand.New(rand.NewPCG(5, 5))
			rows, q, w := randVec(rng, m*dim), randVec(rng, nq*dim), randVec(rng, nq*m)
			rows[17*dim+5], q[dim+9], w[2*m+20] = bad, bad, bad
			s := make([]float32, nq*m)
			ScoreRows(s, rows, q, dim, 0.5)
			o := make([]float32, nq*dim)
			WeightedRowSums(o, w, rows, dim)
			for h := range nq {
				same := make([]float32, m)
				MatVec(same, Matrix{Rows: m, Cols: dim, DType: F32, F32: rows}, q[h*dim:(h+1)*dim])
				Scale(same, 0.5)
				for j := range m {
					if !sameFloat(s[h*m+j], same[j]) {
						t.Fatalf("%v: score of query %d row %d = %v, MatVec %v", bad, h, j, s[h*m+j], same[j])
					}
				}
				sum := make([]float32, dim)
				WeightedRowSum(sum, w[h*m:(h+1)*m], rows, dim)
				for d := range dim {
					if !sameFloat(o[h*dim+d], sum[d]) {
						t.Fatalf("%v: sum of query %d column %d = %v, WeightedRowSum %v", bad, h, d, o[h*dim+d], sum[d])
					}
				}
			}
		}
	})
}

func TestGroupKernelsMisusePanics(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"ScoreRows dim 0", func() { ScoreRows(nil, nil, nil, 0, 1) }},
		{"ScoreRows ragged q", func() { ScoreRows(make([]float32, 2), make([]float32, 8), make([]float32, 5), 4, 1) }},
		{"ScoreRows short dst", func() { ScoreRows(make([]float32, 3), make([]float32, 8), make([]float32, 8), 4, 1) }},
		{"WeightedRowSums ragged rows", func() { WeightedRowSums(make([]float32, 4), make([]float32, 2), make([]float32, 7), 4) }},
		{"WeightedRowSums short w", func() { WeightedRowSums(make([]float32, 8), make([]float32, 3), make([]float32, 8), 4) }},
		{"ScoreRowsF16 ragged rows", func() { ScoreRowsF16(make([]float32, 2), make([]uint16, 7), make([]float32, 8), 4, 1) }},
		{"WeightedRowSumsF16 short w", func() { WeightedRowSumsF16(make([]float32, 8), make([]float32, 3), make([]uint16, 8), 4) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.HasPrefix(fmt.Sprint(r), "kernels: ") {
					t.Fatalf("panic %v, want one starting with \"kernels: \"", r)
				}
			}()
			c.f()
		})
	}
}

func TestScoreRowsF16(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, dim := range groupDims {
			for _, m := range groupRows {
				for _, nq := range []int{1, 2, 3, 4} {
					rng := rand.New(rand.NewPCG(uint64(dim), uint64(m*8+nq)))
					rows, wide := randF16Rows(rng, m*dim)
					q := randVec(rng, nq*dim)
					const scale = 0.125 + 1.0/3
					dst, check := guarded(nq * m)
					ScoreRowsF16(dst, rows, q, dim, scale)
					check(t)
					checkGroupScores(t, "DotRowsF16", dst, wide, q, dim, m, nq, scale, func(same, qh []float32) {
						DotRowsF16(same, rows, qh)
					})
				}
			}
		}
	})
}

func TestWeightedRowSumsF16(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, dim := range groupDims {
			for _, m := range groupRows {
				for _, nq := range []int{1, 2, 3, 4, 6, 7} {
					rng := rand.New(rand.NewPCG(uint64(dim), uint64(m*8+nq)))
					rows, wide := randF16Rows(rng, m*dim)
					w := randVec(rng, nq*m)
					dst, check := guarded(nq * dim)
					for i := range dst {
						dst[i] = 12345
					}
					WeightedRowSumsF16(dst, w, rows, dim)
					check(t)
					for h := range nq {
						same := make([]float32, dim)
						WeightedRowSumF16(same, w[h*m:(h+1)*m], rows, dim)
						for d := range dim {
							var want, mag float64
							for j := range m {
								p := float64(w[h*m+j]) * float64(wide[j*dim+d])
								want += p
								mag += math.Abs(p)
							}
							got := dst[h*dim+d]
							if !closeRel(got, want, mag, dotTol(m)) {
								t.Fatalf("dim=%d m=%d nq=%d: query %d column %d = %v, want %v", dim, m, nq, h, d, got, want)
							}
							if math.Float32bits(got) != math.Float32bits(same[d]) {
								t.Fatalf("dim=%d m=%d nq=%d: query %d column %d = %v, WeightedRowSumF16 %v", dim, m, nq, h, d, got, same[d])
							}
						}
					}
				}
			}
		}
	})
}

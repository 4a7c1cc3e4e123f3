package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the decode-attention kernels against what they replace:
// the float64 math.Exp softmax and one Axpy per value row. Sub-benchmark
// "old" is the replaced code, the others are the new kernel forced to one
// implementation level, so a run compares them side by side.

// softmaxFloat64Exp is the Softmax this package had before the float32
// exp: max, math.Exp per element in float64, sum in float64, scale.
func softmaxFloat64Exp(x []float32) {
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - mx))
		x[i] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// siluMulFloat64Exp is the SiLUMul this package had before.
func siluMulFloat64Exp(dst, gate, up []float32) {
	for i, g := range gate {
		s := float64(g) / (1 + math.Exp(-float64(g)))
		dst[i] = float32(s) * up[i]
	}
}

// weightedRowSumAxpy is the attention value sum as it was done before
// WeightedRowSum: one Axpy per row.
func weightedRowSumAxpy(dst, w, rows []float32, dim int) {
	clear(dst)
	for j, wj := range w {
		Axpy(dst, wj, rows[j*dim:(j+1)*dim])
	}
}

// benchLevels runs f as sub-benchmark "old" and then once per level.
func benchLevels(b *testing.B, old func(b *testing.B), f func(b *testing.B)) {
	b.Run("old", old)
	for _, l := range levels() {
		b.Run(l.String(), func(b *testing.B) {
			prev := active
			active = l
			defer func() { active = prev }()
			f(b)
		})
	}
}

// scores returns attention-like logits: spread 8, a few masked.
func scores(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randVec(rng, n)
	for i := range x {
		x[i] *= 8
	}
	return x
}

func BenchmarkSoftmax(b *testing.B) {
	for _, n := range []int{512, 2048, 4096} {
		src := scores(n)
		x := make([]float32, n)
		run := func(sm func([]float32)) func(b *testing.B) {
			return func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					copy(x, src)
					sm(x)
				}
				benchSink = x[0]
			}
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchLevels(b, run(softmaxFloat64Exp), run(Softmax))
		})
	}
}

func BenchmarkSiLUMul(b *testing.B) {
	const n = 1536 // SmolLM-135M MLP width
	rng := rand.New(rand.NewPCG(1, 1))
	gate, up, dst := randVec(rng, n), randVec(rng, n), make([]float32, n)
	run := func(f func(dst, gate, up []float32)) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				f(dst, gate, up)
			}
			benchSink = dst[0]
		}
	}
	b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
		benchLevels(b, run(siluMulFloat64Exp), run(SiLUMul))
	})
}

func BenchmarkExp(b *testing.B) {
	const n = 4096
	x, dst := scores(n), make([]float32, n)
	for _, l := range levels() {
		b.Run(fmt.Sprintf("n=%d/%s", n, l), func(b *testing.B) {
			withLevel(l, func() {
				for b.Loop() {
					Exp(dst, x)
				}
			})
			benchSink = dst[0]
		})
	}
}

func BenchmarkWeightedRowSum(b *testing.B) {
	for _, dim := range []int{64, 128} {
		for _, count := range []int{512, 4096} {
			rng := rand.New(rand.NewPCG(1, 1))
			w, rows := randVec(rng, count), randVec(rng, count*dim)
			dst := make([]float32, dim)
			run := func(f func(dst, w, rows []float32, dim int)) func(b *testing.B) {
				return func(b *testing.B) {
					b.SetBytes(int64(4 * len(rows)))
					for b.Loop() {
						f(dst, w, rows, dim)
					}
					benchSink = dst[0]
				}
			}
			b.Run(fmt.Sprintf("dim=%d/count=%d", dim, count), func(b *testing.B) {
				benchLevels(b, run(weightedRowSumAxpy), run(WeightedRowSum))
			})
		}
	}
}

// BenchmarkGroupAttention is the decode attention of one KV group of
// three query heads (SmolLM2's shape) over 2048 float32 K/V rows, as the
// grouped kernels do it ("group") and head by head with the single-query
// kernels ("heads"). The rows cycle through 64 MiB so that each group's
// first read comes from memory, as in a batch of long sequences.
func BenchmarkGroupAttention(b *testing.B) {
	const dim, m, nq = 64, 2048, 3
	const blocks = 32 // × 2 MiB of K and V
	rng := rand.New(rand.NewPCG(1, 1))
	keys, values := randVec(rng, blocks*m*dim), randVec(rng, blocks*m*dim)
	q := randVec(rng, nq*dim)
	s, out := make([]float32, nq*m), make([]float32, nq*dim)
	b.Run("heads", func(b *testing.B) {
		b.SetBytes(2 * 4 * m * dim)
		for i := 0; b.Loop(); i++ {
			k, v := keys[i%blocks*m*dim:][:m*dim], values[i%blocks*m*dim:][:m*dim]
			for h := range nq {
				sh := s[h*m : (h+1)*m]
				MatVec(sh, Matrix{Rows: m, Cols: dim, DType: F32, F32: k}, q[h*dim:(h+1)*dim])
				Scale(sh, 0.125)
				Softmax(sh)
				WeightedRowSum(out[h*dim:(h+1)*dim], sh, v, dim)
			}
		}
	})
	b.Run("group", func(b *testing.B) {
		b.SetBytes(2 * 4 * m * dim)
		for i := 0; b.Loop(); i++ {
			k, v := keys[i%blocks*m*dim:][:m*dim], values[i%blocks*m*dim:][:m*dim]
			ScoreRows(s, k, q, dim, 0.125)
			for h := range nq {
				Softmax(s[h*m : (h+1)*m])
			}
			WeightedRowSums(out, s, v, dim)
		}
	})
	benchSink = out[0]
}

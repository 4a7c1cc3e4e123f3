package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGroupAttentionF16 is BenchmarkGroupAttention's grouped decode
// attention of one KV group (three query heads of 64) over float32 rows
// ("f32") and over the same rows in FP16 ("f16", ScoreRowsF16 and
// WeightedRowSumsF16; "f16-perquery": the scores by the AVX-512 kernel that
// widens each block again for every query), at 2048 and 8000 rows. The rows cycle through 64 MiB
// of float32 (32 MiB of FP16) so that each group's first read comes from
// memory, as in a long decode.
func BenchmarkGroupAttentionF16(b *testing.B) {
	const dim, nq = 64, 3
	for _, m := range []int{2048, 8000} {
		blocks := max(2, (64<<20)/(2*4*m*dim))
		rng := rand.New(rand.NewPCG(1, 1))
		keys, values := randVec(rng, blocks*m*dim), randVec(rng, blocks*m*dim)
		keysH, valuesH := make([]uint16, len(keys)), make([]uint16, len(values))
		F32ToF16(keysH, keys)
		F32ToF16(valuesH, values)
		q := randVec(rng, nq*dim)
		s, out := make([]float32, nq*m), make([]float32, nq*dim)
		b.Run(fmt.Sprintf("m=%d/f32", m), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				k, v := keys[i%blocks*m*dim:][:m*dim], values[i%blocks*m*dim:][:m*dim]
				ScoreRows(s, k, q, dim, 0.125)
				for h := range nq {
					Softmax(s[h*m : (h+1)*m])
				}
				WeightedRowSums(out, s, v, dim)
			}
			benchSink = out[0]
		})
		b.Run(fmt.Sprintf("m=%d/f16-perquery", m), func(b *testing.B) {
			if active != isaAVX512 {
				b.Skip("AVX-512 kernel")
			}
			for i := 0; b.Loop(); i++ {
				k, v := keysH[i%blocks*m*dim:][:m*dim], valuesH[i%blocks*m*dim:][:m*dim]
				scoreRows64F16AVX512(&s[0], &k[0], &q[0], m/16, nq, m, 0.125) // each block widened per query
				for h := range nq {
					Softmax(s[h*m : (h+1)*m])
				}
				WeightedRowSumsF16(out, s, v, dim)
			}
			benchSink = out[0]
		})
		b.Run(fmt.Sprintf("m=%d/f16", m), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				k, v := keysH[i%blocks*m*dim:][:m*dim], valuesH[i%blocks*m*dim:][:m*dim]
				ScoreRowsF16(s, k, q, dim, 0.125)
				for h := range nq {
					Softmax(s[h*m : (h+1)*m])
				}
				WeightedRowSumsF16(out, s, v, dim)
			}
			benchSink = out[0]
		})
	}
}

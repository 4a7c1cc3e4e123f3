package kernels

import "fmt"

// Attention kernels for the query heads of one KV group, which read the
// same key and value rows: each row is loaded once for all of them. Each
// computes, bit for bit, what the single-query kernels compute for every
// query in turn (MatVec then Scale; WeightedRowSum), so grouping heads
// never changes a result.

// ScoreRows sets dst[h·m+j] = scale·Σ_c rows[j·dim+c]·q[h·dim+c] for every
// query h < len(q)/dim and row j < m = len(rows)/dim: the attention scores
// of several queries over the same m key rows. len(q) and len(rows) must
// be multiples of dim and len(dst) = (len(q)/dim)·m. Row h of dst equals
// MatVec over the rows followed by Scale, bit for bit.
//
// The AVX-512 kernel (dim a multiple of 16) takes 16 rows at a time and
// reduces their 16 partial-sum vectors together, by shuffles that pair the
// lanes exactly as MatVec's per-row horizontal sum does, instead of one
// horizontal sum per row; the 16 rows stay in L1 for all the queries.
//
// Hot path: once per KV group (or query head) per layer per decoded token.
func ScoreRows(dst, rows, q []float32, dim int, scale float32) {
	if dim <= 0 {
		panic(fmt.Sprintf("kernels: ScoreRows: dim = %d, want > 0", dim))
	}
	if len(q)%dim != 0 || len(rows)%dim != 0 {
		panic(fmt.Sprintf("kernels: ScoreRows: len(q) = %d and len(rows) = %d, want multiples of dim = %d", len(q), len(rows), dim))
	}
	nq, m := len(q)/dim, len(rows)/dim
	checkLen("ScoreRows", "dst", len(dst), nq*m)
	if nq == 0 || m == 0 {
		return
	}
	done := scoreRowsArch(dst, rows, q, dim, scale)
	if done == m {
		return
	}
	w := Matrix{Rows: m - done, Cols: dim, DType: F32, F32: rows[done*dim:]}
	for h := range nq {
		s := dst[h*m+done : (h+1)*m]
		MatVec(s, w, q[h*dim:(h+1)*dim])
		Scale(s, scale)
	}
}

// WeightedRowSums sets dst[h·dim+d] = Σ_j w[h·m+j]·rows[j·dim+d] for every
// query h < len(dst)/dim and d < dim, m = len(rows)/dim: the weighted sums
// of several queries' probabilities over the same m value rows. len(dst)
// and len(rows) must be multiples of dim and len(w) = (len(dst)/dim)·m. Row
// h of dst equals WeightedRowSum(dst[h·dim:(h+1)·dim], w[h·m:(h+1)·m],
// rows, dim), bit for bit.
//
// Hot path: once per KV group per layer per decoded token.
func WeightedRowSums(dst, w, rows []float32, dim int) {
	if dim <= 0 {
		panic(fmt.Sprintf("kernels: WeightedRowSums: dim = %d, want > 0", dim))
	}
	if len(dst)%dim != 0 || len(rows)%dim != 0 {
		panic(fmt.Sprintf("kernels: WeightedRowSums: len(dst) = %d and len(rows) = %d, want multiples of dim = %d", len(dst), len(rows), dim))
	}
	nq, m := len(dst)/dim, len(rows)/dim
	checkLen("WeightedRowSums", "w", len(w), nq*m)
	h := 0
	if m > 0 {
		h = weightedRowSumsArch(dst, w, rows, dim)
	}
	for ; h < nq; h++ {
		WeightedRowSum(dst[h*dim:(h+1)*dim], w[h*m:(h+1)*m], rows, dim)
	}
}

// ScoreRowsF16 is ScoreRows over FP16 key rows, widened in registers: row
// h of dst equals DotRowsF16 over the rows followed by Scale, bit for bit
// (so, on the widened rows, ScoreRows' result).
//
// Hot path: once per KV group per layer per decoded token over a
// device-resident KV cache.
func ScoreRowsF16(dst []float32, rows []uint16, q []float32, dim int, scale float32) {
	if dim <= 0 {
		panic(fmt.Sprintf("kernels: ScoreRowsF16: dim = %d, want > 0", dim))
	}
	if len(q)%dim != 0 || len(rows)%dim != 0 {
		panic(fmt.Sprintf("kernels: ScoreRowsF16: len(q) = %d and len(rows) = %d, want multiples of dim = %d", len(q), len(rows), dim))
	}
	nq, m := len(q)/dim, len(rows)/dim
	checkLen("ScoreRowsF16", "dst", len(dst), nq*m)
	if nq == 0 || m == 0 {
		return
	}
	done := scoreRowsF16Arch(dst, rows, q, dim, scale)
	for h := range nq {
		s := dst[h*m+done : (h+1)*m]
		DotRowsF16(s, rows[done*dim:], q[h*dim:(h+1)*dim])
		Scale(s, scale)
	}
}

// WeightedRowSumsF16 is WeightedRowSums over FP16 value rows: row h of dst
// equals WeightedRowSumF16(dst[h·dim:(h+1)·dim], w[h·m:(h+1)·m], rows,
// dim), bit for bit.
//
// Hot path: once per KV group per layer per decoded token over a
// device-resident KV cache.
func WeightedRowSumsF16(dst, w []float32, rows []uint16, dim int) {
	if dim <= 0 {
		panic(fmt.Sprintf("kernels: WeightedRowSumsF16: dim = %d, want > 0", dim))
	}
	if len(dst)%dim != 0 || len(rows)%dim != 0 {
		panic(fmt.Sprintf("kernels: WeightedRowSumsF16: len(dst) = %d and len(rows) = %d, want multiples of dim = %d", len(dst), len(rows), dim))
	}
	nq, m := len(dst)/dim, len(rows)/dim
	checkLen("WeightedRowSumsF16", "w", len(w), nq*m)
	h := 0
	if m > 0 {
		h = weightedRowSumsF16Arch(dst, w, rows, dim)
	}
	for ; h < nq; h++ {
		WeightedRowSumF16(dst[h*dim:(h+1)*dim], w[h*m:(h+1)*m], rows, dim)
	}
}

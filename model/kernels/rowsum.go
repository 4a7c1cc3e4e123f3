package kernels

import "fmt"

// WeightedRowSum sets dst[d] = Σ_j w[j]·rows[j·dim + d] for d < dim: the
// weighted sum of len(w) contiguous rows of dim elements (attention's
// Σ_j p_j·V_j over a head's value rows). dst is overwritten, not added
// to; it is all zeros when w is empty. len(dst) must be dim and len(rows)
// len(w)·dim; dst must not overlap w or rows.
//
// Each column is accumulated in float32 with FMA, in up to four partial
// sums over interleaved rows, so results agree with the plain loop to a
// few ulps times √len(w) relative to Σ_j |w[j]·rows[j·dim+d]|.
//
// The SIMD paths keep dst in registers and read each row once: they walk
// the rows in column blocks of up to 128 floats (AVX-512, 8 registers) or
// 64 (AVX2), then a block of half that, then masked blocks of one vector,
// so any dim is done without a scalar tail.
//
// Hot path: once per head per decoded token, replacing one Axpy per row.
func WeightedRowSum(dst, w, rows []float32, dim int) {
	if dim < 0 {
		panic(fmt.Sprintf("kernels: WeightedRowSum: dim = %d, want ≥ 0", dim))
	}
	checkLen("WeightedRowSum", "dst", len(dst), dim)
	checkLen("WeightedRowSum", "rows", len(rows), len(w)*dim)
	if dim == 0 {
		return
	}
	if len(w) == 0 {
		clear(dst)
		return
	}
	if done := weightedRowSumArch(dst, w, rows, dim); done < dim {
		weightedRowSumGo(dst[done:], w, rows[done:], dim)
	}
}

// weightedRowSumGo is the plain-Go twin: dst[d] = Σ_j w[j]·rows[j·stride+d]
// for d < len(dst), rows walked one after another.
func weightedRowSumGo(dst, w, rows []float32, stride int) {
	clear(dst)
	for j, wj := range w {
		row := rows[j*stride:][:len(dst)]
		for d, v := range row {
			dst[d] += wj * v
		}
	}
}

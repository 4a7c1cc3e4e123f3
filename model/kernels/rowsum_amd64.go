package kernels

// weightedRowSumArch does every column of WeightedRowSum on the SIMD
// levels (returning dim), none on the generic one. Each kernel call
// covers one column block for all rows; see rowsum_amd64.s.
func weightedRowSumArch(dst, w, rows []float32, dim int) int {
	if active == isaGeneric {
		return 0
	}
	count, d := len(w), 0
	if active == isaAVX512 {
		for ; d+128 <= dim; d += 128 {
			rowSum128AVX512(&dst[d], &w[0], &rows[d], count, dim)
		}
		if d+64 <= dim {
			rowSum64AVX512(&dst[d], &w[0], &rows[d], count, dim)
			d += 64
		}
		for ; d < dim; d += 16 {
			m := min(16, dim-d)
			rowSum16AVX512(&dst[d], &w[0], &rows[d], count, dim, uint16(1<<m-1))
		}
		return dim
	}
	for ; d+64 <= dim; d += 64 {
		rowSum64AVX2(&dst[d], &w[0], &rows[d], count, dim)
	}
	if d+32 <= dim {
		rowSum32AVX2(&dst[d], &w[0], &rows[d], count, dim)
		d += 32
	}
	for ; d < dim; d += 8 {
		m := min(8, dim-d)
		rowSum8AVX2(&dst[d], &w[0], &rows[d], count, dim, &rowSumMask[8-m])
	}
	return dim
}

// rowSumMask[8-m:16-m] is the VMASKMOVPS mask selecting the first m lanes.
var rowSumMask = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// Kernels in rowsum_amd64.s: dst[c] = Σ_{j<count} w[j]·rows[j·stride+c]
// for the block's columns c, count ≥ 1. The masked kernels do the first
// popcount(mask) columns and touch no memory past them.

//go:noescape
func rowSum128AVX512(dst, w, rows *float32, count, stride int)

//go:noescape
func rowSum64AVX512(dst, w, rows *float32, count, stride int)

//go:noescape
func rowSum16AVX512(dst, w, rows *float32, count, stride int, mask uint16)

//go:noescape
func rowSum64AVX2(dst, w, rows *float32, count, stride int)

//go:noescape
func rowSum32AVX2(dst, w, rows *float32, count, stride int)

//go:noescape
func rowSum8AVX2(dst, w, rows *float32, count, stride int, mask *int32)

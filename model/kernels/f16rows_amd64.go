package kernels

import "unsafe"

// dotRowsF16Arch computes the columns of DotRowsF16 up to the last full
// vector with the FP16 matrix-vector kernel (the same one MatVec uses for
// F16 matrices, whose lanes and partial sums are those of the F32 kernel)
// and returns how many columns it did; the caller adds the rest.
func dotRowsF16Arch(dst []float32, rows []uint16, x []float32) int {
	cols := len(x)
	n := cols &^ (vectorWidth(active) - 1)
	if active == isaGeneric || n == 0 {
		return 0
	}
	w := unsafe.Pointer(&rows[0])
	if active == isaAVX512 {
		matVecF16AVX512(&dst[0], w, &x[0], len(dst), cols, n)
	} else {
		matVecF16AVX2(&dst[0], w, &x[0], len(dst), cols, n)
	}
	return n
}

// weightedRowSumF16Arch does the column blocks of WeightedRowSumF16 that
// WeightedRowSum does with full vectors (128/64/16 columns on AVX-512,
// 64/32/8 on AVX2) and returns the columns done; the caller finishes the
// last partial vector in Go.
func weightedRowSumF16Arch(dst, w []float32, rows []uint16, dim int) int {
	if active == isaGeneric {
		return 0
	}
	count, d := len(w), 0
	if active == isaAVX512 {
		for ; d+128 <= dim; d += 128 {
			rowSum128F16AVX512(&dst[d], &w[0], &rows[d], count, dim)
		}
		if d+64 <= dim {
			rowSum64F16AVX512(&dst[d], &w[0], &rows[d], count, dim)
			d += 64
		}
		for ; d+16 <= dim; d += 16 {
			rowSum16F16AVX512(&dst[d], &w[0], &rows[d], count, dim)
		}
		return d
	}
	for ; d+64 <= dim; d += 64 {
		rowSum64F16AVX2(&dst[d], &w[0], &rows[d], count, dim)
	}
	if d+32 <= dim {
		rowSum32F16AVX2(&dst[d], &w[0], &rows[d], count, dim)
		d += 32
	}
	for ; d+8 <= dim; d += 8 {
		rowSum8F16AVX2(&dst[d], &w[0], &rows[d], count, dim)
	}
	return d
}

// Kernels in f16rows_amd64.s: dst[c] = Σ_{j<count} w[j]·widen(rows[j·stride+c])
// for the block's columns c, count ≥ 1, stride in elements.

//go:noescape
func rowSum128F16AVX512(dst, w *float32, rows *uint16, count, stride int)

//go:noescape
func rowSum64F16AVX512(dst, w *float32, rows *uint16, count, stride int)

//go:noescape
func rowSum16F16AVX512(dst, w *float32, rows *uint16, count, stride int)

//go:noescape
func rowSum64F16AVX2(dst, w *float32, rows *uint16, count, stride int)

//go:noescape
func rowSum32F16AVX2(dst, w *float32, rows *uint16, count, stride int)

//go:noescape
func rowSum8F16AVX2(dst, w *float32, rows *uint16, count, stride int)

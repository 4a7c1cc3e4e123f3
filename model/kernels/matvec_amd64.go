package kernels

import "unsafe"

// matVecArch computes rows [r0,r1) with the widest kernel the active level
// allows; columns past the last full vector are finished in Go.
func matVecArch(dst []float32, w Matrix, x []float32, r0, r1 int) {
	width := vectorWidth(active)
	n := w.Cols &^ (width - 1)
	if active == isaGeneric || n == 0 || r0 == r1 {
		matVecGo(dst, w, x, r0, r1)
		return
	}
	d, p, xp, rows, stride := &dst[r0], w.at(r0*w.Cols), &x[0], r1-r0, w.Cols
	switch {
	case active == isaAVX512 && w.DType == BF16:
		matVecBF16AVX512(d, p, xp, rows, stride, n)
	case active == isaAVX512 && w.DType == F16:
		matVecF16AVX512(d, p, xp, rows, stride, n)
	case active == isaAVX512:
		matVecF32AVX512(d, p, xp, rows, stride, n)
	case w.DType == BF16:
		matVecBF16AVX2(d, p, xp, rows, stride, n)
	case w.DType == F16:
		matVecF16AVX2(d, p, xp, rows, stride, n)
	default:
		matVecF32AVX2(d, p, xp, rows, stride, n)
	}
	if n < w.Cols {
		for r := r0; r < r1; r++ {
			dst[r] += rowDotGo(w, r, x, n)
		}
	}
}

// at returns the address of element i of w's storage.
func (m Matrix) at(i int) unsafe.Pointer {
	if m.DType == F32 {
		return unsafe.Pointer(&m.F32[i])
	}
	return unsafe.Pointer(&m.U16[i])
}

// Kernels in matvec_amd64.s: dst[r] = Σ_{c<n} W[r][c]·x[c] for r < rows,
// rows stride elements apart, n a positive multiple of the vector width.

//go:noescape
func matVecBF16AVX512(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)

//go:noescape
func matVecF16AVX512(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)

//go:noescape
func matVecF32AVX512(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)

//go:noescape
func matVecBF16AVX2(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)

//go:noescape
func matVecF16AVX2(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)

//go:noescape
func matVecF32AVX2(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)

package kernels

import "unsafe"

// matVecArch computes rows [r0,r1) four at a time with the widest kernel the
// active level allows. Columns past the last full vector, and rows past the
// last group of four, are finished in Go.
func matVecArch(dst []float32, w Matrix, x []float32, r0, r1 int) {
	width := vectorWidth(active)
	n := w.Cols &^ (width - 1)
	if active == isaGeneric || n == 0 || r0 == r1 {
		matVecGo(dst, w, x, r0, r1)
		return
	}
	cols := w.Cols
	r := r0
	for ; r+4 <= r1; r += 4 {
		matVec4(active, w.DType, &dst[r], w.at(r*cols), cols, &x[0], n)
	}
	for ; r < r1; r++ {
		var four [4]float32 // stride 0: the same row four times
		matVec4(active, w.DType, &four[0], w.at(r*cols), 0, &x[0], n)
		dst[r] = four[0]
	}
	if n < cols {
		for r := r0; r < r1; r++ {
			dst[r] += rowDotGo(w, r, x, n)
		}
	}
}

// vectorWidth is the number of float32 lanes of one register at level l.
func vectorWidth(l isa) int {
	if l == isaAVX512 {
		return 16
	}
	return 8
}

// at returns the address of element i of w's storage.
func (m Matrix) at(i int) unsafe.Pointer {
	if m.DType == F32 {
		return unsafe.Pointer(&m.F32[i])
	}
	return unsafe.Pointer(&m.U16[i])
}

// matVec4 calls the kernel for (level, type) directly (not through a func
// value) so that escape analysis keeps dst on the caller's stack.
func matVec4(l isa, t DType, dst *float32, w unsafe.Pointer, stride int, x *float32, n int) {
	if l == isaAVX512 {
		switch t {
		case BF16:
			matVec4BF16AVX512(dst, w, stride, x, n)
		case F16:
			matVec4F16AVX512(dst, w, stride, x, n)
		default:
			matVec4F32AVX512(dst, w, stride, x, n)
		}
		return
	}
	switch t {
	case BF16:
		matVec4BF16AVX2(dst, w, stride, x, n)
	case F16:
		matVec4F16AVX2(dst, w, stride, x, n)
	default:
		matVec4F32AVX2(dst, w, stride, x, n)
	}
}

// Kernels in matvec_amd64.s; see the contract there.

//go:noescape
func matVec4BF16AVX512(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)

//go:noescape
func matVec4F16AVX512(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)

//go:noescape
func matVec4F32AVX512(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)

//go:noescape
func matVec4BF16AVX2(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)

//go:noescape
func matVec4F16AVX2(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)

//go:noescape
func matVec4F32AVX2(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)

package kernels

import "unsafe"

// matVecArch computes rows [r0,r1) with the widest kernel the active level
// allows; columns past the last full vector are finished in Go.
func matVecArch(dst []float32, w Matrix, x []float32, r0, r1 int) {
	if pairsCols(w) > 0 && r0 < r1 {
		s := scratchPool.Get().(*[]float32)
		matVecSplitArch(dst, w, x, splitForMatVec(s, w, x), r0, r1)
		scratchPool.Put(s)
		return
	}
	matVecPlain(dst, w, x, r0, r1)
}

// pairsCols is the number of leading columns of w that the pairs kernel
// (matVecBF16PairsAVX512) computes: 0 if it does not apply.
func pairsCols(w Matrix) int {
	if active != isaAVX512 || w.DType != BF16 {
		return 0
	}
	return w.Cols &^ 31
}

// splitForMatVec returns x split for the pairs kernel (splitPairs) in *buf,
// grown when too small, or nil when w does not use that kernel.
func splitForMatVec(buf *[]float32, w Matrix, x []float32) []float32 {
	n := pairsCols(w)
	if n == 0 {
		return nil
	}
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	xs := (*buf)[:n]
	splitPairs(xs, x[:n])
	return xs
}

// splitFor returns xs if it is x split for w's kernel (splitForMatVec of
// another matrix with as many columns and the same type), else nil.
func splitFor(xs []float32, w Matrix) []float32 {
	if len(xs) == 0 || len(xs) != pairsCols(w) {
		return nil
	}
	return xs
}

// matVecSplitArch is matVecArch given xs = splitForMatVec(_, w, x).
func matVecSplitArch(dst []float32, w Matrix, x, xs []float32, r0, r1 int) {
	n := len(xs)
	if n == 0 || n != pairsCols(w) || r0 == r1 {
		matVecArch(dst, w, x, r0, r1) // splits x itself if w's kernel needs it
		return
	}
	matVecBF16PairsAVX512(&dst[r0], w.at(r0*w.Cols), &xs[0], r1-r0, w.Cols, n)
	if n < w.Cols {
		for r := r0; r < r1; r++ {
			dst[r] += rowDotGo(w, r, x, n)
		}
	}
}

// matVecPlain is matVecArch without the pairs kernel.
func matVecPlain(dst []float32, w Matrix, x []float32, r0, r1 int) {
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
func matVecBF16PairsAVX512(dst *float32, w unsafe.Pointer, xs *float32, rows, stride, n int)

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

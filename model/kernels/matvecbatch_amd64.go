package kernels

import "unsafe"

// matVecBatchTiles computes weight rows [r0, r1) of MatVecBatch for the
// first vectors of x in tiles, with a kernel that keeps, for each vector,
// the accumulators and the summation order of the matrix-vector kernel
// matVecArch uses for w (columns past that kernel's finished in Go, as
// there), and returns how many vectors it did: a multiple of the tile, 0
// when no tile kernel applies (the caller runs the matrix-vector kernel
// per vector). xs is splitRows of x.
func matVecBatchTiles(dst []float32, w Matrix, x, xs []float32, n, r0, r1 int) int {
	if active == isaGeneric || r0 == r1 {
		return 0
	}
	k, m, rows := w.Cols, w.Rows, r1-r0
	done := 0 // columns the kernel computes; the rest is added in Go
	tile := 4
	var kernel func(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)
	xk, ldx := x, k // the vectors as the kernel reads them
	switch kp := pairsCols(w); {
	case kp > 0:
		if len(xs) != n*kp {
			return 0
		}
		kernel, done, xk, ldx = matVecBF16PairsAVX512x4, kp, xs, kp
	case active == isaAVX512:
		done = k &^ 15
		switch w.DType {
		case F32:
			kernel = matVecF32AVX512x4
		case F16:
			kernel = matVecF16AVX512x4
		}
	default: // AVX2
		tile, done = 3, k&^7
		switch w.DType {
		case F32:
			kernel = matVecF32AVX2x3
		case F16:
			kernel = matVecF16AVX2x3
		case BF16:
			kernel = matVecBF16AVX2x3
		}
	}
	if kernel == nil || done == 0 {
		return 0 // bf16 narrower than 32 columns at AVX-512, or fewer columns than a vector
	}
	tiles := n / tile * tile
	for i := 0; i < tiles; i += tile {
		kernel(&dst[i*m+r0], m, w.at(r0*k), &xk[i*ldx], ldx, rows, k, done)
		if done < k {
			for j := i; j < i+tile; j++ {
				xj, dj := x[j*k:(j+1)*k], dst[j*m:(j+1)*m]
				for r := r0; r < r1; r++ {
					dj[r] += rowDotGo(w, r, xj, done)
				}
			}
		}
	}
	return tiles
}

// Kernels in matvecbatch_amd64.s: each is the matrix-vector kernel of its
// name without the suffix, run for the suffix's number of vectors at once,
// x+i*ldx, writing dst[i*ldd+r] for r < rows, bit for bit as that kernel
// writes dst[r] for vector i (the pairs kernel takes the vectors split by
// splitPairs).

//go:noescape
func matVecBF16PairsAVX512x4(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF16AVX512x4(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF32AVX512x4(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecBF16AVX2x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF16AVX2x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF32AVX2x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

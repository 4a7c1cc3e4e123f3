package kernels

import "unsafe"

//go:generate python3 matvecbatch_gen.py

// tileKernel is a tile kernel of matvecbatch_amd64.s: the matrix-vector
// kernel of its name without the suffix, run for the suffix's number of
// vectors at once, x+i*ldx, writing dst[i*ldd+r] for r < rows, bit for bit
// as that kernel writes dst[r] for vector i (the pairs kernels take the
// vectors split by splitPairs).
type tileKernel func(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

// Tile kernels by vector count, per matrix-vector kernel.
var (
	pairsTiles     = [...]tileKernel{2: matVecBF16PairsAVX512x2, 3: matVecBF16PairsAVX512x3, 4: matVecBF16PairsAVX512x4}
	f16AVX512Tiles = [...]tileKernel{2: matVecF16AVX512x2, 3: matVecF16AVX512x3, 4: matVecF16AVX512x4}
	f32AVX512Tiles = [...]tileKernel{2: matVecF32AVX512x2, 3: matVecF32AVX512x3, 4: matVecF32AVX512x4}
	bf16AVX2Tiles  = [...]tileKernel{2: matVecBF16AVX2x2, 3: matVecBF16AVX2x3}
	f16AVX2Tiles   = [...]tileKernel{2: matVecF16AVX2x2, 3: matVecF16AVX2x3}
	f32AVX2Tiles   = [...]tileKernel{2: matVecF32AVX2x2, 3: matVecF32AVX2x3}
)

// matVecBatchTiles computes weight rows [r0, r1) of MatVecBatch for the
// first vectors of x in tiles, with kernels that keep, for each vector, the
// accumulators and the summation order of the matrix-vector kernel
// matVecArch uses for w (columns past that kernel's finished in Go, as
// there), and returns how many vectors it did: all of them, or all but the
// last when a single vector would be left over (the caller runs the
// matrix-vector kernel for the rest); 0 when no tile kernel applies. Tiles
// are as wide as the registers allow (4 vectors at AVX-512, 3 at AVX2),
// narrowed at the end so that no single vector is left unless n is odd
// and small (n = 1). xs is splitRows of x.
func matVecBatchTiles(dst []float32, w Matrix, x, xs []float32, n, r0, r1 int) int {
	if active == isaGeneric || r0 == r1 || n < 2 {
		return 0
	}
	var tiles []tileKernel
	done := 0 // columns the kernels compute; the rest is added in Go
	xk, ldx := x, w.Cols
	switch kp := pairsCols(w); {
	case kp > 0:
		if len(xs) != n*kp {
			return 0
		}
		tiles, done, xk, ldx = pairsTiles[:], kp, xs, kp
	case active == isaAVX512:
		done = w.Cols &^ 15
		switch w.DType {
		case F32:
			tiles = f32AVX512Tiles[:]
		case F16:
			tiles = f16AVX512Tiles[:]
		}
	default: // AVX2
		done = w.Cols &^ 7
		switch w.DType {
		case F32:
			tiles = f32AVX2Tiles[:]
		case F16:
			tiles = f16AVX2Tiles[:]
		case BF16:
			tiles = bf16AVX2Tiles[:]
		}
	}
	if tiles == nil || done == 0 {
		return 0 // bf16 narrower than 32 columns at AVX-512, or fewer columns than a vector
	}
	k, m, widest := w.Cols, w.Rows, len(tiles)-1
	i := 0
	for n-i >= 2 {
		v := min(widest, n-i)
		if n-i-v == 1 {
			v-- // leave two vectors, not one
		}
		tiles[v](&dst[i*m+r0], m, w.at(r0*k), &xk[i*ldx], ldx, r1-r0, k, done)
		if done < k {
			for j := i; j < i+v; j++ {
				xj, dj := x[j*k:(j+1)*k], dst[j*m:(j+1)*m]
				for r := r0; r < r1; r++ {
					dj[r] += rowDotGo(w, r, xj, done)
				}
			}
		}
		i += v
	}
	return i
}

//go:noescape
func matVecBF16PairsAVX512x4(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecBF16PairsAVX512x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecBF16PairsAVX512x2(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF16AVX512x4(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF16AVX512x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF16AVX512x2(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF32AVX512x4(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF32AVX512x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF32AVX512x2(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecBF16AVX2x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecBF16AVX2x2(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF16AVX2x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF16AVX2x2(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF32AVX2x3(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

//go:noescape
func matVecF32AVX2x2(dst *float32, ldd int, w unsafe.Pointer, x *float32, ldx, rows, stride, n int)

package kernels

import "fmt"

// MatVec sets dst[r] = Σ_c W[r,c]·x[c] for every row r of w, on the calling
// goroutine. len(x) == w.Cols, len(dst) == w.Rows.
//
// Hot path: every projection of a decode step (q, k, v, o, gate, up, down,
// lm_head) is one MatVec; it streams the weights once from memory.
func MatVec(dst []float32, w Matrix, x []float32) {
	w.check()
	checkLen("MatVec", "x", len(x), w.Cols)
	checkLen("MatVec", "dst", len(dst), w.Rows)
	matVecArch(dst, w, x, 0, w.Rows)
}

// MatVecRows is MatVec restricted to rows [r0, r1): it writes dst[r0:r1]
// only. dst is indexed by row, so len(dst) == w.Rows.
func MatVecRows(dst []float32, w Matrix, x []float32, r0, r1 int) {
	w.check()
	checkLen("MatVecRows", "x", len(x), w.Cols)
	checkLen("MatVecRows", "dst", len(dst), w.Rows)
	if r0 < 0 || r0 > r1 || r1 > w.Rows {
		panic(fmt.Sprintf("kernels: MatVecRows: rows [%d,%d) outside [0,%d)", r0, r1, w.Rows))
	}
	matVecArch(dst, w, x, r0, r1)
}

// matVecGo is the plain-Go implementation, with four partial sums per row.
func matVecGo(dst []float32, w Matrix, x []float32, r0, r1 int) {
	for r := r0; r < r1; r++ {
		dst[r] = rowDotGo(w, r, x, 0)
	}
}

// rowDotGo returns Σ_{c >= from} W[r,c]·x[c].
func rowDotGo(w Matrix, r int, x []float32, from int) float32 {
	lo, hi := r*w.Cols+from, (r+1)*w.Cols
	x = x[from:]
	switch w.DType {
	case F32:
		return dotGo(w.F32[lo:hi], x)
	case BF16:
		row := w.U16[lo:hi]
		var s0, s1, s2, s3 float32
		c := 0
		for ; c+4 <= len(row); c += 4 {
			s0 += bf16ToF32(row[c]) * x[c]
			s1 += bf16ToF32(row[c+1]) * x[c+1]
			s2 += bf16ToF32(row[c+2]) * x[c+2]
			s3 += bf16ToF32(row[c+3]) * x[c+3]
		}
		for ; c < len(row); c++ {
			s0 += bf16ToF32(row[c]) * x[c]
		}
		return (s0 + s1) + (s2 + s3)
	default: // F16
		row := w.U16[lo:hi]
		var s0, s1 float32
		c := 0
		for ; c+2 <= len(row); c += 2 {
			s0 += f16ToF32(row[c]) * x[c]
			s1 += f16ToF32(row[c+1]) * x[c+1]
		}
		for ; c < len(row); c++ {
			s0 += f16ToF32(row[c]) * x[c]
		}
		return s0 + s1
	}
}

// splitPairs writes x (a multiple of 32 long) into dst block by block of 32
// columns: the block's 16 even-indexed elements, then its 16 odd-indexed
// ones. It is the order in which a 32-bit lane of packed bf16 weights
// presents a block (the pair w[2i], w[2i+1] in lane i), so a kernel can
// multiply the even and the odd weights of a block by contiguous vectors.
func splitPairs(dst, x []float32) {
	if len(x)%32 != 0 || len(dst) != len(x) {
		panic(fmt.Sprintf("kernels: splitPairs: len(x) = %d, len(dst) = %d: want equal multiples of 32", len(x), len(dst)))
	}
	for b := 0; b < len(x); b += 32 {
		even, odd, blk := dst[b:b+16], dst[b+16:b+32], x[b:b+32]
		for i := range 16 {
			even[i], odd[i] = blk[2*i], blk[2*i+1]
		}
	}
}

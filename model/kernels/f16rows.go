package kernels

import "fmt"

// FP16 rows: the attention kernels over a KV cache kept as IEEE binary16
// bits (the PIM device's cells), read in place and widened in registers.
//
// Each one is the twin of a float32 kernel and computes, bit for bit, what
// that kernel computes on the widened rows (widening is exact): same lanes,
// same FMAs, same order of partial sums. So attention over an FP16 cache
// equals attention over a float32 cache holding the same FP16-rounded
// vectors. For WeightedRowSumF16 this holds when dim is a multiple of the
// vector width (8 floats with AVX2, 16 with AVX-512: every head dim the
// device accepts), and always on the generic level; other dims agree
// within the float32 kernel's tolerance.

// DotRowsF16 sets dst[j] = Σ_c widen(rows[j·len(x)+c])·x[c] for every row
// j: attention's scores q·Kᵀ over len(dst) contiguous FP16 key rows of
// len(x) elements. len(rows) must be len(dst)·len(x). It equals
// MatVec(dst, Matrix{Rows: len(dst), Cols: len(x), DType: F32, F32:
// widen(rows)}, x) bit for bit.
//
// Hot path: once per query head per decoded token over a device-resident
// KV cache.
func DotRowsF16(dst []float32, rows []uint16, x []float32) {
	checkLen("DotRowsF16", "rows", len(rows), len(dst)*len(x))
	if len(dst) == 0 {
		return
	}
	if len(x) == 0 {
		clear(dst)
		return
	}
	done := dotRowsF16Arch(dst, rows, x)
	if done == len(x) {
		return
	}
	cols := len(x)
	for j := range dst {
		tail := dotF16Go(rows[j*cols+done:(j+1)*cols], x[done:])
		if done == 0 {
			dst[j] = tail
		} else {
			dst[j] += tail
		}
	}
}

// dotF16Go is the plain-Go twin of DotRowsF16 for one row: dotGo (four
// partial sums) on the widened values.
func dotF16Go(row []uint16, x []float32) float32 {
	x = x[:len(row)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(row); i += 4 {
		s0 += f16ToF32(row[i]) * x[i]
		s1 += f16ToF32(row[i+1]) * x[i+1]
		s2 += f16ToF32(row[i+2]) * x[i+2]
		s3 += f16ToF32(row[i+3]) * x[i+3]
	}
	for ; i < len(row); i++ {
		s0 += f16ToF32(row[i]) * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// WeightedRowSumF16 sets dst[d] = Σ_j w[j]·widen(rows[j·dim+d]) for d <
// dim: attention's Σ_j p_j·V_j over len(w) contiguous FP16 value rows. It
// is WeightedRowSum on the widened rows (bit for bit when dim is a multiple
// of the vector width; see above). dst is overwritten; it is all zeros when
// w is empty. len(dst) must be dim and len(rows) len(w)·dim.
//
// Hot path: once per query head per decoded token over a device-resident
// KV cache.
func WeightedRowSumF16(dst, w []float32, rows []uint16, dim int) {
	if dim < 0 {
		panic(fmt.Sprintf("kernels: WeightedRowSumF16: dim = %d, want ≥ 0", dim))
	}
	checkLen("WeightedRowSumF16", "dst", len(dst), dim)
	checkLen("WeightedRowSumF16", "rows", len(rows), len(w)*dim)
	if dim == 0 {
		return
	}
	if len(w) == 0 {
		clear(dst)
		return
	}
	if done := weightedRowSumF16Arch(dst, w, rows, dim); done < dim {
		weightedRowSumF16Go(dst[done:], w, rows[done:], dim)
	}
}

// weightedRowSumF16Go is the plain-Go twin: weightedRowSumGo on the
// widened values, dst[d] = Σ_j w[j]·widen(rows[j·stride+d]) for d <
// len(dst), rows walked one after another.
func weightedRowSumF16Go(dst, w []float32, rows []uint16, stride int) {
	clear(dst)
	for j, wj := range w {
		row := rows[j*stride:][:len(dst)]
		for d, v := range row {
			dst[d] += wj * f16ToF32(v)
		}
	}
}

package kernels

// scoreRowsArch does the first rows of ScoreRows in whole blocks of 16 on
// the AVX-512 level when dim is a multiple of 16 (the per-row sums of
// MatVec's AVX-512 kernel then cover every column), and returns how many
// rows it did; the caller does the rest with MatVec.
func scoreRowsArch(dst, rows, q []float32, dim int, scale float32) int {
	m := len(rows) / dim
	blocks := m / 16
	if active != isaAVX512 || dim%16 != 0 || blocks == 0 {
		return 0
	}
	if dim == 64 {
		scoreRows64AVX512(&dst[0], &rows[0], &q[0], blocks, len(q)/dim, m, scale)
		return blocks * 16
	}
	var scratch [16 * 16]float32
	scoreRows16AVX512(&dst[0], &rows[0], &q[0], blocks, len(q)/dim, dim, m, scale, &scratch[0])
	return blocks * 16
}

// weightedRowSumsArch does the queries of WeightedRowSums three at a time
// on the AVX-512 level when dim is 64 (the block WeightedRowSum does with
// rowSum64AVX512, whose FMAs and partial sums the three-query kernel
// repeats for each query), and returns how many queries it did.
func weightedRowSumsArch(dst, w, rows []float32, dim int) int {
	if active != isaAVX512 || dim != 64 {
		return 0
	}
	nq, m := len(dst)/dim, len(rows)/dim
	h := 0
	for ; h+3 <= nq; h += 3 {
		rowSum64x3AVX512(&dst[h*dim], &w[h*m], &rows[0], m, dim)
	}
	return h
}

// scoreRows16AVX512 (scores_amd64.s): for blocks of 16 rows and nq
// queries, dst[h·m + j] = scale·(rows[j]·q[h]) with the lanes and partial
// sums of matVecF32AVX512; scratch holds 16×16 floats.
//
//go:noescape
func scoreRows16AVX512(dst, rows, q *float32, blocks, nq, dim, m int, scale float32, scratch *float32)

// scoreRows64AVX512 (scores_amd64.s) is scoreRows16AVX512 for dim 64,
// unrolled.
//
//go:noescape
func scoreRows64AVX512(dst, rows, q *float32, blocks, nq, m int, scale float32)

// rowSum64x3AVX512 (scores_amd64.s): rowSum64AVX512 for three queries
// whose weights are count floats apart, into dst[0:64], dst[64:128] and
// dst[128:192].
//
//go:noescape
func rowSum64x3AVX512(dst, w, rows *float32, count, stride int)

// scoreRowsF16Arch is scoreRowsArch over FP16 rows, for dim 64 only (the
// rows of matVecF16AVX512, whose lanes and partial sums are those of the
// F32 kernel). For one query it widens each chunk in registers; for
// several it widens each block of 16 rows once into a scratch block (exact
// conversions) and runs the F32 kernel over it for all of them, instead
// of widening the block again for every query.
func scoreRowsF16Arch(dst []float32, rows []uint16, q []float32, dim int, scale float32) int {
	m := len(rows) / dim
	blocks := m / 16
	if active != isaAVX512 || dim != 64 || blocks == 0 {
		return 0
	}
	nq := len(q) / dim
	if nq == 1 {
		scoreRows64F16AVX512(&dst[0], &rows[0], &q[0], blocks, nq, m, scale)
		return blocks * 16
	}
	var wide [16 * 64]float32
	for b := range blocks {
		f16ToF32AVX2(&wide[0], &rows[b*16*64], 16*64)
		scoreRows64AVX512(&dst[b*16], &wide[0], &q[0], 1, nq, m, scale)
	}
	return blocks * 16
}

// weightedRowSumsF16Arch is weightedRowSumsArch over FP16 rows (repeating
// rowSum64F16AVX512 for each of three queries).
func weightedRowSumsF16Arch(dst, w []float32, rows []uint16, dim int) int {
	if active != isaAVX512 || dim != 64 {
		return 0
	}
	nq, m := len(dst)/dim, len(rows)/dim
	h := 0
	for ; h+3 <= nq; h += 3 {
		rowSum64x3F16AVX512(&dst[h*dim], &w[h*m], &rows[0], m, dim)
	}
	return h
}

// scoreRows64F16AVX512 (scores_amd64.s) is scoreRows64AVX512 with each
// 16-half chunk of a row widened by VCVTPH2PS before its FMA.
//
//go:noescape
func scoreRows64F16AVX512(dst *float32, rows *uint16, q *float32, blocks, nq, m int, scale float32)

// rowSum64x3F16AVX512 (scores_amd64.s) is rowSum64x3AVX512 over FP16 rows,
// each chunk widened once for the three queries.
//
//go:noescape
func rowSum64x3F16AVX512(dst, w *float32, rows *uint16, count, stride int)

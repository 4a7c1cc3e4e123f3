package kernels

import (
	"fmt"
	"sync"
)

// Design. A weight matrix is stored [N][K] (out × in), which is already the
// transpose of the B operand of x·Wᵀ, so both operands are contiguous along
// K and packing needs no transpose: a panel of weight rows is widened to
// float32 (16-bit types) into scratch, or used in place (F32). The
// micro-kernel then computes a tile of 4 activation rows × 4 (AVX-512) or
// 3 (AVX2) weight rows as dot products whose accumulators run along K and
// are reduced across lanes once per tile. With the whole K in one pass the
// reduction is a few percent of the work at K = 576 and the loop body is
// pure loads and FMAs (8 loads per 16 FMAs).

// MatMul sets dst = x·Wᵀ for n activation rows: x is [n][w.Cols], dst is
// [n][w.Rows], dst[i*Rows+r] = Σ_c x[i*Cols+c]·W[r,c]. It is the batched
// form of MatVec used for prefill; n may be any value ≥ 0.
//
// 16-bit weights are widened panel by panel into a scratch buffer taken from
// a package-level sync.Pool; Pool.MatMul keeps one per worker instead, which
// is what guarantees no allocation in steady state.
func MatMul(dst []float32, w Matrix, x []float32, n int) {
	checkMatMul("MatMul", dst, w, x, n)
	s := scratchPool.Get().(*[]float32)
	matMulRows(dst, w, x, n, 0, w.Rows, s)
	scratchPool.Put(s)
}

var scratchPool = sync.Pool{New: func() any { return new([]float32) }}

func checkMatMul(op string, dst []float32, w Matrix, x []float32, n int) {
	w.check()
	if n < 0 {
		panic(fmt.Sprintf("kernels: %s: n = %d", op, n))
	}
	checkLen(op, "x", len(x), n*w.Cols)
	checkLen(op, "dst", len(dst), n*w.Rows)
}

// panelBytes bounds one packed panel of float32 weight rows so that it stays
// in L2 while every block of activation rows sweeps it.
const panelBytes = 384 << 10

// rowUnit is the granularity of panels and of the split across workers: a
// multiple of every micro-kernel's weight-row count (4 and 3).
const rowUnit = 12

// panelRows is the number of weight rows per panel for k columns.
func panelRows(k int) int {
	rows := panelBytes / (4 * max(k, 1)) / rowUnit * rowUnit
	return max(rows, rowUnit)
}

// matMulRows computes output columns (weight rows) [r0, r1) for all n
// activation rows, packing 16-bit weights panel by panel into *scratch
// (grown when too small, reused otherwise).
func matMulRows(dst []float32, w Matrix, x []float32, n, r0, r1 int, scratch *[]float32) {
	if n == 0 || r0 == r1 {
		return
	}
	k := w.Cols
	step := panelRows(k)
	for p0 := r0; p0 < r1; p0 += step {
		p1 := min(p0+step, r1)
		var panel []float32
		if w.DType == F32 {
			panel = w.F32[p0*k : p1*k]
		} else {
			size := (p1 - p0) * k
			if cap(*scratch) < size {
				*scratch = make([]float32, step*k)
			}
			panel = (*scratch)[:size]
			w.widenTo(panel, p0, p1)
		}
		matMulPanel(dst, w.Rows, x, n, k, panel, p0, p1-p0)
	}
}

// matMulPanelGo is the plain-Go panel product: dst[i*ldd+c0+j] = x_i·panel_j
// for the np packed rows of panel.
func matMulPanelGo(dst []float32, ldd int, x []float32, n, k int, panel []float32, c0, np int) {
	for i := range n {
		xi := x[i*k : (i+1)*k]
		out := dst[i*ldd+c0 : i*ldd+c0+np]
		for j := range out {
			out[j] = dotGo(xi, panel[j*k:(j+1)*k])
		}
	}
}

package kernels

// MatVecBatch sets dst[i] = W·x[i] for n vectors x[i]: x is [n][w.Cols],
// dst is [n][w.Rows], as for MatMul. Every element is computed with
// exactly the float32 operations, in the same order, as MatVec computes
// it for that one vector, at every implementation level: the batched
// decode step gives each sequence Forward's numbers, bit for bit. (MatMul
// sums in another order.)
//
// The weights are read once for all n vectors, not once per vector: a
// panel of weight rows small enough to stay in cache is swept by every
// vector, in tiles of four vectors where a kernel for the matrix type
// exists (each vector keeping the matrix-vector kernel's own
// accumulators) and one at a time through the matrix-vector kernel
// otherwise.
func MatVecBatch(dst []float32, w Matrix, x []float32, n int) {
	checkMatMul("MatVecBatch", dst, w, x, n)
	s := scratchPool.Get().(*[]float32)
	matVecBatchRows(dst, w, x, splitRows(s, w, x, n), n, 0, w.Rows)
	scratchPool.Put(s)
}

// batchPanelRows is the number of weight rows every vector of a
// MatVecBatch sweeps before the next panel: at 576 bf16 columns, 72 KB,
// which stays in L2 while the vectors' tiles pass over it.
const batchPanelRows = 64

// splitRows returns the n rows of x ([n][w.Cols]) each split for w's
// matrix-vector kernel (splitForMatVec), [n][pairsCols(w)], in *buf, grown
// when too small; nil when w's kernel reads x as it is.
func splitRows(buf *[]float32, w Matrix, x []float32, n int) []float32 {
	k := pairsCols(w)
	if k == 0 || n == 0 {
		return nil
	}
	if cap(*buf) < n*k {
		*buf = make([]float32, n*k)
	}
	xs := (*buf)[:n*k]
	for i := range n {
		splitPairs(xs[i*k:(i+1)*k], x[i*w.Cols:i*w.Cols+k])
	}
	return xs
}

// matVecBatchRows computes weight rows [r0, r1) of MatVecBatch for all n
// vectors, panel by panel; xs is splitRows of x.
func matVecBatchRows(dst []float32, w Matrix, x, xs []float32, n, r0, r1 int) {
	k, m := w.Cols, w.Rows
	kp := len(xs) / max(n, 1)
	for p0 := r0; p0 < r1; p0 += batchPanelRows {
		p1 := min(p0+batchPanelRows, r1)
		for i := matVecBatchTiles(dst, w, x, xs, n, p0, p1); i < n; i++ {
			var xsi []float32
			if xs != nil {
				xsi = xs[i*kp : (i+1)*kp]
			}
			matVecSplitArch(dst[i*m:(i+1)*m], w, x[i*k:(i+1)*k], xsi, p0, p1)
		}
	}
}

// MatVecBatch is MatVecBatch with the weight rows split across the workers;
// the results are the same, bit for bit. One vector is a MatVec.
func (p *Pool) MatVecBatch(dst []float32, w Matrix, x []float32, n int) {
	checkMatMul("Pool.MatVecBatch", dst, w, x, n)
	if n == 1 {
		p.MatVec(dst, w, x)
		return
	}
	t := &p.mvb
	*t = matVecBatchTask{dst: dst, w: w, x: x, xs: splitRows(&p.split, w, x, n), n: n}
	if w.Rows*w.Cols*n < minParallelWeights {
		t.Do(0, 0, (w.Rows+batchUnitRows-1)/batchUnitRows)
	} else {
		p.Run((w.Rows+batchUnitRows-1)/batchUnitRows, t)
	}
	*t = matVecBatchTask{}
}

// batchUnitRows is the granularity in weight rows at which Pool.MatVecBatch
// splits a product across the workers.
const batchUnitRows = 16

type matVecBatchTask struct {
	dst   []float32
	w     Matrix
	x, xs []float32
	n     int
}

func (t *matVecBatchTask) Do(_, lo, hi int) {
	matVecBatchRows(t.dst, t.w, t.x, t.xs, t.n, batchUnitRows*lo, min(batchUnitRows*hi, t.w.Rows))
}

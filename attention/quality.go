package attention

import "starc/model/kernels"

// Quality sums how well the selections of the sparse layers match full
// attention, over every (decode step, sparse layer, query head) observed.
// Divide by Selections for means.
type Quality struct {
	Selections  int64   // (step, layer, head) triples observed
	Tokens      int64   // tokens attended, summed over selections
	Top10Recall float64 // Σ |top-10 of full attention ∩ selected| / min(10, n)
	MassRecall  float64 // Σ full-attention probability mass on the selected tokens
}

// Mean returns the per-selection means (tokens, top-10 recall, mass recall).
func (q Quality) Mean() (tokens, top10, mass float64) {
	if q.Selections == 0 {
		return 0, 0, 0
	}
	n := float64(q.Selections)
	return float64(q.Tokens) / n, q.Top10Recall / n, q.MassRecall / n
}

// metricsState keeps a position-indexed copy of the keys so that full
// attention scores can be computed whatever the store and the remap.
type metricsState struct {
	keys    []float32 // [layer][kvHead][pos][headDim]
	kvHeads int
	max, hd int
	scores  []float32
	sel     []int // [MaxTokens] a selection shifted to the sliding window's start
	q       Quality
}

func (m *metricsState) keysOf(layer, kvHead int) []float32 {
	b := (layer*m.kvHeads + kvHead) * m.max * m.hd
	return m.keys[b : b+m.max*m.hd]
}

// EnableQuality makes Decode measure every selection against full attention
// (costs one extra full attention pass per sparse layer). Call before the
// first token of a sequence.
func (e *Engine) EnableQuality() {
	c := e.cfg
	e.metrics = &metricsState{keys: make([]float32, c.Layers*c.KVHeads*c.MaxTokens*c.HeadDim),
		kvHeads: c.KVHeads, max: c.MaxTokens, hd: c.HeadDim, scores: make([]float32, c.MaxTokens), sel: make([]int, 0, c.MaxTokens)}
}

// Quality returns the sums so far (zero when not enabled).
func (e *Engine) Quality() Quality {
	if e.metrics == nil {
		return Quality{}
	}
	return e.metrics.q
}

func (m *metricsState) reset() { m.q = Quality{} }

func (m *metricsState) write(layer, kvHead, pos int, k []float32) {
	copy(m.keysOf(layer, kvHead)[pos*m.hd:(pos+1)*m.hd], k)
}

// observe scores every head of layer against full attention (over the
// sliding window when there is one).
func (m *metricsState) observe(e *Engine, layer int, q []float32, n int) {
	c := e.cfg
	hd, gs, lo := c.HeadDim, c.GroupSize(), e.windowStart(n)
	s := m.scores[:n-lo]
	for h := range c.QueryHeads {
		keys := m.keysOf(layer, h/gs)[lo*hd : n*hd]
		kernels.MatVec(s, kernels.Matrix{Rows: n - lo, Cols: hd, DType: kernels.F32, F32: keys}, q[h*hd:(h+1)*hd])
		sel := e.sel[h]
		if lo > 0 { // positions relative to the window's start
			m.sel = m.sel[:0]
			for _, p := range sel {
				m.sel = append(m.sel, p-lo)
			}
			sel = m.sel
		}
		m.q.Top10Recall += TopKRecall(s, sel, 10)
		kernels.Scale(s, e.task.scale) // the attention's own 1/√d: the mass is that of the real softmax
		kernels.Softmax(s)
		m.q.MassRecall += MassRecall(s, sel)
		m.q.Tokens += int64(len(e.sel[h]))
		m.q.Selections++
	}
}

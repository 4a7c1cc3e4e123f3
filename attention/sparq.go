package attention

import (
	"fmt"
	"math"

	"starc/model/kernels"
)

// sparq is SparQ Attention's selection (Ribar et al., arXiv 2312.04985;
// starc.md §3), per query head:
//
//  1. take the r = SparQRank components of q with the largest |q_i| (ties:
//     lower component first);
//  2. approximate every cached token's score with those components only,
//     Σ_{i∈r} q_i·k_i;
//  3. keep the Budget tokens with the largest approximate scores (ties:
//     lower position first).
//
// SparQ's softmax temperature on the approximate scores does not change
// their ranking, so it is not computed. SparQ's optional mean-value
// reallocation (mixing in the mean of all values) is not done: the Engine
// computes a plain softmax over the selected set, like every other method.
// Each query head selects on its own (the reference code's GQA variant,
// which shares one selection per KV group, is not implemented).
//
// Step 2 reads r columns of K. Bound to an Engine (KeySource), sparq reads
// them from the store's rows (the only copy of the keys; the device's FP16
// widened), gathering each column into scratch before the same Axpy.
// Used without an Engine it keeps the keys channel-major ([HeadDim]
// [capacity]) so that step 2 reads r contiguous columns.
type sparq struct {
	shape  methodShape
	src    KeySource // the store's keys once bound; nil: groups hold channel-major copies
	rank   int
	groups []sparqGroup   // [Layers*KVHeads]
	heads  []sparqScratch // [Layers*QueryHeads]
}

type sparqGroup struct {
	cols []float32 // [HeadDim*capacity] component i of token p at i*capacity+p
	cap  int       // tokens per column
	n    int       // keys appended
}

type sparqScratch struct {
	buf   headBuffer
	absQ  []float32 // [HeadDim]
	work  []uint32  // [HeadDim]
	comp  []int     // [rank] components kept
	col   []float32 // [n] one component of every key, gathered from the store
	col16 []uint16  // [n] the same from the device, before widening
}

func newSparQ(c Config) (Method, error) {
	if c.SparQRank < 1 || c.SparQRank > c.HeadDim {
		return nil, fmt.Errorf("attention: sparq: rank %d outside 1..%d (head dim)", c.SparQRank, c.HeadDim)
	}
	return &sparq{
		shape:  newMethodShape("sparq", c),
		rank:   c.SparQRank,
		groups: make([]sparqGroup, c.Layers*c.KVHeads),
		heads:  make([]sparqScratch, c.Layers*c.QueryHeads),
	}, nil
}

func (m *sparq) Name() string { return "sparq" }

func (m *sparq) readKeysFrom(src KeySource) { m.src = src }

func (m *sparq) Append(layer, kvHead, pos int, key []float32) {
	if m.shape.dense(layer, kvHead) {
		return
	}
	c := m.shape.cfg
	g := &m.groups[m.shape.group(layer, kvHead)]
	if pos != g.n {
		panic(fmt.Sprintf("attention: sparq: key of position %d appended after %d keys (want position order)", pos, g.n))
	}
	if len(key) != c.HeadDim {
		panic(fmt.Sprintf("attention: sparq: key has %d values, want head dim %d", len(key), c.HeadDim))
	}
	if m.src != nil {
		g.n++
		return
	}
	if g.n == g.cap { // first key, or past MaxTokens: double the columns
		newCap := max(c.MaxTokens, 2*g.cap)
		cols := make([]float32, c.HeadDim*newCap)
		for i := range c.HeadDim {
			copy(cols[i*newCap:], g.cols[i*g.cap:i*g.cap+g.n])
		}
		g.cols, g.cap = cols, newCap
	}
	for i, v := range key {
		g.cols[i*g.cap+g.n] = v
	}
	g.n++
}

func (m *sparq) Prepare(layer, kvHead, n int, _ Mover) {
	m.groups[m.shape.group(layer, kvHead)].check(n)
}

func (g *sparqGroup) check(n int) {
	if n < 1 || n > g.n {
		panic(fmt.Sprintf("attention: sparq: %d tokens requested but %d keys appended", n, g.n))
	}
}

func (m *sparq) Select(layer, head int, q []float32, n int, dst []int) []int {
	s := &m.heads[m.shape.head(layer, head)]
	if all, ok := m.shape.all(n); ok {
		return appendRange(dst, 0, all)
	}
	g := &m.groups[m.shape.group(layer, m.shape.kvHead(head))]
	g.check(n)
	hd := m.shape.cfg.HeadDim
	s.absQ, s.work = growTo(s.absQ, hd), growTo(s.work, hd)
	for i, v := range q[:hd] {
		s.absQ[i] = float32(math.Abs(float64(v)))
	}
	s.comp = appendTopK(s.comp[:0], s.absQ, m.rank, s.work)
	scores := s.buf.scores(n)
	clear(scores)
	if m.src != nil {
		f32, f16 := m.src.Keys(layer, m.shape.kvHead(head), 0, n)
		s.col = growTo(s.col, n)
		for _, i := range s.comp {
			if f16 != nil {
				s.col16 = growTo(s.col16, n)
				for p := range n {
					s.col16[p] = f16[p*hd+i]
				}
				kernels.F16ToF32(s.col, s.col16)
			} else {
				for p := range n {
					s.col[p] = f32[p*hd+i]
				}
			}
			kernels.Axpy(scores, q[i], s.col)
		}
		return appendTopK(dst, scores, m.shape.cfg.Budget, s.buf.work(n))
	}
	for _, i := range s.comp {
		kernels.Axpy(scores, q[i], g.cols[i*g.cap:i*g.cap+n])
	}
	return appendTopK(dst, scores, m.shape.cfg.Budget, s.buf.work(n))
}

func (m *sparq) Reset() {
	for i := range m.groups {
		m.groups[i].n = 0
	}
}

package attention

import (
	"fmt"
	"math"

	"starc/model/kernels"
)

// topK is exact token-wise sparsity: every query head attends to the Budget
// cached tokens with the largest q·k (ties: lower position first). It is the
// accuracy ceiling of any selection under a token budget and the worst case
// for row locality (what the STARC paper calls token-wise sparsity).
//
// It scores the store's keys in place (KeySource: float32, or the device's
// FP16 bits widened in the kernel); it never moves tokens, so position p is
// slot p. Used without an Engine it keeps its own copy of the keys Append
// shows it.
type topK struct {
	shape  methodShape
	src    KeySource    // the store's keys once bound; nil: keys holds copies
	keys   []keyLog     // [Layers*KVHeads]
	scores []headBuffer // [Layers*QueryHeads]
	group  [][]float32  // [Layers*KVHeads][GroupSize*n] scores of a group's heads (selectGroup)
}

func newTopK(c Config) (Method, error) {
	s := newMethodShape("topk", c)
	return &topK{
		shape:  s,
		keys:   make([]keyLog, c.Layers*c.KVHeads),
		scores: make([]headBuffer, c.Layers*c.QueryHeads),
		group:  make([][]float32, c.Layers*c.KVHeads),
	}, nil
}

func (m *topK) Name() string { return "topk" }

func (m *topK) readKeysFrom(src KeySource) { m.src = src }

func (m *topK) Append(layer, kvHead, pos int, key []float32) {
	if m.shape.dense(layer, kvHead) {
		return
	}
	m.keys[m.shape.group(layer, kvHead)].append(pos, key, m.shape.cfg, m.src == nil)
}

func (m *topK) Prepare(layer, kvHead, n int, _ Mover) {
	m.keys[m.shape.group(layer, kvHead)].check(n)
}

// Select scores every cached key exactly and keeps the best Budget.
func (m *topK) Select(layer, head int, q []float32, n int, dst []int) []int {
	if all, ok := m.shape.all(n); ok {
		return appendRange(dst, 0, all)
	}
	g := m.shape.kvHead(head)
	kl := &m.keys[m.shape.group(layer, g)]
	kl.check(n)
	buf := &m.scores[m.shape.head(layer, head)]
	hd := m.shape.cfg.HeadDim
	scores := buf.scores(n)
	keys := kl.keys
	if m.src != nil {
		var f16 []uint16
		if keys, f16 = m.src.Keys(layer, g, 0, n); f16 != nil {
			kernels.DotRowsF16(scores, f16, q[:hd])
			return appendTopK(dst, scores, m.shape.cfg.Budget, buf.work(n))
		}
	}
	kernels.ScoreRows(scores, keys[:n*hd], q[:hd], hd, 1) // = MatVec, bit for bit
	return appendTopK(dst, scores, m.shape.cfg.Budget, buf.work(n))
}

// selectGroup is Select for every query head of group g: one pass over the
// float32 keys scores all the group's queries (ScoreRows gives each the
// scores MatVec gives it, bit for bit), so the keys are read once per group
// instead of once per head. FP16 keys go head by head.
func (m *topK) selectGroup(layer, g int, q []float32, n int, dst [][]int) {
	gs, hd := m.shape.cfg.GroupSize(), m.shape.cfg.HeadDim
	kl := &m.keys[m.shape.group(layer, g)]
	_, all := m.shape.all(n)
	var f16 []uint16
	keys := kl.keys
	if !all && m.src != nil {
		keys, f16 = m.src.Keys(layer, g, 0, n)
	}
	if all || f16 != nil {
		for i := range gs {
			dst[i] = m.Select(layer, g*gs+i, q[i*hd:(i+1)*hd], n, dst[i])
		}
		return
	}
	kl.check(n)
	scores := growTo(m.group[m.shape.group(layer, g)], gs*n)
	m.group[m.shape.group(layer, g)] = scores
	kernels.ScoreRows(scores, keys[:n*hd], q[:gs*hd], hd, 1)
	for i := range gs {
		buf := &m.scores[m.shape.head(layer, g*gs+i)]
		dst[i] = appendTopK(dst[i], scores[i*n:(i+1)*n], m.shape.cfg.Budget, buf.work(n))
	}
}

func (m *topK) Reset() {
	for i := range m.keys {
		m.keys[i].reset()
	}
}

// methodShape holds what every method needs to index its per-(layer, head)
// state and to check the Engine's calls.
type methodShape struct {
	name string
	cfg  Config
}

func newMethodShape(name string, c Config) methodShape { return methodShape{name: name, cfg: c} }

// group is the index of (layer, kvHead) state.
func (s methodShape) group(layer, kvHead int) int {
	c := s.cfg
	if layer < 0 || layer >= c.Layers || kvHead < 0 || kvHead >= c.KVHeads {
		panic(fmt.Sprintf("attention: %s: layer %d / KV head %d out of range (%d layers, %d KV heads)",
			s.name, layer, kvHead, c.Layers, c.KVHeads))
	}
	return layer*c.KVHeads + kvHead
}

// head is the index of (layer, query head) scratch.
func (s methodShape) head(layer, head int) int {
	c := s.cfg
	if layer < 0 || layer >= c.Layers || head < 0 || head >= c.QueryHeads {
		panic(fmt.Sprintf("attention: %s: layer %d / query head %d out of range (%d layers, %d query heads)",
			s.name, layer, head, c.Layers, c.QueryHeads))
	}
	return layer*c.QueryHeads + head
}

// kvHead is the KV head query head h reads (GQA).
func (s methodShape) kvHead(h int) int { return h / s.cfg.GroupSize() }

// dense reports whether layer never reaches Prepare or Select, so its keys
// need not be kept. It also range-checks the arguments.
func (s methodShape) dense(layer, kvHead int) bool {
	s.group(layer, kvHead)
	return layer < s.cfg.DenseLayers
}

// all returns n and true when the budget covers every token.
func (s methodShape) all(n int) (int, bool) {
	b := s.cfg.Budget
	return n, b == 0 || b >= n
}

func appendRange(dst []int, lo, hi int) []int {
	for p := lo; p < hi; p++ {
		dst = append(dst, p)
	}
	return dst
}

// keyLog counts one (layer, KV head)'s keys in position order and, for a
// method not bound to a KeySource, keeps a copy of them. Its backing array
// is allocated at MaxTokens on the first kept Append and grows amortised
// beyond that, so steady-state appends do not allocate.
type keyLog struct {
	keys []float32 // [n*HeadDim] when kept, else empty
	n    int
}

func (kl *keyLog) append(pos int, key []float32, c Config, keep bool) {
	if pos != kl.n {
		panic(fmt.Sprintf("attention: key of position %d appended after %d keys (want position order)", pos, kl.n))
	}
	if len(key) != c.HeadDim {
		panic(fmt.Sprintf("attention: key has %d values, want head dim %d", len(key), c.HeadDim))
	}
	if !keep {
		kl.n++
		return
	}
	if kl.keys == nil {
		kl.keys = make([]float32, 0, c.MaxTokens*c.HeadDim)
	}
	kl.keys = append(kl.keys, key...)
	kl.n++
}

// check panics unless the first n keys are present.
func (kl *keyLog) check(n int) {
	if n < 1 || n > kl.n {
		panic(fmt.Sprintf("attention: %d tokens requested but %d keys appended", n, kl.n))
	}
}

func (kl *keyLog) reset() { kl.keys, kl.n = kl.keys[:0], 0 }

// headBuffer is per-(layer, query head) scratch, so Select calls of
// different heads never share memory.
type headBuffer struct {
	s []float32 // [n] scores
	w []uint32  // [n] selection scratch
}

func (b *headBuffer) scores(n int) []float32 { b.s = growTo(b.s, n); return b.s }
func (b *headBuffer) work(n int) []uint32    { b.w = growTo(b.w, n); return b.w }

// growTo returns s with length n, reallocating (with headroom) only when
// its capacity is short.
func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, 2*cap(s)))
	}
	return s[:n]
}

// rankable maps NaN to −Inf so that every comparison is a total order.
func rankable(v float32) float32 {
	if v != v {
		return float32(math.Inf(-1))
	}
	return v
}

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
}

func newTopK(c Config) (Method, error) {
	s := newMethodShape("topk", c)
	return &topK{
		shape:  s,
		keys:   make([]keyLog, c.Layers*c.KVHeads),
		scores: make([]headBuffer, c.Layers*c.QueryHeads),
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
	kernels.MatVec(scores, kernels.Matrix{Rows: n, Cols: hd, DType: kernels.F32, F32: keys[:n*hd]}, q[:hd])
	return appendTopK(dst, scores, m.shape.cfg.Budget, buf.work(n))
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

// appendTopK appends to dst the indices of the k largest scores (ties:
// lower index first; NaN ranks as −Inf, −0 as +0) and returns dst. work is
// scratch of len(scores). The appended indices are ascending.
//
// Hot path: a radix selection of the k-th largest score (one pass over all
// scores, then passes over the few sharing its leading bytes) and one scan;
// no sort of the n scores.
func appendTopK(dst []int, scores []float32, k int, work []uint32) []int {
	n := len(scores)
	if k >= n {
		return appendRange(dst, 0, n)
	}
	if k <= 0 {
		return dst
	}
	cand := work[:n]
	for i, v := range scores {
		cand[i] = orderKey(v)
	}
	// Most significant byte first: find the byte of the k-th largest key
	// among the candidates, keep only the candidates with that byte.
	need, thr := k, uint32(0)
	for shift := 24; shift >= 0; shift -= 8 {
		var hist [256]int32
		for _, x := range cand {
			hist[x>>shift&0xff]++
		}
		bin, above := 255, 0
		for ; above+int(hist[bin]) < need; bin-- {
			above += int(hist[bin])
		}
		need -= above
		thr |= uint32(bin) << shift
		kept := 0
		for _, x := range cand {
			if x>>shift&0xff == uint32(bin) {
				cand[kept] = x
				kept++
			}
		}
		cand = cand[:kept]
	}
	// thr is the k-th largest key; need of the keys equal to it are taken,
	// lowest index first.
	for i, v := range scores {
		switch x := orderKey(v); {
		case x > thr:
			dst = append(dst, i)
		case x == thr && need > 0:
			dst = append(dst, i)
			need--
		}
	}
	return dst
}

// orderKey maps a score to an integer of the same order: NaN as −Inf and
// −0 as +0, larger score → larger key.
func orderKey(v float32) uint32 {
	b := math.Float32bits(v)
	switch abs := b &^ (1 << 31); {
	case abs > 0x7f800000: // NaN ranks as −Inf
		b = 0xff800000
	case abs == 0: // −0 ranks as +0
		b = 0
	}
	// Negative: flip every bit; positive: set the sign bit.
	return b ^ (uint32(int32(b)>>31) | 1<<31)
}

// rankable maps NaN to −Inf so that every comparison is a total order.
func rankable(v float32) float32 {
	if v != v {
		return float32(math.Inf(-1))
	}
	return v
}

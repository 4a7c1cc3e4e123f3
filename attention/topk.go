package attention

import (
	"fmt"
	"math"
	"slices"

	"starc/model/kernels"
)

// topK is exact token-wise sparsity: every query head attends to the Budget
// cached tokens with the largest q·k (ties: lower position first). It is the
// accuracy ceiling of any selection under a token budget and the worst case
// for row locality (what the STARC paper calls token-wise sparsity).
//
// It keeps its own position-ordered copy of the keys (from Append), so its
// scores do not depend on the physical layout.
type topK struct {
	shape  methodShape
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

func (m *topK) Append(layer, kvHead, pos int, key []float32) {
	if m.shape.dense(layer, kvHead) {
		return
	}
	m.keys[m.shape.group(layer, kvHead)].append(pos, key, m.shape.cfg)
}

func (m *topK) Prepare(layer, kvHead, n int, _ Mover) {
	m.keys[m.shape.group(layer, kvHead)].check(n)
}

// Select scores every cached key exactly and keeps the best Budget.
func (m *topK) Select(layer, head int, q []float32, n int, dst []int) []int {
	if all, ok := m.shape.all(n); ok {
		return appendRange(dst, 0, all)
	}
	kl := &m.keys[m.shape.group(layer, m.shape.kvHead(head))]
	kl.check(n)
	buf := &m.scores[m.shape.head(layer, head)]
	hd := m.shape.cfg.HeadDim
	scores := buf.scores(n)
	keys := kernels.Matrix{Rows: n, Cols: hd, DType: kernels.F32, F32: kl.keys[:n*hd]}
	kernels.MatVec(scores, keys, q[:hd])
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

// keyLog is a position-ordered copy of one (layer, KV head)'s keys. Its
// backing array is allocated at MaxTokens on the first Append and grows
// amortised beyond that, so steady-state appends do not allocate.
type keyLog struct {
	keys []float32 // [n*HeadDim]
	n    int
}

func (kl *keyLog) append(pos int, key []float32, c Config) {
	if pos != kl.n {
		panic(fmt.Sprintf("attention: key of position %d appended after %d keys (want position order)", pos, kl.n))
	}
	if len(key) != c.HeadDim {
		panic(fmt.Sprintf("attention: key has %d values, want head dim %d", len(key), c.HeadDim))
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
type headBuffer struct{ s, w []float32 }

func (b *headBuffer) scores(n int) []float32 { b.s = growTo(b.s, n); return b.s }
func (b *headBuffer) work(n int) []float32   { b.w = growTo(b.w, n); return b.w }

// growTo returns s with length n, reallocating (with headroom) only when
// its capacity is short.
func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, 2*cap(s)))
	}
	return s[:n]
}

// appendTopK appends to dst the indices of the k largest scores (ties:
// lower index first; NaN ranks below every number) and returns dst. work is
// scratch of len(scores). The order of the appended indices is ascending.
//
// Hot path: an expected O(n) selection of the k-th largest value, then one
// scan; no sort of the n scores.
func appendTopK(dst []int, scores []float32, k int, work []float32) []int {
	n := len(scores)
	if k >= n {
		return appendRange(dst, 0, n)
	}
	if k <= 0 {
		return dst
	}
	work = work[:n]
	for i, v := range scores {
		work[i] = rankable(v)
	}
	thr := kthLargest(work, k)
	greater := 0
	for _, v := range scores {
		if rankable(v) > thr {
			greater++
		}
	}
	ties := k - greater
	for i, v := range scores {
		switch r := rankable(v); {
		case r > thr:
			dst = append(dst, i)
		case r == thr && ties > 0:
			dst = append(dst, i)
			ties--
		}
	}
	return dst
}

// rankable maps NaN to −Inf so that every comparison is a total order.
func rankable(v float32) float32 {
	if v != v {
		return float32(math.Inf(-1))
	}
	return v
}

// kthLargest returns the k-th largest value of x (1 ≤ k ≤ len(x)),
// reordering x. Quickselect with a three-way partition (many equal scores
// stay linear) and median-of-three pivots; after 2·log2(n) rounds the
// remaining range is sorted instead, bounding the worst case.
func kthLargest(x []float32, k int) float32 {
	lo, hi, want := 0, len(x), k-1 // want: index in descending order
	for budget := 2 * (bitsLen(len(x)) + 1); hi-lo > 16 && budget > 0; budget-- {
		a, b, c := x[lo], x[lo+(hi-lo)/2], x[hi-1]
		pivot := max(min(a, b), min(max(a, b), c))
		// Partition x[lo:hi] into > pivot | == pivot | < pivot.
		gt, i, lt := lo, lo, hi
		for i < lt {
			switch v := x[i]; {
			case v > pivot:
				x[gt], x[i] = x[i], x[gt]
				gt++
				i++
			case v < pivot:
				lt--
				x[lt], x[i] = x[i], x[lt]
			default:
				i++
			}
		}
		switch {
		case want < gt:
			hi = gt
		case want < lt:
			return pivot
		default:
			lo = lt
		}
	}
	part := x[lo:hi]
	slices.Sort(part) // ascending
	return part[len(part)-1-(want-lo)]
}

func bitsLen(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}

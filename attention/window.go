package attention

import (
	"fmt"
	"math"

	"starc/model/kernels"
)

// Sliding-window attention (Mistral's sliding_window): the query at
// position p attends to positions max(0, p−W+1) … p, its own included, in
// prefill and in decode, in every layer and whatever the method. This is
// HF transformers' mask (a key j is hidden from query i when j ≤ i − W).
//
// The store keeps every token: there is no ring buffer, positions stay
// slots (or STARC's remapped slots), and the capacity counts the whole
// sequence, so a context longer than the window runs at the same memory
// as without one. Methods keep their per-position state over the whole
// sequence too; only what a head attends to is restricted:
//
//   - prefill multiplies a block's queries by the keys the block's first
//     query can see on, and masks each query's scores outside its window
//     before the softmax;
//   - dense layers and full attention read the window's tokens only;
//   - topk scores the window's keys and keeps the best Budget of them;
//     sparq does the same with its approximate scores;
//   - quest and quest-kernel rank the pages that overlap the window (the
//     first one cut at the window's start counts as a page) and attend to
//     the chosen pages' tokens in the window: k = max(3, Budget/PageSize)
//     of them, or all when they are fewer;
//   - starc attends to its buffer's tokens in the window, then ranks the
//     clusters with members in the window and takes those members, best
//     cluster first, to the budget;
//   - streaming (and any other method) selects as usual over all cached
//     tokens, then its choices before the window are dropped and replaced
//     by the most recent window tokens it did not choose, so it attends to
//     as many tokens as it chose, all of them in the window (streaming's
//     sinks fall out of the window and become recent tokens).

// windowState is the Engine's sliding window.
type windowState struct {
	size   int    // W; 0: no window
	chosen []bool // [MaxTokens] selectWindow scratch, false between calls
}

// windowSelector is implemented by methods that select within positions
// lo … n−1 themselves.
type windowSelector interface {
	selectWindow(layer, head int, q []float32, lo, n int, dst []int) []int
}

// SetSlidingWindow restricts every query to the w most recent positions,
// its own included; 0 lifts the restriction. Call it before the first
// token of a sequence (Reset keeps it). Panics on a negative w.
func (e *Engine) SetSlidingWindow(w int) {
	if w < 0 {
		panic(fmt.Sprintf("attention: sliding window %d is negative", w))
	}
	e.window.size = w
	if w > 0 && e.window.chosen == nil {
		e.window.chosen = make([]bool, e.cfg.MaxTokens)
	}
}

// SlidingWindow is the window set by SetSlidingWindow (0: none).
func (e *Engine) SlidingWindow() int { return e.window.size }

// windowStart is the first position the query at position n−1 may see.
func (e *Engine) windowStart(n int) int {
	if w := e.window.size; w > 0 && n > w {
		return n - w
	}
	return 0
}

// collectWindow makes every head of group g read the tokens of the window
// ending at position n−1 (collectAll without a window).
func (e *Engine) collectWindow(layer, g, n int) {
	e.collectRange(layer, g, e.windowStart(n), n)
}

// selectWindow is the method's selection for head h restricted to the
// window (see the top of this file).
func (e *Engine) selectWindow(layer, h int, q []float32, n int, dst []int) []int {
	lo := e.windowStart(n)
	if lo == 0 {
		return e.method.Select(layer, h, q, n, dst)
	}
	if ws, ok := e.method.(windowSelector); ok {
		return ws.selectWindow(layer, h, q, lo, n, dst)
	}
	first := len(dst)
	dst = e.method.Select(layer, h, q, n, dst)
	want := min(len(dst)-first, n-lo)
	chosen := e.window.chosen
	kept := first
	for _, p := range dst[first:] {
		if p >= lo && p < n {
			dst[kept] = p
			kept++
			chosen[p] = true
		}
	}
	dst = dst[:kept]
	for p := n - 1; p >= lo && len(dst)-first < want; p-- {
		if !chosen[p] {
			dst = append(dst, p)
		}
	}
	for _, p := range dst[first:kept] {
		chosen[p] = false
	}
	return dst
}

// selectWindow is topk over the window: the window's keys are scored
// exactly and the best Budget kept (ties: lower position first).
func (m *topK) selectWindow(layer, head int, q []float32, lo, n int, dst []int) []int {
	if b := m.shape.cfg.Budget; b == 0 || b >= n-lo {
		m.shape.head(layer, head)
		return appendRange(dst, lo, n)
	}
	g := m.shape.kvHead(head)
	kl := &m.keys[m.shape.group(layer, g)]
	kl.check(n)
	buf := &m.scores[m.shape.head(layer, head)]
	hd, w := m.shape.cfg.HeadDim, n-lo
	scores := buf.scores(w)
	if m.src != nil {
		if keys, f16 := m.src.Keys(layer, g, lo, n); f16 != nil {
			kernels.DotRowsF16(scores, f16, q[:hd])
		} else {
			kernels.MatVec(scores, kernels.Matrix{Rows: w, Cols: hd, DType: kernels.F32, F32: keys}, q[:hd])
		}
	} else {
		kernels.MatVec(scores, kernels.Matrix{Rows: w, Cols: hd, DType: kernels.F32, F32: kl.keys[lo*hd : n*hd]}, q[:hd])
	}
	first := len(dst)
	dst = appendTopK(dst, scores, m.shape.cfg.Budget, buf.work(w))
	for i := first; i < len(dst); i++ {
		dst[i] += lo
	}
	return dst
}

// selectWindow is sparq over the window: the approximate scores of the
// window's keys, the best Budget kept (ties: lower position first).
func (m *sparq) selectWindow(layer, head int, q []float32, lo, n int, dst []int) []int {
	s := &m.heads[m.shape.head(layer, head)]
	if b := m.shape.cfg.Budget; b == 0 || b >= n-lo {
		return appendRange(dst, lo, n)
	}
	g := &m.groups[m.shape.group(layer, m.shape.kvHead(head))]
	g.check(n)
	hd, w := m.shape.cfg.HeadDim, n-lo
	s.absQ, s.work = growTo(s.absQ, hd), growTo(s.work, hd)
	for i, v := range q[:hd] {
		s.absQ[i] = float32(math.Abs(float64(v)))
	}
	s.comp = appendTopK(s.comp[:0], s.absQ, m.rank, s.work)
	scores := s.buf.scores(w)
	clear(scores)
	if m.src != nil {
		f32, f16 := m.src.Keys(layer, m.shape.kvHead(head), lo, n)
		s.col = growTo(s.col, w)
		for _, i := range s.comp {
			if f16 != nil {
				s.col16 = growTo(s.col16, w)
				for p := range w {
					s.col16[p] = f16[p*hd+i]
				}
				kernels.F16ToF32(s.col, s.col16)
			} else {
				for p := range w {
					s.col[p] = f32[p*hd+i]
				}
			}
			kernels.Axpy(scores, q[i], s.col)
		}
	} else {
		for _, i := range s.comp {
			kernels.Axpy(scores, q[i], g.cols[i*g.cap+lo:i*g.cap+n])
		}
	}
	first := len(dst)
	dst = appendTopK(dst, scores, m.shape.cfg.Budget, s.buf.work(w))
	for i := first; i < len(dst); i++ {
		dst[i] += lo
	}
	return dst
}

// selectWindow is Quest over the pages overlapping the window (see the
// top of this file): the same page bounds, ranked among those pages only.
func (m *quest) selectWindow(layer, head int, q []float32, lo, n int, dst []int) []int {
	buf := &m.heads[m.shape.head(layer, head)]
	c := m.shape.cfg
	if b := c.Budget; b == 0 || b >= n-lo {
		return appendRange(dst, lo, n)
	}
	g := &m.groups[m.shape.group(layer, m.shape.kvHead(head))]
	g.check(m.shape.name, n)
	ps, hd := c.PageSize, c.HeadDim
	p0, pages := lo/ps, (n+ps-1)/ps
	k := m.pagesFor(pages - p0)
	if k >= pages-p0 {
		return appendRange(dst, lo, n)
	}
	candidates := pages
	if m.kernel { // the last page is always kept and counts against k
		candidates, k = pages-1, k-1
	}
	scores := m.pageScores(buf, q[:hd], g, candidates)[p0:]
	first := len(dst)
	dst = appendTopK(dst, scores, k, buf.work(candidates-p0))
	for i := first; i < len(dst); i++ {
		dst[i] += p0
	}
	if m.kernel {
		dst = append(dst, pages-1)
	}
	// Expand the chosen pages (ascending, in dst[first:]) into their tokens
	// in the window, in place from the back.
	chosen, total := len(dst)-first, 0
	for _, p := range dst[first:] {
		total += min((p+1)*ps, n) - max(p*ps, lo)
	}
	for len(dst) < first+total {
		dst = append(dst, 0)
	}
	wr := first + total
	for i := first + chosen - 1; i >= first; i-- {
		p := dst[i]
		for t := min((p+1)*ps, n) - 1; t >= max(p*ps, lo); t-- {
			wr--
			dst[wr] = t
		}
	}
	return dst
}

// selectWindow is STARC within the window: the buffer's tokens in the
// window always (they count against the budget, as without a window), then
// the clusters with members in the window, ranked by q·μ as usual, each
// giving its members in the window (ascending position) until the budget
// is filled.
func (m *starc) selectWindow(layer, head int, q []float32, lo, n int, dst []int) []int {
	s := &m.heads[m.shape.head(layer, head)]
	c := m.shape.cfg
	if c.Budget == 0 || c.Budget >= n-lo {
		return appendRange(dst, lo, n)
	}
	g := &m.groups[m.shape.group(layer, m.shape.kvHead(head))]
	if !g.started {
		panic("attention: starc: Select before the first Prepare")
	}
	g.keys.check(n)
	from := max(g.clustered, lo)
	dst = appendRange(dst, from, n)
	left := c.Budget - (n - from)
	if left <= 0 || lo >= g.clustered {
		return dst
	}
	clusters := len(g.size)
	s.scores = growTo(s.scores, clusters)
	centroids := kernels.Matrix{Rows: clusters, Cols: c.HeadDim, DType: kernels.F32, F32: g.centroids}
	kernels.MatVec(s.scores, centroids, q[:c.HeadDim])
	ranks := s.ranks[:0]
	for id, members := range g.size {
		// members are in ascending position: the last one tells whether any is in the window
		if members > 0 && int(g.posAt[g.start[id]+members-1]) >= lo {
			ranks = append(ranks, rankKey(s.scores[id], id))
		}
	}
	s.ranks = ranks
	ranks.init()
	for left > 0 && len(ranks) > 0 {
		id := uint32(ranks.pop())
		first, members := int(g.start[id]), int(g.size[id])
		for _, p := range g.posAt[first : first+members] {
			if int(p) >= lo && left > 0 {
				dst = append(dst, int(p))
				left--
			}
		}
	}
	return dst
}

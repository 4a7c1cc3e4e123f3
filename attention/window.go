package attention

import (
	"fmt"

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
//   - prefill masks the scores outside the window before the softmax;
//   - dense layers and full attention read the window's tokens only;
//   - topk scores the window's keys and keeps the best Budget of them;
//   - every other method selects as usual over all cached tokens, then its
//     choices before the window are dropped and replaced by the most recent
//     window tokens it did not choose, so it attends to as many tokens as it
//     chose, all of them in the window (STARC's and Quest's clusters and
//     pages straddling the window's start are cut there; streaming's sinks
//     fall out of the window and become recent tokens).

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
	lo := e.windowStart(n)
	if lo == 0 {
		e.collectAll(layer, g, n)
		return
	}
	c := e.cfg
	slotOf := e.slotOf[layer*c.KVHeads+g]
	slots := e.slots[g][:0]
	for p := lo; p < n; p++ {
		slots = append(slots, slotOf[p])
	}
	e.slots[g] = slots
	e.read(layer, g, n)
	for h := g * c.GroupSize(); h < (g+1)*c.GroupSize(); h++ {
		rows := e.rows[h][:0]
		if e.inPlace() {
			rows = append(rows, slots...)
		} else {
			for i := range n - lo {
				rows = append(rows, i)
			}
		}
		e.rows[h] = rows
	}
	e.shared[g] = true // every head of the group reads the window: one pass (attendGroup)
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

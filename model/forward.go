package model

import (
	"fmt"

	"starc/model/kernels"
)

// Forward consumes one token at the state's position and returns the
// logits for the next one ([Vocab], owned by st, valid until the next call).
//
// Hot path: the whole per-token pass, top to bottom, no allocation.
func (m *Model) Forward(st *State, token int) ([]float32, error) {
	c, pool, pos := m.Config, st.pool, st.pos
	if err := m.check(st, token, 1); err != nil {
		return nil, err
	}
	x := st.x
	m.Embed.RowTo(x, token) // x = embedding of the token
	for l := range m.Layers {
		w := &m.Layers[l]
		// Attention block: x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n), n = RMSNorm(x).
		kernels.RMSNorm(st.xb, x, w.AttnNorm, c.RMSEps)
		pool.MatVec(st.q, w.Wq, st.xb)
		pool.MatVec(st.k, w.Wk, st.xb)
		pool.MatVec(st.v, w.Wv, st.xb)
		m.rope(st.q, c.Heads, pos)
		m.rope(st.k, c.KVHeads, pos)
		st.Attn.Decode(l, pos, st.q, st.k, st.v, st.att) // K/V stored, selected, read back
		pool.MatVec(st.xb, w.Wo, st.att)
		kernels.Add(x, st.xb)
		// MLP block: x += Wdown · (silu(Wgate·n) ⊙ Wup·n), n = RMSNorm(x).
		kernels.RMSNorm(st.xb, x, w.MLPNorm, c.RMSEps)
		pool.MatVec(st.hb, w.Wgate, st.xb)
		pool.MatVec(st.hb2, w.Wup, st.xb)
		kernels.SiLUMul(st.hb, st.hb, st.hb2)
		pool.MatVec(st.xb, w.Wdown, st.hb)
		kernels.Add(x, st.xb)
	}
	kernels.RMSNorm(x, x, m.Norm, c.RMSEps)
	pool.MatVec(st.logits, m.LMHead, x) // logits = LMHead · RMSNorm(x)
	st.pos++
	return st.logits, nil
}

// Prefill consumes ids in blocks through batched matrix products and
// returns the logits after the last one (owned by st).
func (m *Model) Prefill(st *State, ids []int) ([]float32, error) {
	return st.logits, m.prefill(st, ids, len(ids)-1, nil)
}

// PrefillEach is Prefill that also calls each(i, logits) with the logits
// after ids[i] for every i >= from, in order. The slice is reused.
func (m *Model) PrefillEach(st *State, ids []int, from int, each func(i int, logits []float32)) error {
	return m.prefill(st, ids, from, each)
}

func (m *Model) prefill(st *State, ids []int, from int, each func(int, []float32)) error {
	if len(ids) == 0 {
		return fmt.Errorf("model: prefill of zero tokens")
	}
	if err := m.check(st, ids[0], len(ids)); err != nil {
		return err
	}
	for i, id := range ids {
		if id < 0 || id >= m.Config.Vocab {
			return fmt.Errorf("model: token %d at index %d is outside the vocabulary (size %d)", id, i, m.Config.Vocab)
		}
	}
	if each != nil && st.blogits == nil {
		st.blogits = make([]float32, min(st.block, logitRows)*m.Config.Vocab)
	}
	for start := 0; start < len(ids); start += st.block {
		end := min(start+st.block, len(ids))
		m.prefillBlock(st, ids[start:end])
		m.blockLogits(st, start, end, from, len(ids)-1, each)
	}
	return nil
}

// prefillBlock runs one block of tokens through every layer with GEMMs;
// on return st.bx holds the final residual stream of each token.
func (m *Model) prefillBlock(st *State, ids []int) {
	c, pool, n, pos0 := m.Config, st.pool, len(ids), st.pos
	dim, qd, kvd := c.Dim, c.QDim(), c.KVDim()
	x, xb := st.bx[:n*dim], st.bxb[:n*dim]
	q, k, v, att := st.bq[:n*qd], st.bk[:n*kvd], st.bv[:n*kvd], st.batt[:n*qd]
	hb, hb2 := st.bhb[:n*c.FFN], st.bhb2[:n*c.FFN]
	for i, id := range ids {
		m.Embed.RowTo(x[i*dim:(i+1)*dim], id)
	}
	for l := range m.Layers {
		w := &m.Layers[l]
		rmsNormRows(xb, x, w.AttnNorm, c.RMSEps, dim)
		pool.MatMul(q, w.Wq, xb, n)
		pool.MatMul(k, w.Wk, xb, n)
		pool.MatMul(v, w.Wv, xb, n)
		for i := range n {
			m.rope(q[i*qd:(i+1)*qd], c.Heads, pos0+i)
			m.rope(k[i*kvd:(i+1)*kvd], c.KVHeads, pos0+i)
		}
		st.Attn.Prefill(l, pos0, n, q, k, v, att)
		pool.MatMul(xb, w.Wo, att, n)
		kernels.Add(x, xb)
		rmsNormRows(xb, x, w.MLPNorm, c.RMSEps, dim)
		pool.MatMul(hb, w.Wgate, xb, n)
		pool.MatMul(hb2, w.Wup, xb, n)
		kernels.SiLUMul(hb, hb, hb2)
		pool.MatMul(xb, w.Wdown, hb, n)
		kernels.Add(x, xb)
	}
	st.pos += n
}

// blockLogits computes the logits the caller asked for out of the block
// [start, end) of the prompt: every i >= from for each, and always the last.
func (m *Model) blockLogits(st *State, start, end, from, last int, each func(int, []float32)) {
	c := m.Config
	dim, vocab := c.Dim, c.Vocab
	lo := max(start, from)
	if each == nil || lo >= end {
		if last >= start && last < end {
			xl := st.bx[(last-start)*dim : (last-start+1)*dim]
			kernels.RMSNorm(xl, xl, m.Norm, c.RMSEps)
			st.pool.MatVec(st.logits, m.LMHead, xl)
		}
		return
	}
	xs := st.bx[(lo-start)*dim : (end-start)*dim]
	rmsNormRows(xs, xs, m.Norm, c.RMSEps, dim)
	for r0 := lo; r0 < end; r0 += logitRows { // the LM head in slices, to bound the logits buffer
		n := min(logitRows, end-r0)
		st.pool.MatMul(st.blogits[:n*vocab], m.LMHead, st.bx[(r0-start)*dim:(r0-start+n)*dim], n)
		for i := range n {
			row := st.blogits[i*vocab : (i+1)*vocab]
			each(r0+i, row)
			if r0+i == last {
				copy(st.logits, row)
			}
		}
	}
}

// logitRows is how many positions' logits PrefillEach computes at once
// (128 × a 49152-token vocabulary = 25 MB).
const logitRows = 128

func rmsNormRows(dst, x, weight []float32, eps float32, dim int) {
	for i := 0; i < len(x); i += dim {
		kernels.RMSNorm(dst[i:i+dim], x[i:i+dim], weight, eps)
	}
}

// check validates a token and that n more tokens fit in the state.
func (m *Model) check(st *State, token, n int) error {
	if token < 0 || token >= m.Config.Vocab {
		return fmt.Errorf("model: token %d is outside the vocabulary (size %d)", token, m.Config.Vocab)
	}
	if st.pos+n > st.max {
		return fmt.Errorf("%w: %d tokens at position %d exceed the capacity of %d", ErrContextFull, n, st.pos, st.max)
	}
	return nil
}

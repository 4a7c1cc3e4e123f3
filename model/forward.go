package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"unsafe"

	"starc/model/kernels"
)

// Forward consumes one token at the state's position and returns the
// logits for the next one ([Vocab], owned by st, valid until the next call).
// A NaN or an infinity in the residual stream or the logits is an error
// wrapping ErrNonFinite that names where it first appeared; the state is
// then unusable until Reset.
//
// Hot path: the whole per-token pass, top to bottom, no allocation.
func (m *Model) Forward(st *State, token int) (_ []float32, err error) {
	defer recoverFault(&err, debug.SetPanicOnFault(true))
	c, pool, pos := m.Config, st.pool, st.pos
	if err := m.check(st, token, 1); err != nil {
		return nil, err
	}
	rt := m.ropeFor(st.max)
	x := st.x
	m.Embed.RowTo(x, token) // x = embedding of the token
	if !finite(x) {
		return nil, nonFinite(pos, token, "the embedding", -1)
	}
	for l := range m.Layers {
		w := &m.Layers[l]
		// Attention block: x += Wo · attention(rope(Wq·n+bq), rope(Wk·n+bk), Wv·n+bv), n = RMSNorm(x).
		kernels.RMSNorm(st.xb, x, w.AttnNorm, c.RMSEps)
		pool.MatVecs(st.xb, kernels.Product{Dst: st.q, W: w.Wq}, kernels.Product{Dst: st.k, W: w.Wk}, kernels.Product{Dst: st.v, W: w.Wv})
		addBias(st.q, w.Bq, c.QDim()) // Qwen2's biases; nothing for Llama and Mistral
		addBias(st.k, w.Bk, c.KVDim())
		addBias(st.v, w.Bv, c.KVDim())
		m.rotate(rt, st.q, c.Heads, pos)
		m.rotate(rt, st.k, c.KVHeads, pos)
		st.Attn.Decode(l, pos, st.q, st.k, st.v, st.att) // K/V stored, selected, read back
		pool.MatVec(st.xb, w.Wo, st.att)
		kernels.Add(x, st.xb)
		if !finite(x) { // one pass over [Dim] per block: about 0.1 % of a token
			return nil, nonFinite(pos, token, "the attention block", l)
		}
		// MLP block: x += Wdown · (silu(Wgate·n) ⊙ Wup·n), n = RMSNorm(x).
		kernels.RMSNorm(st.xb, x, w.MLPNorm, c.RMSEps)
		pool.MatVecs(st.xb, kernels.Product{Dst: st.hb, W: w.Wgate}, kernels.Product{Dst: st.hb2, W: w.Wup})
		kernels.SiLUMul(st.hb, st.hb, st.hb2)
		pool.MatVec(st.xb, w.Wdown, st.hb)
		kernels.Add(x, st.xb)
		if !finite(x) {
			return nil, nonFinite(pos, token, "the MLP block", l)
		}
	}
	kernels.RMSNorm(x, x, m.Norm, c.RMSEps)
	pool.MatVec(st.logits, m.LMHead, x) // logits = LMHead · RMSNorm(x)
	if !finite(st.logits) {
		return nil, nonFinite(pos, token, "the logits (final norm or LM head)", -1)
	}
	st.pos++
	return st.logits, nil
}

// ErrWeightsFault is wrapped by the errors of Forward and Prefill when
// reading the weights faults: they are views of the memory-mapped
// checkpoint, so a model.safetensors truncated or replaced in place during
// the run raises SIGBUS on the next access to a lost page. Forward, Prefill
// and the kernel pool's workers run with debug.SetPanicOnFault, which turns
// that fault into a panic they recover into this error. The state is then
// unusable, and the model too (reload it from an intact file).
var ErrWeightsFault = errors.New("model: reading the weights faulted: the checkpoint file was truncated or changed during the run")

// recoverFault, deferred with the previous SetPanicOnFault setting, restores
// it and turns a memory fault into an ErrWeightsFault error. Other panics
// (programmer errors) go on.
func recoverFault(err *error, oldPanicOnFault bool) {
	debug.SetPanicOnFault(oldPanicOnFault)
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		*err = fmt.Errorf("%w (fault at address %#x)", ErrWeightsFault, f.Addr())
		return
	}
	panic(r)
}

// ErrNonFinite is wrapped by the errors of Forward, Prefill and PrefillEach
// when a NaN or an infinity appears in the residual stream or the logits.
var ErrNonFinite = errors.New("model: non-finite values (NaN or ±Inf)")

// nonFinite names where a non-finite value first appeared: layer ≥ 0 is a
// decoder layer's block, -1 a place outside the layers.
func nonFinite(pos, token int, where string, layer int) error {
	if layer >= 0 {
		where = fmt.Sprintf("%s of layer %d", where, layer)
	}
	return fmt.Errorf("%w: first in %s at position %d (token %d); the weights or the activations overflow", ErrNonFinite, where, pos, token)
}

// finite reports whether every element of x is finite. A float32 is NaN or
// ±Inf iff its exponent bits are all ones, i.e. iff (bits & 0x7f800000) +
// 0x00800000 reaches bit 31; two floats are tested per uint64 (no carry
// crosses from the low half), OR-ed into four independent accumulators.
// About 0.2 ns per element: 20 µs for SmolLM2's 84 000 checked values per
// token, 0.2 % of a token.
func finite(x []float32) bool {
	const mask, add, top = 0x7f8000007f800000, 0x0080000000800000, 0x8000000080000000
	n := len(x) / 2
	var acc0, acc1, acc2, acc3 uint64
	if n > 0 {
		w := unsafe.Slice((*uint64)(unsafe.Pointer(&x[0])), n)
		i := 0
		for ; i+4 <= n; i += 4 {
			acc0 |= w[i]&mask + add
			acc1 |= w[i+1]&mask + add
			acc2 |= w[i+2]&mask + add
			acc3 |= w[i+3]&mask + add
		}
		for ; i < n; i++ {
			acc0 |= w[i]&mask + add
		}
	}
	if len(x)%2 == 1 {
		acc0 |= uint64(math.Float32bits(x[len(x)-1])&0x7f800000 + 0x00800000)
	}
	return (acc0|acc1|acc2|acc3)&top == 0
}

// firstNonFinite returns the first row of x ([rows][dim]) holding a
// non-finite value, or -1.
func firstNonFinite(x []float32, dim int) int {
	if finite(x) {
		return -1
	}
	for i := 0; i < len(x); i += dim {
		if !finite(x[i : i+dim]) {
			return i / dim
		}
	}
	return -1
}

// Prefill consumes ids in blocks through batched matrix products and
// returns the logits after the last one (owned by st).
func (m *Model) Prefill(st *State, ids []int) ([]float32, error) {
	return st.logits, m.prefill(context.Background(), st, ids, len(ids)-1, nil)
}

// PrefillContext is Prefill that stops between blocks (up to 512 tokens)
// with ctx's error when ctx is done; st is then unusable until Reset.
func (m *Model) PrefillContext(ctx context.Context, st *State, ids []int) ([]float32, error) {
	return st.logits, m.prefill(ctx, st, ids, len(ids)-1, nil)
}

// PrefillEach is Prefill that also calls each(i, logits) with the logits
// after ids[i] for every i >= from, in order. The slice is reused.
func (m *Model) PrefillEach(st *State, ids []int, from int, each func(i int, logits []float32)) error {
	return m.prefill(context.Background(), st, ids, from, each)
}

// PrefillEachContext is PrefillEach that stops between blocks with ctx's
// error when ctx is done; st is then unusable until Reset.
func (m *Model) PrefillEachContext(ctx context.Context, st *State, ids []int, from int, each func(i int, logits []float32)) error {
	return m.prefill(ctx, st, ids, from, each)
}

func (m *Model) prefill(ctx context.Context, st *State, ids []int, from int, each func(int, []float32)) (err error) {
	defer recoverFault(&err, debug.SetPanicOnFault(true))
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
	rt := m.ropeFor(st.max)
	for start := 0; start < len(ids); start += st.block {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("model: prefill stopped after %d of %d tokens: %w", start, len(ids), err)
		}
		end := min(start+st.block, len(ids))
		pos0 := st.pos
		if err := m.prefillBlock(st, rt, ids[start:end]); err != nil {
			return err
		}
		if err := m.blockLogits(st, pos0-start, ids, start, end, from, each); err != nil {
			return err
		}
	}
	return nil
}

// prefillBlock runs one block of tokens through every layer with GEMMs;
// on return st.bx holds the final residual stream of each token.
func (m *Model) prefillBlock(st *State, rt *ropeTable, ids []int) error {
	c, pool, n, pos0 := m.Config, st.pool, len(ids), st.pos
	dim, qd, kvd := c.Dim, c.QDim(), c.KVDim()
	x, xb := st.bx[:n*dim], st.bxb[:n*dim]
	q, k, v, att := st.bq[:n*qd], st.bk[:n*kvd], st.bv[:n*kvd], st.batt[:n*qd]
	hb, hb2 := st.bhb[:n*c.FFN], st.bhb2[:n*c.FFN]
	for i, id := range ids {
		m.Embed.RowTo(x[i*dim:(i+1)*dim], id)
	}
	check := func(where string, layer int) error {
		if i := firstNonFinite(x, dim); i >= 0 {
			return nonFinite(pos0+i, ids[i], where, layer)
		}
		return nil
	}
	if err := check("the embedding", -1); err != nil {
		return err
	}
	for l := range m.Layers {
		w := &m.Layers[l]
		rmsNormRows(xb, x, w.AttnNorm, c.RMSEps, dim)
		pool.MatMul(q, w.Wq, xb, n)
		pool.MatMul(k, w.Wk, xb, n)
		pool.MatMul(v, w.Wv, xb, n)
		addBias(q, w.Bq, qd)
		addBias(k, w.Bk, kvd)
		addBias(v, w.Bv, kvd)
		for i := range n {
			m.rotate(rt, q[i*qd:(i+1)*qd], c.Heads, pos0+i)
			m.rotate(rt, k[i*kvd:(i+1)*kvd], c.KVHeads, pos0+i)
		}
		st.Attn.Prefill(l, pos0, n, q, k, v, att)
		pool.MatMul(xb, w.Wo, att, n)
		kernels.Add(x, xb)
		if err := check("the attention block", l); err != nil {
			return err
		}
		rmsNormRows(xb, x, w.MLPNorm, c.RMSEps, dim)
		pool.MatMul(hb, w.Wgate, xb, n)
		pool.MatMul(hb2, w.Wup, xb, n)
		kernels.SiLUMul(hb, hb, hb2)
		pool.MatMul(xb, w.Wdown, hb, n)
		kernels.Add(x, xb)
		if err := check("the MLP block", l); err != nil {
			return err
		}
	}
	st.pos += n
	return nil
}

// blockLogits computes the logits the caller asked for out of the block
// [start, end) of ids: every i >= from for each, and always the last. Index
// i of ids is at position pos0+i.
func (m *Model) blockLogits(st *State, pos0 int, ids []int, start, end, from int, each func(int, []float32)) error {
	c := m.Config
	dim, vocab, last := c.Dim, c.Vocab, len(ids)-1
	lo := max(start, from)
	logitsError := func(i int) error {
		return nonFinite(pos0+i, ids[i], "the logits (final norm or LM head)", -1)
	}
	if each == nil || lo >= end {
		if last >= start && last < end {
			xl := st.bx[(last-start)*dim : (last-start+1)*dim]
			kernels.RMSNorm(xl, xl, m.Norm, c.RMSEps)
			st.pool.MatVec(st.logits, m.LMHead, xl)
			if !finite(st.logits) {
				return logitsError(last)
			}
		}
		return nil
	}
	xs := st.bx[(lo-start)*dim : (end-start)*dim]
	rmsNormRows(xs, xs, m.Norm, c.RMSEps, dim)
	for r0 := lo; r0 < end; r0 += logitRows { // the LM head in slices, to bound the logits buffer
		n := min(logitRows, end-r0)
		st.pool.MatMul(st.blogits[:n*vocab], m.LMHead, st.bx[(r0-start)*dim:(r0-start+n)*dim], n)
		for i := range n {
			row := st.blogits[i*vocab : (i+1)*vocab]
			if !finite(row) {
				return logitsError(r0 + i)
			}
			each(r0+i, row)
			if r0+i == last {
				copy(st.logits, row)
			}
		}
	}
	return nil
}

// logitRows is how many positions' logits PrefillEach computes at once
// (128 × a 49152-token vocabulary = 25 MB).
const logitRows = 128

// addBias adds bias to every row of x ([rows][dim]); a nil bias (a model
// without one) adds nothing.
func addBias(x, bias []float32, dim int) {
	if bias == nil {
		return
	}
	for i := 0; i < len(x); i += dim {
		kernels.Add(x[i:i+dim], bias)
	}
}

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

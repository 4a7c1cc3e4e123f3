package model

import (
	"fmt"
	"runtime/debug"

	"starc/model/kernels"
)

// Batch runs one decode step for several sequences at once, each at its
// own position. The projections, the MLP and the LM head read each weight
// matrix once for all B rows (kernels.Pool.MatVecBatch sweeps every row
// over a panel of weights while it is in cache), so a step streams the
// weights once rather than once per sequence. Attention stays per
// sequence: each State keeps its own engine, method, budget and KV store.
//
// A Batch owns the B-row activation buffers, allocated by NewBatch, and
// its worker pool for the matrix products; a step allocates nothing once
// warm. The states' attention runs in parallel across sequences on that
// pool when every state was built with one thread, and sequence after
// sequence, each on its own state's workers, otherwise.
//
// Numbers: a sequence's step is Forward's, bit for bit (logits, keys and
// values, so greedy tokens and FP16 device cells too), at every kernel
// level and whatever the batch's size or the sequence's row in it.
// MatVecBatch computes each row with the float32 operations, in the
// order, of the matrix-vector kernel Forward uses; everything else is per
// row or element by element (SiLU·up per row, as its vector tails fall in
// Forward).
//
// Cost (SmolLM2, 2 threads, BenchmarkBatchDecode): the weights' share of a
// token falls with B, attention's does not: CPU time per token at a
// 512-token context 39 ms alone, 11 ms at B = 8, 9 ms at B = 16; at 2048
// tokens 54, 23 and 21 ms, of which about 12 ms is the sequence's own
// attention over its float32 K/V. The engine runs that attention by KV
// group (one pass over the rows for the group's query heads), and it is
// then bound by reading the cache: at 2048 tokens a sequence's K/V is 94
// MB a token against 269 MB of weights a step (r = 0.35), so B sequences
// run at most B·(1+r)/(1+B·r) times as fast as one, 2.8× at B = 8 and
// 3.3× at B = 16. With the K/V in the PIM device (FP16, 47 MB, r = 0.175)
// the bound is 3.9× and 4.9× (bench/results/batch-decode.txt).
//
// Not safe for concurrent use; one Batch serves any number of steps over
// any states of its model, up to its size per step.
type Batch struct {
	m    *Model
	pool *kernels.Pool
	size int // most sequences per step

	x, xb   []float32   // [size][Dim] residual stream; normed input / projection output
	q, att  []float32   // [size][Heads*HeadDim] queries; attention output
	k, v    []float32   // [size][KVHeads*HeadDim]
	hb, hb2 []float32   // [size][FFN] gate, then silu(gate)·up; up
	logits  []float32   // [size][Vocab]
	rows    [][]float32 // [size] views of logits, one per sequence

	attn batchAttention // the per-sequence attention of one layer
}

// batchAttention rotates each sequence's q and k for its position and runs
// its engine's decode step for one layer.
type batchAttention struct {
	b      *Batch
	states []*State
	rt     *ropeTable
	layer  int
}

// NewBatch allocates a Batch for up to size sequences per step, with
// threads workers (the caller included) for the matrix products.
func NewBatch(m *Model, size, threads int) (*Batch, error) {
	if size < 1 {
		return nil, fmt.Errorf("model: batch of %d sequences", size)
	}
	if threads < 1 {
		return nil, fmt.Errorf("model: batch with %d threads", threads)
	}
	c := m.Config
	f := func(n int) []float32 { return make([]float32, size*n) }
	b := &Batch{
		m: m, pool: kernels.NewPool(threads), size: size,
		x: f(c.Dim), xb: f(c.Dim), q: f(c.QDim()), att: f(c.QDim()), k: f(c.KVDim()), v: f(c.KVDim()),
		hb: f(c.FFN), hb2: f(c.FFN), logits: f(c.Vocab), rows: make([][]float32, size),
	}
	for i := range b.rows {
		b.rows[i] = b.logits[i*c.Vocab : (i+1)*c.Vocab]
	}
	b.attn.b = b
	return b, nil
}

// Size is the most sequences one step takes.
func (b *Batch) Size() int { return b.size }

// Close stops the worker pool.
func (b *Batch) Close() { b.pool.Close() }

// Forward consumes tokens[i] at the position of states[i], for every i,
// and returns the logits for each sequence's next token (row i for
// states[i], owned by the batch, valid until its next step). The states must be distinct states of the batch's
// model, at most Size of them. A bad token or a full state is an error
// before any work; a NaN or an infinity is an error wrapping ErrNonFinite
// naming the sequence, after which every state of the step is unusable
// until Reset (or Restore).
//
// Hot path: the batched per-token pass, top to bottom, no allocation.
func (b *Batch) Forward(states []*State, tokens []int) (_ [][]float32, err error) {
	if err := b.check(states, tokens); err != nil {
		return nil, err
	}
	defer recoverFault(&err, debug.SetPanicOnFault(true))
	m, c, n := b.m, b.m.Config, len(states)
	dim, qd, kvd := c.Dim, c.QDim(), c.KVDim()
	x, xb, q, k, v, att := b.x[:n*dim], b.xb[:n*dim], b.q[:n*qd], b.k[:n*kvd], b.v[:n*kvd], b.att[:n*qd]
	hb, hb2, logits := b.hb[:n*c.FFN], b.hb2[:n*c.FFN], b.logits[:n*c.Vocab]
	b.attn.states, b.attn.rt = states, m.ropeFor(maxCapacity(states))
	defer func() { b.attn.states = nil }()
	for i, token := range tokens {
		m.Embed.RowTo(x[i*dim:(i+1)*dim], token) // row i = embedding of sequence i's token
	}
	if err := b.checkRows(x, dim, tokens, "the embedding", -1); err != nil {
		return nil, err
	}
	for l := range m.Layers {
		w := &m.Layers[l]
		// Attention block: x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n), n = RMSNorm(x), per row.
		rmsNormRows(xb, x, w.AttnNorm, c.RMSEps, dim)
		b.project(q, w.Wq, xb, n)
		b.project(k, w.Wk, xb, n)
		b.project(v, w.Wv, xb, n)
		addBias(q, w.Bq, qd) // Qwen2's q/k/v biases, per row
		addBias(k, w.Bk, kvd)
		addBias(v, w.Bv, kvd)
		b.attn.layer = l
		if singleThreaded(states) {
			b.pool.Run(n, &b.attn) // sequences in parallel
		} else {
			b.attn.Do(0, 0, n) // sequences in turn, heads on each state's workers
		}
		b.project(xb, w.Wo, att, n)
		kernels.Add(x, xb)
		if err := b.checkRows(x, dim, tokens, "the attention block", l); err != nil {
			return nil, err
		}
		// MLP block: x += Wdown · (silu(Wgate·n) ⊙ Wup·n), n = RMSNorm(x), per row.
		rmsNormRows(xb, x, w.MLPNorm, c.RMSEps, dim)
		b.project(hb, w.Wgate, xb, n)
		b.project(hb2, w.Wup, xb, n)
		for i := 0; i < len(hb); i += c.FFN { // per row: Forward's vector tails, not the batch's
			kernels.SiLUMul(hb[i:i+c.FFN], hb[i:i+c.FFN], hb2[i:i+c.FFN])
		}
		b.project(xb, w.Wdown, hb, n)
		kernels.Add(x, xb)
		if err := b.checkRows(x, dim, tokens, "the MLP block", l); err != nil {
			return nil, err
		}
	}
	rmsNormRows(x, x, m.Norm, c.RMSEps, dim)
	b.project(logits, m.LMHead, x, n) // logits = LMHead · RMSNorm(x), per row
	if err := b.checkRows(logits, c.Vocab, tokens, "the logits (final norm or LM head)", -1); err != nil {
		return nil, err
	}
	for _, st := range states {
		st.pos++
	}
	return b.rows[:n], nil
}

// project sets dst = x·Wᵀ for n rows, each row exactly as Forward's
// matrix-vector kernel computes it (kernels.Pool.MatVecBatch), with the
// weights read once for all rows.
func (b *Batch) project(dst []float32, w kernels.Matrix, x []float32, n int) {
	b.pool.MatVecBatch(dst, w, x, n)
}

// Do runs the attention of sequences [lo, hi) for the current layer.
func (t *batchAttention) Do(_, lo, hi int) {
	b, c := t.b, t.b.m.Config
	qd, kvd := c.QDim(), c.KVDim()
	for i := lo; i < hi; i++ {
		st := t.states[i]
		q, att := b.q[i*qd:(i+1)*qd], b.att[i*qd:(i+1)*qd]
		k, v := b.k[i*kvd:(i+1)*kvd], b.v[i*kvd:(i+1)*kvd]
		b.m.rotate(t.rt, q, c.Heads, st.pos)
		b.m.rotate(t.rt, k, c.KVHeads, st.pos)
		st.Attn.Decode(t.layer, st.pos, q, k, v, att) // K/V stored, selected, read back
	}
}

// check validates one step's arguments before any work.
func (b *Batch) check(states []*State, tokens []int) error {
	if len(states) != len(tokens) {
		return fmt.Errorf("model: batch step of %d states and %d tokens", len(states), len(tokens))
	}
	if len(states) == 0 || len(states) > b.size {
		return fmt.Errorf("model: batch step of %d sequences (the batch takes 1..%d)", len(states), b.size)
	}
	for i, st := range states {
		if len(st.logits) != b.m.Config.Vocab || len(st.x) != b.m.Config.Dim {
			return fmt.Errorf("model: batch sequence %d: the state belongs to another model", i)
		}
		for j := range i {
			if states[j] == st {
				return fmt.Errorf("model: batch sequences %d and %d are the same state", j, i)
			}
		}
		if err := b.m.check(st, tokens[i], 1); err != nil {
			return fmt.Errorf("model: batch sequence %d: %w", i, err)
		}
	}
	return nil
}

// checkRows returns the ErrNonFinite error of the first row of rows
// ([n][dim]) holding a NaN or an infinity, naming its sequence.
func (b *Batch) checkRows(rows []float32, dim int, tokens []int, where string, layer int) error {
	i := firstNonFinite(rows, dim)
	if i < 0 {
		return nil
	}
	return fmt.Errorf("model: batch sequence %d: %w", i, nonFinite(b.attn.states[i].pos, tokens[i], where, layer))
}

// maxCapacity is the largest capacity among states.
func maxCapacity(states []*State) int {
	n := 0
	for _, st := range states {
		n = max(n, st.max)
	}
	return n
}

// singleThreaded reports whether every state runs its attention on one
// thread, so that the batch may run the sequences in parallel.
func singleThreaded(states []*State) bool {
	for _, st := range states {
		if st.pool.Threads() > 1 {
			return false
		}
	}
	return true
}

package model

import (
	"fmt"

	"starc/attention"
	"starc/model/kernels"
)

// State is everything that changes while one sequence runs: activation
// buffers (allocated once), the position, the worker pool and the
// attention engine with its KV store and selection method.
type State struct {
	Attn *attention.Engine
	pool *kernels.Pool
	pos  int // tokens consumed so far
	max  int // capacity in tokens

	store    attention.Store // where the engine keeps K/V
	forkable bool            // StateOptions.Forkable

	// Decode buffers, one token.
	x      []float32 // [Dim] residual stream
	xb     []float32 // [Dim] normed input / projection output
	q      []float32 // [Heads*HeadDim]
	k, v   []float32 // [KVHeads*HeadDim]
	att    []float32 // [Heads*HeadDim] attention output
	hb     []float32 // [FFN] gate, then silu(gate)·up
	hb2    []float32 // [FFN] up
	logits []float32 // [Vocab]

	// Prefill buffers, one block of up to block tokens.
	block   int
	bx, bxb []float32 // [block][Dim]
	bq      []float32 // [block][Heads*HeadDim]
	bk, bv  []float32 // [block][KVHeads*HeadDim]
	batt    []float32 // [block][Heads*HeadDim]
	bhb     []float32 // [block][FFN]
	bhb2    []float32 // [block][FFN]
	blogits []float32 // [min(block, logitRows)][Vocab], allocated on first PrefillEach
}

// StateOptions configures NewState. The zero value means: the model's
// whole context, one thread, 512-token prefill blocks, full attention over
// a dense float32 store.
type StateOptions struct {
	MaxTokens    int              // capacity in tokens (0 = Config.MaxContext())
	Threads      int              // worker threads (0 = 1)
	PrefillBlock int              // tokens per prefill block (0 = 512)
	Method       attention.Method // nil = full attention
	Store        attention.Store  // nil = attention.Dense
	DenseLayers  int              // layers attending densely whatever the method

	// Forkable keeps what Snapshot needs beyond the KV cache: with a PIM
	// store, a float32 copy of the keys the prefill appends (4 bytes per
	// key element of the capacity). A Dense store needs nothing.
	Forkable bool
}

// AttentionConfig is the attention shape of m for a capacity of maxTokens.
func (m *Model) AttentionConfig(maxTokens int) attention.Config {
	c := m.Config
	return attention.Config{Layers: c.Layers, QueryHeads: c.Heads, KVHeads: c.KVHeads,
		HeadDim: c.HeadDim, MaxTokens: maxTokens}
}

// NewState allocates the run state of one sequence.
func NewState(m *Model, opt StateOptions) (*State, error) {
	c := m.Config
	if opt.MaxTokens == 0 {
		opt.MaxTokens = c.MaxContext()
	}
	if opt.MaxTokens < 1 || opt.MaxTokens > c.MaxContext() {
		return nil, fmt.Errorf("model: capacity %d tokens is outside 1..%d (the model's context)", opt.MaxTokens, c.MaxContext())
	}
	opt.Threads = max(opt.Threads, 1)
	if opt.PrefillBlock <= 0 {
		opt.PrefillBlock = 512
	}
	opt.PrefillBlock = min(opt.PrefillBlock, opt.MaxTokens)
	acfg := m.AttentionConfig(opt.MaxTokens)
	acfg.DenseLayers = opt.DenseLayers
	if opt.Method == nil {
		var err error
		if opt.Method, err = attention.New("full", acfg); err != nil {
			return nil, err
		}
	}
	if opt.Store == nil {
		d, err := attention.NewDense(c.Layers, c.KVHeads, c.HeadDim, opt.MaxTokens)
		if err != nil {
			return nil, err
		}
		opt.Store = d
	}
	pool := kernels.NewPool(opt.Threads)
	eng, err := attention.NewEngine(acfg, opt.Store, opt.Method, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	eng.SetSlidingWindow(c.SlidingWindow) // Mistral: each query sees the last SlidingWindow positions
	if opt.Forkable {
		eng.KeepPrefillKeys()
	}
	b := opt.PrefillBlock
	f := func(n int) []float32 { return make([]float32, n) }
	return &State{
		Attn: eng, pool: pool, max: opt.MaxTokens, store: opt.Store, forkable: opt.Forkable,
		x: f(c.Dim), xb: f(c.Dim), q: f(c.QDim()), k: f(c.KVDim()), v: f(c.KVDim()), att: f(c.QDim()),
		hb: f(c.FFN), hb2: f(c.FFN), logits: f(c.Vocab),
		block: b, bx: f(b * c.Dim), bxb: f(b * c.Dim), bq: f(b * c.QDim()), bk: f(b * c.KVDim()),
		bv: f(b * c.KVDim()), batt: f(b * c.QDim()), bhb: f(b * c.FFN), bhb2: f(b * c.FFN),
	}, nil
}

// Pos is the number of tokens consumed so far (the next token's position).
func (st *State) Pos() int { return st.pos }

// Store is where the state's attention keeps K/V (an *attention.PIM
// holds the device's reports).
func (st *State) Store() attention.Store { return st.store }

// Capacity is the most tokens the state can hold.
func (st *State) Capacity() int { return st.max }

// Reset starts a new sequence at position 0.
func (st *State) Reset() {
	st.pos = 0
	st.Attn.Reset()
}

// Close stops the worker pool.
func (st *State) Close() { st.pool.Close() }

package model

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"starc/model/kernels"
	"starc/weights"
)

// Model is an immutable decoder: typed weights plus the RoPE tables. The
// matrices are views of the checkpoint's mmap in their stored dtype, so the
// Checkpoint must stay open while the Model is in use. Several States, on
// several goroutines, may share one Model.
type Model struct {
	Config Config
	Embed  kernels.Matrix // [Vocab][Dim]
	Layers []Layer
	Norm   []float32      // [Dim] final RMSNorm weight
	LMHead kernels.Matrix // [Vocab][Dim]; the Embed matrix when tied

	rope *ropeTables
}

// ropeTables holds cos/sin of pos·θ_i for the positions the model's States
// can reach: sized by the largest State capacity seen, not by
// max_position_embeddings (a config may claim millions of positions while a
// run needs a few). The table only grows; a grown table is a new value, so a
// Forward holding the old one is never disturbed.
type ropeTables struct {
	freq []float64 // [HeadDim/2] inverse frequencies after rope_scaling
	mu   sync.Mutex
	cur  atomic.Pointer[ropeTable]
}

// ropeTable is cos/sin for positions 0..n-1.
type ropeTable struct {
	n        int
	cos, sin []float32 // [n][HeadDim/2]
}

// Layer is one decoder block.
type Layer struct {
	AttnNorm []float32      // [Dim]
	Wq       kernels.Matrix // [Heads*HeadDim][Dim]
	Wk       kernels.Matrix // [KVHeads*HeadDim][Dim]
	Wv       kernels.Matrix // [KVHeads*HeadDim][Dim]
	Bq       []float32      // [Heads*HeadDim] q_proj bias (Qwen2); nil without biases
	Bk       []float32      // [KVHeads*HeadDim] k_proj bias; nil without biases
	Bv       []float32      // [KVHeads*HeadDim] v_proj bias; nil without biases
	Wo       kernels.Matrix // [Dim][Heads*HeadDim]
	MLPNorm  []float32      // [Dim]
	Wgate    kernels.Matrix // [FFN][Dim]
	Wup      kernels.Matrix // [FFN][Dim]
	Wdown    kernels.Matrix // [Dim][FFN]
}

// Load builds a Model from an open checkpoint directory.
func Load(ckpt *weights.Checkpoint) (*Model, error) {
	cfg, err := ParseConfig(ckpt.Dir()+"/config.json", ckpt.ConfigJSON)
	if err != nil {
		return nil, err
	}
	return LoadWithConfig(ckpt, cfg)
}

// LoadWithConfig builds a Model from ckpt using an already parsed Config. A
// weight file truncated while it loads is ErrWeightsFault, as in Forward.
func LoadWithConfig(ckpt *weights.Checkpoint, c Config) (_ *Model, err error) {
	defer recoverFault(&err, debug.SetPanicOnFault(true))
	l := loader{ckpt: ckpt}
	m := &Model{Config: c}
	m.Embed = l.matrix("model.embed_tokens.weight", c.Vocab, c.Dim)
	m.Norm = l.vector("model.norm.weight", c.Dim)
	if c.TiedEmbeddings {
		m.LMHead = m.Embed
	} else {
		m.LMHead = l.matrix("lm_head.weight", c.Vocab, c.Dim)
	}
	m.Layers = make([]Layer, c.Layers)
	for i := range m.Layers {
		name := func(s string) string { return fmt.Sprintf("model.layers.%d.%s.weight", i, s) }
		m.Layers[i] = Layer{
			AttnNorm: l.vector(name("input_layernorm"), c.Dim),
			Wq:       l.matrix(name("self_attn.q_proj"), c.QDim(), c.Dim),
			Wk:       l.matrix(name("self_attn.k_proj"), c.KVDim(), c.Dim),
			Wv:       l.matrix(name("self_attn.v_proj"), c.KVDim(), c.Dim),
			Wo:       l.matrix(name("self_attn.o_proj"), c.Dim, c.QDim()),
			MLPNorm:  l.vector(name("post_attention_layernorm"), c.Dim),
			Wgate:    l.matrix(name("mlp.gate_proj"), c.FFN, c.Dim),
			Wup:      l.matrix(name("mlp.up_proj"), c.FFN, c.Dim),
			Wdown:    l.matrix(name("mlp.down_proj"), c.Dim, c.FFN),
		}
		if c.QKVBias {
			bias := func(s string) string { return fmt.Sprintf("model.layers.%d.%s.bias", i, s) }
			m.Layers[i].Bq = l.vector(bias("self_attn.q_proj"), c.QDim())
			m.Layers[i].Bk = l.vector(bias("self_attn.k_proj"), c.KVDim())
			m.Layers[i].Bv = l.vector(bias("self_attn.v_proj"), c.KVDim())
		}
	}
	if l.err != nil {
		return nil, fmt.Errorf("model: %s: %w", ckpt.Dir(), l.err)
	}
	if err := checkExtraLayers(ckpt.Names(), c.Layers); err != nil {
		return nil, fmt.Errorf("model: %s: %w", ckpt.Dir(), err)
	}
	m.rope = &ropeTables{freq: c.ropeFrequencies()}
	m.rope.cur.Store(&ropeTable{})
	return m, nil
}

// ropeFor returns RoPE tables covering positions 0..n-1, growing the
// model's tables (at least doubling, at most to MaxContext) when they are
// shorter. Forward and Prefill call it with their State's capacity, so the
// tables follow the runs, and steady-state calls only load a pointer.
func (m *Model) ropeFor(n int) *ropeTable {
	if t := m.rope.cur.Load(); t.n >= n {
		return t
	}
	r := m.rope
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur.Load()
	if old.n >= n {
		return old
	}
	half := m.Config.HeadDim / 2
	size := min(max(n, 2*old.n), m.Config.MaxContext())
	t := &ropeTable{n: size, cos: make([]float32, size*half), sin: make([]float32, size*half)}
	copy(t.cos, old.cos)
	copy(t.sin, old.sin)
	for p := old.n; p < size; p++ {
		for i, f := range r.freq {
			s, co := math.Sincos(float64(p) * f)
			t.cos[p*half+i], t.sin[p*half+i] = float32(co), float32(s)
		}
	}
	r.cur.Store(t)
	return t
}

// ropeRows returns the number of positions the RoPE tables cover now.
func (m *Model) ropeRows() int { return m.rope.cur.Load().n }

// rotate turns the heads of x ([heads*HeadDim]) for position pos, pairing
// element i with i+HeadDim/2 (the HF layout); t must cover pos.
func (m *Model) rotate(t *ropeTable, x []float32, heads, pos int) {
	hd, half := m.Config.HeadDim, m.Config.HeadDim/2
	cos, sin := t.cos[pos*half:(pos+1)*half], t.sin[pos*half:(pos+1)*half]
	for h := range heads {
		kernels.RoPEHalf(x[h*hd:(h+1)*hd], cos, sin)
	}
}

// checkExtraLayers refuses a checkpoint holding tensors of layers the config
// does not have (num_hidden_layers too small would silently drop them).
// Other tensors the model does not read (rotary_emb.inv_freq buffers, an
// lm_head next to tied embeddings) are ignored.
func checkExtraLayers(names []string, layers int) error {
	var extra []string
	for _, name := range names {
		var layer int
		var rest string
		if n, _ := fmt.Sscanf(name, "model.layers.%d.%s", &layer, &rest); n == 2 && layer >= layers {
			extra = append(extra, name)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	shown := extra[:min(len(extra), 3)]
	more := ""
	if len(extra) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(extra)-len(shown))
	}
	return fmt.Errorf("config.json: num_hidden_layers is %d but the checkpoint holds tensors of later layers: %q%s",
		layers, shown, more)
}

// loader fetches tensors and remembers the first error, so Load reads as
// a table of names and shapes.
type loader struct {
	ckpt *weights.Checkpoint
	err  error
}

func (l *loader) tensor(name string, shape ...int) (weights.Tensor, bool) {
	if l.err != nil {
		return weights.Tensor{}, false
	}
	t, err := l.ckpt.Tensor(name)
	if err != nil {
		l.err = err
		return t, false
	}
	if !slices.Equal(t.Shape, shape) {
		l.err = fmt.Errorf("tensor %q has shape %v, config.json implies %v", name, t.Shape, shape)
		return t, false
	}
	return t, true
}

func (l *loader) matrix(name string, rows, cols int) kernels.Matrix {
	t, ok := l.tensor(name, rows, cols)
	if !ok {
		return kernels.Matrix{}
	}
	m := kernels.Matrix{Rows: rows, Cols: cols}
	var err error
	switch t.DType {
	case weights.F32:
		m.DType = kernels.F32
		m.F32, err = t.Float32s()
	case weights.BF16:
		m.DType = kernels.BF16
		m.U16, err = t.Uint16s()
	case weights.F16:
		m.DType = kernels.F16
		m.U16, err = t.Uint16s()
	default:
		err = fmt.Errorf("dtype %s is not supported for matrices (want F32, F16 or BF16)", t.DType)
	}
	if err != nil {
		l.err = fmt.Errorf("tensor %q: %w", name, err)
	}
	return m
}

func (l *loader) vector(name string, n int) []float32 {
	t, ok := l.tensor(name, n)
	if !ok {
		return nil
	}
	v := make([]float32, n)
	if err := t.ToFloat32(v); err != nil {
		l.err = fmt.Errorf("tensor %q: %w", name, err)
	}
	return v
}

// ErrContextFull is returned when a sequence would exceed the state's capacity.
var ErrContextFull = errors.New("model: context is full")

package attention

import (
	"fmt"
	"math"

	"starc/model/kernels"
)

// Engine runs the attention of one sequence. For every new token it writes
// the token's K/V into the Store, lets the Method choose which cached tokens
// each query head reads, reads them from the Store and computes
// softmax(q·Kᵀ/√d)·V over exactly those tokens. Host-resident stores are
// read in place: Dense's float32 rows, and the PIM device's FP16 rows with
// the FP16 kernels after charging the device for the access; other stores
// are copied out through Store.Read. Methods that score keys read them
// through the Engine (KeySource), so the store holds the only copy.
//
// The Engine owns the position → slot map, so methods speak positions and
// stores speak slots. It is not safe for concurrent use; one Engine serves
// one sequence (Reset starts the next).
type Engine struct {
	cfg    Config
	store  Store
	view   viewer     // the store itself when it holds float32 vectors in host memory, else nil
	half   halfViewer // the store itself when it holds FP16 vectors in host memory, else nil
	method Method
	pool   *kernels.Pool

	selectsAll bool // method is full: every head selects every token (in the window)

	slotOf [][]int // [layer*KVHeads+g][pos] physical slot of token pos

	// Decode scratch, sized once.
	sel             [][]int     // [QueryHeads] positions chosen by each head
	mark            []uint64    // [MaxTokens] bit i set when head i of the group chose pos
	slots           [][]int     // [KVHeads] slots read this step, in position order (in slotBuf, or a range of slotOf)
	rows            [][]int     // [QueryHeads] rows of the head's K/V source it attends to (in rowBuf, or slots)
	slotBuf, rowBuf [][]int     // [KVHeads], [QueryHeads] the lists' own storage, MaxTokens each
	shared          []bool      // [KVHeads] every head of group g reads the same rows this step (collectAll)
	gK, gV          [][]float32 // [KVHeads][MaxTokens*HeadDim] vectors copied out of a store with no view
	from            []int       // Move scratch

	// The attention task, set before each parallel run.
	task attendTask

	// Observers.
	decoding bool // inside Decode: reads are reported to onRead
	onRead   func(layer, kvHead, n int, slots []int)
	onSelect func(layer, head, n int, slots []int)
	selSlots []int // onSelect scratch
	metrics  *metricsState

	fork forkState // what Snapshot needs (snapshot.go)

	window windowState // sliding-window attention (window.go)
}

// NewEngine builds an Engine over store with method, for the shape in cfg.
// pool runs per-head work in parallel; it may be nil (one thread).
func NewEngine(cfg Config, store Store, method Method, pool *kernels.Pool) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.GroupSize() > 64 {
		return nil, fmt.Errorf("attention: %d query heads per KV head (at most 64 supported)", cfg.GroupSize())
	}
	e := &Engine{cfg: cfg, store: store, method: method, pool: pool}
	_, e.selectsAll = method.(full)
	e.view, _ = store.(viewer)
	if e.view == nil {
		e.half, _ = store.(halfViewer)
	}
	threads := 1
	if pool != nil {
		threads = pool.Threads()
	}
	nGroups := cfg.Layers * cfg.KVHeads
	e.slotOf = make([][]int, nGroups)
	for i := range nGroups {
		e.slotOf[i] = make([]int, cfg.MaxTokens)
	}
	e.sel, e.rows, e.rowBuf = make([][]int, cfg.QueryHeads), make([][]int, cfg.QueryHeads), make([][]int, cfg.QueryHeads)
	for h := range cfg.QueryHeads {
		e.sel[h], e.rowBuf[h] = make([]int, 0, cfg.MaxTokens), make([]int, 0, cfg.MaxTokens)
	}
	e.mark = make([]uint64, cfg.MaxTokens)
	e.slots, e.slotBuf, e.shared = make([][]int, cfg.KVHeads), make([][]int, cfg.KVHeads), make([]bool, cfg.KVHeads)
	for g := range cfg.KVHeads {
		e.slotBuf[g] = make([]int, 0, cfg.MaxTokens)
	}
	if !e.inPlace() {
		e.gK, e.gV = make([][]float32, cfg.KVHeads), make([][]float32, cfg.KVHeads)
		for g := range cfg.KVHeads {
			e.gK[g] = make([]float32, cfg.MaxTokens*cfg.HeadDim)
			e.gV[g] = make([]float32, cfg.MaxTokens*cfg.HeadDim)
		}
	}
	e.task.scores = make([][]float32, threads)
	e.task.prefill = make([]prefillScratch, threads)
	if e.half != nil {
		e.task.kbuf16, e.task.vbuf16 = make([][]uint16, threads), make([][]uint16, threads)
		for w := range threads {
			e.task.kbuf16[w] = make([]uint16, cfg.MaxTokens*cfg.HeadDim)
			e.task.vbuf16[w] = make([]uint16, cfg.MaxTokens*cfg.HeadDim)
		}
	} else {
		e.task.kbuf, e.task.vbuf = make([][]float32, threads), make([][]float32, threads)
		for w := range threads {
			e.task.kbuf[w] = make([]float32, cfg.MaxTokens*cfg.HeadDim)
			e.task.vbuf[w] = make([]float32, cfg.MaxTokens*cfg.HeadDim)
		}
	}
	for w := range threads {
		e.task.scores[w] = make([]float32, cfg.GroupSize()*cfg.MaxTokens) // a group's heads at once (attendGroup)
	}
	e.task.scale = float32(1 / math.Sqrt(float64(cfg.HeadDim)))
	if r, ok := method.(keyReader); ok && e.inPlace() {
		r.readKeysFrom(e)
	}
	e.Reset()
	return e, nil
}

// Keys implements KeySource over the Engine's store (host-resident stores
// only: NewEngine binds methods to it only then).
func (e *Engine) Keys(layer, kvHead, lo, hi int) (f32 []float32, f16 []uint16) {
	hd := e.cfg.HeadDim
	if e.half != nil {
		return nil, e.half.KeysF16(layer, kvHead)[lo*hd : hi*hd]
	}
	return e.view.Keys(layer, kvHead)[lo*hd : hi*hd], nil
}

// OnRead registers f to be told, at every decode step and for every layer
// and KV head, which slots were read (ascending token position) out of n
// cached tokens. Prefill reads are not reported. Traces and row counts
// subscribe here.
func (e *Engine) OnRead(f func(layer, kvHead, n int, slots []int)) { e.onRead = f }

// OnSelect registers f to be told, at every decode step of a sparse layer
// and for every query head, the slots that head selected (in the order the
// method returned them) out of n cached tokens: the paper's per-head row
// count (starc.md §4.5) subscribes here.
func (e *Engine) OnSelect(f func(layer, head, n int, slots []int)) { e.onSelect = f }

// Reset starts a new sequence: identity slot map, method and store cleared.
func (e *Engine) Reset() {
	for i := range e.slotOf {
		for p := range e.slotOf[i] {
			e.slotOf[i][p] = p
		}
	}
	e.method.Reset()
	e.store.Reset()
	if e.metrics != nil {
		e.metrics.reset()
	}
	e.fork.prefilled, e.fork.decoded = 0, false
}

// Prefill runs causal attention for n prompt tokens at positions
// pos0..pos0+n-1 of one layer. q is [n][QueryHeads*HeadDim], k and v are
// [n][KVHeads*HeadDim] (post-RoPE), out is [n][QueryHeads*HeadDim]. Every
// layer attends densely during prefill (as STARC and Quest do).
func (e *Engine) Prefill(layer, pos0, n int, q, k, v, out []float32) {
	c := e.cfg
	hd, qDim, kvDim := c.HeadDim, c.QueryHeads*c.HeadDim, c.KVHeads*c.HeadDim
	if pos0+n > c.MaxTokens {
		panic(fmt.Sprintf("attention: prefill to position %d exceeds capacity %d", pos0+n, c.MaxTokens))
	}
	for i := range n {
		for g := range c.KVHeads {
			e.addToken(layer, g, pos0+i, k[i*kvDim+g*hd:i*kvDim+(g+1)*hd], v[i*kvDim+g*hd:i*kvDim+(g+1)*hd])
			e.keepKey(layer, g, pos0+i, k[i*kvDim+g*hd:i*kvDim+(g+1)*hd])
		}
	}
	total := pos0 + n
	e.fork.prefilled = total
	for g := range c.KVHeads {
		e.collectAll(layer, g, total)
	}
	t := &e.task
	t.e, t.layer, t.q, t.out, t.qStride, t.pos0, t.n = e, layer, q, out, qDim, pos0, n
	e.run(c.QueryHeads, t)
}

// Decode runs attention for the token at position pos of one layer: q is
// [QueryHeads*HeadDim], k and v are [KVHeads*HeadDim] (post-RoPE), out is
// [QueryHeads*HeadDim].
//
// Hot path: called once per layer per generated token.
func (e *Engine) Decode(layer, pos int, q, k, v, out []float32) {
	c := e.cfg
	hd, n, gs := c.HeadDim, pos+1, c.GroupSize()
	if n > c.MaxTokens {
		panic(fmt.Sprintf("attention: position %d exceeds capacity %d", pos, c.MaxTokens))
	}
	sparse := layer >= c.DenseLayers
	// Full attention selects every token: with nobody watching the
	// selections (OnSelect, the quality meter) that is a dense layer's read.
	selecting := sparse && !(e.selectsAll && e.onSelect == nil && e.metrics == nil)
	e.decoding, e.fork.decoded = true, true
	for g := range c.KVHeads {
		e.shared[g] = false
		e.addToken(layer, g, pos, k[g*hd:(g+1)*hd], v[g*hd:(g+1)*hd])
		if !selecting {
			e.collectWindow(layer, g, n)
			continue
		}
		e.method.Prepare(layer, g, n, e)
		group, grouped := e.method.(groupSelector)
		if grouped = grouped && e.windowStart(n) == 0; grouped { // the group's keys read once for its heads
			sel := e.sel[g*gs : (g+1)*gs]
			for i := range sel {
				sel[i] = sel[i][:0]
			}
			group.selectGroup(layer, g, q[g*gs*hd:(g+1)*gs*hd], n, sel)
		}
		for h := g * gs; h < (g+1)*gs; h++ {
			if !grouped {
				e.sel[h] = e.selectWindow(layer, h, q[h*hd:(h+1)*hd], n, e.sel[h][:0])
			}
			if e.onSelect != nil {
				e.reportSelection(layer, h, n)
			}
		}
		e.collectSelected(layer, g, n)
	}
	e.decoding = false
	if e.metrics != nil && sparse {
		e.metrics.observe(e, layer, q, n)
	}
	t := &e.task
	t.e, t.layer, t.q, t.out, t.qStride, t.pos0, t.n = e, layer, q, out, 0, -1, n
	e.run(c.KVHeads, t) // by KV group: see attendTask.Do
}

// addToken stores token pos of KV head g in its slot and shows the key to
// the method (and the quality meter).
func (e *Engine) addToken(layer, g, pos int, k, v []float32) {
	e.store.Write(layer, g, e.slotOf[layer*e.cfg.KVHeads+g][pos], k, v)
	e.method.Append(layer, g, pos, k)
	if e.metrics != nil {
		e.metrics.write(layer, g, pos, k)
	}
}

// collectAll makes every head of group g read tokens 0..n-1.
func (e *Engine) collectAll(layer, g, n int) { e.collectRange(layer, g, 0, n) }

// collectRange makes every head of group g read tokens lo..n-1, in one
// pass for the whole group (attendGroup). The slots read are the slot
// map's own entries for those tokens, and with a store read in place they
// are every head's rows too: nothing is copied.
func (e *Engine) collectRange(layer, g, lo, n int) {
	c := e.cfg
	slots := e.slotOf[layer*c.KVHeads+g][lo:n:n]
	e.slots[g] = slots
	e.read(layer, g, n)
	for h := g * c.GroupSize(); h < (g+1)*c.GroupSize(); h++ {
		if e.inPlace() {
			e.rows[h] = slots
			continue
		}
		rows := e.rowBuf[h][:0]
		for i := range n - lo {
			rows = append(rows, i)
		}
		e.rows[h] = rows
	}
	e.shared[g] = true
}

// collectSelected turns the heads' selections of group g into one read of
// their union (ascending position) and per-head row lists.
func (e *Engine) collectSelected(layer, g, n int) {
	c := e.cfg
	gs := c.GroupSize()
	all := true // selections are distinct positions below n: n of them is everything
	for i := range gs {
		all = all && len(e.sel[g*gs+i]) == n
	}
	if all {
		e.collectAll(layer, g, n)
		return
	}
	mark := e.mark[:n]
	clear(mark)
	for i := range gs {
		for _, p := range e.sel[g*gs+i] {
			if p < 0 || p >= n {
				panic(fmt.Sprintf("attention: method %s selected position %d of %d", e.method.Name(), p, n))
			}
			mark[p] |= 1 << i
		}
	}
	slotOf := e.slotOf[layer*c.KVHeads+g]
	slots := e.slotBuf[g][:0]
	for h := g * gs; h < (g+1)*gs; h++ {
		e.rows[h] = e.rowBuf[h][:0]
	}
	for p, m := range mark {
		if m == 0 {
			continue
		}
		row := len(slots)
		if e.inPlace() {
			row = slotOf[p]
		}
		slots = append(slots, slotOf[p])
		for i := range gs {
			if m&(1<<i) != 0 {
				e.rows[g*gs+i] = append(e.rows[g*gs+i], row)
			}
		}
	}
	e.slots[g] = slots
	e.read(layer, g, n)
}

// read makes the group's read of its slots: a device store is charged for
// the access (attention then reads its bytes in place), a store with no
// view copies them out. Observers are told.
func (e *Engine) read(layer, g, n int) {
	slots := e.slots[g]
	switch {
	case e.half != nil:
		e.half.Charge(layer, g, slots)
	case e.view == nil:
		hd := e.cfg.HeadDim
		e.store.Read(layer, g, slots, e.gK[g][:len(slots)*hd], e.gV[g][:len(slots)*hd])
	}
	if e.onRead != nil && e.decoding {
		e.onRead(layer, g, n, slots)
	}
}

// inPlace reports whether attention reads the store's own memory, so that
// rows are slots; otherwise rows index the copies in gK and gV.
func (e *Engine) inPlace() bool { return e.view != nil || e.half != nil }

func (e *Engine) reportSelection(layer, h, n int) {
	slotOf := e.slotOf[layer*e.cfg.KVHeads+h/e.cfg.GroupSize()]
	slots := e.selSlots[:0]
	for _, p := range e.sel[h] {
		slots = append(slots, slotOf[p])
	}
	e.selSlots = slots
	e.onSelect(layer, h, n, slots)
}

// Move implements Mover: the method relocates tokens, the store moves bytes.
func (e *Engine) Move(layer, kvHead int, pos, slot []int) {
	if len(pos) != len(slot) {
		panic("attention: Move with unequal lengths")
	}
	i := layer*e.cfg.KVHeads + kvHead
	slotOf := e.slotOf[i]
	from := e.from[:0]
	for _, p := range pos {
		from = append(from, slotOf[p])
	}
	e.from = from
	e.store.Move(layer, kvHead, from, slot)
	for j, p := range pos {
		slotOf[p] = slot[j]
	}
}

// SlotOf returns the physical slot holding token pos of (layer, kvHead).
func (e *Engine) SlotOf(layer, kvHead, pos int) int {
	return e.slotOf[layer*e.cfg.KVHeads+kvHead][pos]
}

func (e *Engine) run(n int, t kernels.Task) {
	if e.pool == nil {
		t.Do(0, 0, n)
		return
	}
	e.pool.Run(n, t)
}

// attendTask computes softmax(q·Kᵀ·scale)·V for a range of query heads.
type attendTask struct {
	e       *Engine
	layer   int
	q, out  []float32
	qStride int // prefill: elements between consecutive tokens' q; decode: 0
	pos0, n int // prefill: first position and token count; decode: pos0 = -1
	scale   float32
	scores  [][]float32 // [worker][MaxTokens]
	kbuf    [][]float32 // [worker][MaxTokens*HeadDim] gathered keys (float32 stores)
	vbuf    [][]float32 // [worker][MaxTokens*HeadDim] gathered values
	kbuf16  [][]uint16  // [worker][MaxTokens*HeadDim] gathered keys (FP16 stores)
	vbuf16  [][]uint16  // [worker][MaxTokens*HeadDim] gathered values
	prefill []prefillScratch
}

// prefillScratch is one worker's buffers for blocked causal attention,
// grown on demand (prefill only; decode never touches them).
type prefillScratch struct {
	q, k, vt, s, o []float32
	row            []float32 // [HeadDim] one widened FP16 value row
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Do runs query heads [lo, hi) in prefill; in decode, KV groups [lo, hi):
// a group whose heads all read the same rows in one pass over them
// (attendGroup), any other head by head.
func (t *attendTask) Do(worker, lo, hi int) {
	if t.pos0 >= 0 {
		t.heads(worker, lo, hi)
		return
	}
	e, gs := t.e, t.e.cfg.GroupSize()
	for g := lo; g < hi; g++ {
		if e.shared[g] {
			t.attendGroup(worker, g)
			continue
		}
		t.heads(worker, g*gs, (g+1)*gs)
	}
}

// heads runs query heads [lo, hi) one by one.
func (t *attendTask) heads(worker, lo, hi int) {
	e := t.e
	hd, gs := e.cfg.HeadDim, e.cfg.GroupSize()
	scores := t.scores[worker]
	for h := lo; h < hi; h++ {
		g := h / gs
		rows := e.rows[h]
		if e.half != nil {
			keys, values := e.half.KeysF16(t.layer, g), e.half.ValuesF16(t.layer, g)
			if t.pos0 < 0 {
				attendRowsF16(t.out[h*hd:(h+1)*hd], t.q[h*hd:(h+1)*hd], keys, values, rows, hd, t.scale, scores, t.kbuf16[worker], t.vbuf16[worker])
				continue
			}
			t.prefillHeadF16(worker, h, keys, values, rows, hd)
			continue
		}
		keys, values := e.source(t.layer, g)
		if t.pos0 < 0 {
			attendRows(t.out[h*hd:(h+1)*hd], t.q[h*hd:(h+1)*hd], keys, values, rows, hd, t.scale, scores, t.kbuf[worker], t.vbuf[worker])
			continue
		}
		t.prefillHead(worker, h, keys, values, rows, hd)
	}
}

// prefillHead is causal attention of head h for the block's n queries
// (positions pos0..pos0+n-1) over keys 0..pos0+n-1, as two matrix
// products: S = Q·Kᵀ (masked, softmaxed row by row), then O = S·V.
func (t *attendTask) prefillHead(worker, h int, keys, values []float32, rows []int, hd int) {
	n, total, base := t.n, t.pos0+t.n, t.e.windowStart(t.pos0+1)
	cols := total - base // keys base..total-1: a sliding window hides those before base from the whole block
	ps := &t.prefill[worker]
	ps.q, ps.k, ps.vt = grow(ps.q, n*hd), grow(ps.k, cols*hd), grow(ps.vt, hd*cols)
	ps.s, ps.o = grow(ps.s, n*cols), grow(ps.o, n*hd)
	for i := range n {
		copy(ps.q[i*hd:(i+1)*hd], t.q[i*t.qStride+h*hd:i*t.qStride+(h+1)*hd])
	}
	for j, r := range rows[base:total] {
		copy(ps.k[j*hd:(j+1)*hd], keys[r*hd:(r+1)*hd])
		for d, v := range values[r*hd : (r+1)*hd] {
			ps.vt[d*cols+j] = v
		}
	}
	t.prefillProducts(worker, h, hd)
}

// prefillHeadF16 is prefillHead over FP16 keys and values, widened as they
// are gathered into the blocks (exactly: the products are those of a
// float32 store holding the same values).
func (t *attendTask) prefillHeadF16(worker, h int, keys, values []uint16, rows []int, hd int) {
	n, total, base := t.n, t.pos0+t.n, t.e.windowStart(t.pos0+1)
	cols := total - base // as in prefillHead
	ps := &t.prefill[worker]
	ps.q, ps.k, ps.vt = grow(ps.q, n*hd), grow(ps.k, cols*hd), grow(ps.vt, hd*cols)
	ps.s, ps.o = grow(ps.s, n*cols), grow(ps.o, n*hd)
	for i := range n {
		copy(ps.q[i*hd:(i+1)*hd], t.q[i*t.qStride+h*hd:i*t.qStride+(h+1)*hd])
	}
	ps.row = grow(ps.row, hd)
	for j, r := range rows[base:total] {
		kernels.F16ToF32(ps.k[j*hd:(j+1)*hd], keys[r*hd:(r+1)*hd])
		kernels.F16ToF32(ps.row, values[r*hd:(r+1)*hd])
		for d, v := range ps.row {
			ps.vt[d*cols+j] = v
		}
	}
	t.prefillProducts(worker, h, hd)
}

// prefillProducts finishes a prefill head from the gathered blocks in
// t.prefill (keys base..total-1): S = Q·Kᵀ, masked softmax per row, O = S·V
// into t.out.
func (t *attendTask) prefillProducts(worker, h, hd int) {
	n, total, base := t.n, t.pos0+t.n, t.e.windowStart(t.pos0+1)
	cols := total - base
	ps := &t.prefill[worker]
	kernels.MatMul(ps.s, kernels.Matrix{Rows: cols, Cols: hd, DType: kernels.F32, F32: ps.k}, ps.q, n)
	for i := range n {
		row := ps.s[i*cols : (i+1)*cols]
		visible := t.pos0 + i + 1 - base
		lo := t.e.windowStart(t.pos0+i+1) - base // sliding window: keys before lo are masked
		kernels.Scale(row[lo:visible], t.scale)
		kernels.Softmax(row[lo:visible])
		clear(row[:lo])
		clear(row[visible:])
	}
	kernels.MatMul(ps.o, kernels.Matrix{Rows: hd, Cols: cols, DType: kernels.F32, F32: ps.vt}, ps.s, n)
	for i := range n {
		copy(t.out[i*t.qStride+h*hd:i*t.qStride+(h+1)*hd], ps.o[i*hd:(i+1)*hd])
	}
}

// source returns the K and V arrays the rows of group g index into.
func (e *Engine) source(layer, g int) (keys, values []float32) {
	if e.view != nil {
		return e.view.Keys(layer, g), e.view.Values(layer, g)
	}
	return e.gK[g], e.gV[g]
}

// attendRows is the attention of one query over the listed rows of keys
// and values ([row*hd : (row+1)*hd]): scores from one matrix-vector product
// over the keys, softmax, then one weighted sum of the value rows. Rows
// that are consecutive are read in place; others are first gathered into
// kbuf and vbuf. scores, kbuf and vbuf are scratch of at least len(rows),
// len(rows)*hd and len(rows)*hd.
func attendRows(out, q, keys, values []float32, rows []int, hd int, scale float32, scores, kbuf, vbuf []float32) {
	m := len(rows)
	if m == 0 {
		clear(out)
		return
	}
	s := scores[:m]
	k, v := gatherRows(keys, values, rows, hd, kbuf, vbuf)
	kernels.ScoreRows(s, k, q, hd, scale) // MatVec then Scale, bit for bit
	kernels.Softmax(s)
	kernels.WeightedRowSum(out, s, v, hd)
}

// gatherRows returns the listed rows of keys and values as contiguous
// blocks: in place when the rows are consecutive, else copied into kbuf
// and vbuf (scratch of at least len(rows)*hd).
func gatherRows[T float32 | uint16](keys, values []T, rows []int, hd int, kbuf, vbuf []T) (k, v []T) {
	m := len(rows)
	if first := rows[0]; consecutive(rows) {
		return keys[first*hd : (first+m)*hd], values[first*hd : (first+m)*hd]
	}
	k, v = kbuf[:m*hd], vbuf[:m*hd]
	for j, r := range rows {
		copy(k[j*hd:(j+1)*hd], keys[r*hd:(r+1)*hd])
		copy(v[j*hd:(j+1)*hd], values[r*hd:(r+1)*hd])
	}
	return k, v
}

// attendRowsF16 is attendRows over FP16 keys and values, read in place
// (consecutive rows) or gathered as FP16 into kbuf and vbuf, widened in the
// kernels. Its result is attendRows' on the widened vectors, bit for bit.
func attendRowsF16(out, q []float32, keys, values []uint16, rows []int, hd int, scale float32, scores []float32, kbuf, vbuf []uint16) {
	m := len(rows)
	if m == 0 {
		clear(out)
		return
	}
	s := scores[:m]
	k, v := gatherRows(keys, values, rows, hd, kbuf, vbuf)
	kernels.DotRowsF16(s, k, q)
	kernels.Scale(s, scale)
	kernels.Softmax(s)
	kernels.WeightedRowSumF16(out, s, v, hd)
}

// consecutive reports whether rows is first, first+1, first+2, ...
func consecutive(rows []int) bool {
	for j, r := range rows {
		if r != rows[0]+j {
			return false
		}
	}
	return true
}

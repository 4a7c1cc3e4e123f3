package eval

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"starc/attention"
	"starc/model"
	"starc/model/kernels"
	"starc/pim"
)

// Cell is one attention configuration of an evaluation: a method at a KV
// budget (tokens each query head attends to per decode step; 0 = all).
type Cell struct {
	Method string `json:"method"`
	Budget int    `json:"budget"`
}

// String is the cell's name in tables and directory names: "full",
// "starc-256".
func (c Cell) String() string {
	if c.Budget == 0 {
		return c.Method
	}
	return c.Method + "-" + strconv.Itoa(c.Budget)
}

// Cells is every method at every budget, in the order given; "full" runs
// once, at budget 0.
func Cells(methods []string, budgets []int) []Cell {
	var cells []Cell
	for _, m := range methods {
		if m == "full" {
			cells = append(cells, Cell{Method: "full"})
			continue
		}
		for _, b := range budgets {
			cells = append(cells, Cell{Method: m, Budget: b})
		}
	}
	return cells
}

// AnswerConfig is how an Answerer runs its cells.
type AnswerConfig struct {
	// Base is the attention configuration every cell starts from (shape and
	// method knobs); Budget, DenseLayers and MaxTokens are set per cell.
	Base        attention.Config
	DenseLayers int        // layers that attend densely in every cell (released STARC/Quest: 2)
	Threads     int        // worker threads
	PIM         bool       // the KV cache lives in the simulated HBM-PIM device
	Layout      pim.Layout // the device's KV layout (PIM only)
	RowTokens   int        // slots per DRAM row for the paper's row count (16)
	// Trace records every answer's decode-step reads as a pim access trace
	// (Answer.Trace), for starc hw --trace and trace budget-table.
	Trace bool
	// Reprefill makes every cell prefill the prompt itself instead of
	// forking one shared prefill: the reference the fork is measured and
	// tested against.
	Reprefill bool
	// Batch is the most cells that decode at once, in lockstep through one
	// model.Batch (0 = as many as MemoryBytes holds, at most 16; 1 = one
	// cell after another).
	Batch int
	// MemoryBytes bounds the host memory of the cells decoding at once
	// (0 = 4 GiB), estimated by cellBytes; the cells of an Answer run in as
	// many batches as that takes, each of at least one cell. The shared
	// prefill and its snapshot come on top.
	MemoryBytes int64
}

// Defaults of AnswerConfig.Batch and MemoryBytes.
const (
	maxAutoBatch       = 16      // past 16 cells the aggregate decode rate hardly grows (BenchmarkBatchDecode)
	defaultMemoryBytes = 4 << 30 // a few of the machine's 23 GB, shared with other runs
)

// Cost is what one answer cost, over its decode steps (the forward passes
// after the prefill; the first answer token comes from the prefill).
type Cost struct {
	GeneratedTokens int `json:"generated_tokens"`
	DecodeSteps     int `json:"decode_steps"`
	// TokensPerHead is the mean count of tokens one query head of a sparse
	// layer attended to per decode step.
	TokensPerHead float64 `json:"tokens_per_head"`
	// RowsPerHead is the paper's row count (starc.md §4.5): DRAM rows of K
	// one query head of a sparse layer activates per decode step.
	RowsPerHead float64 `json:"rows_per_head"`
	// PIM attention cost per decode step, all layers (zero when the KV
	// cache is on the host).
	PIMLatencyNS      float64 `json:"pim_latency_ns_per_token"`
	PIMEnergyNJ       float64 `json:"pim_energy_nj_per_token"`
	PIMRowActivations float64 `json:"pim_row_activations_per_token"`
}

// Answer is one cell's greedy continuation of a prompt.
type Answer struct {
	Cell         Cell
	Tokens       []int // generated token ids, without the stop token
	StoppedAtEOS bool
	Cost         Cost
	Trace        *pim.Trace // the decode steps' reads, with AnswerConfig.Trace
}

// Answerer answers prompts under several attention cells: the prompt is
// prefilled once (densely, as every method prefills), then the cells decode
// greedily in lockstep, each from its own fork of that prefill: one
// model.Batch step advances every cell still generating by one token, so
// the weights are read once per step for all of them. Each cell's answer
// and costs are its own (its own state, method, budget, KV store and
// observers). Not safe for concurrent use.
type Answerer struct {
	m   *model.Model
	cfg AnswerConfig

	capacity int
	prefill  *cellState // full attention, the shared prefill
	snap     *model.Snapshot
	batch    *model.Batch // sized for the largest batch of cells so far
}

// cellState is one cell's run state and its observers.
type cellState struct {
	cell   Cell
	st     *model.State
	device *attention.PIM           // nil when the KV cache is on the host
	heads  RowCounter               // OnSelect: the paper's per-head rows
	trace  *attention.TraceRecorder // OnRead, with AnswerConfig.Trace
}

// NewAnswerer prepares an Answerer for m.
func NewAnswerer(m *model.Model, cfg AnswerConfig) (*Answerer, error) {
	if cfg.Threads < 1 {
		return nil, fmt.Errorf("eval: %d threads", cfg.Threads)
	}
	if cfg.RowTokens < 1 {
		cfg.RowTokens = 16
	}
	return &Answerer{m: m, cfg: cfg}, nil
}

// Close releases the shared prefill state and the batch's workers.
func (a *Answerer) Close() {
	a.closePrefill()
	if a.batch != nil {
		a.batch.Close()
		a.batch = nil
	}
}

func (a *Answerer) closePrefill() {
	if a.prefill != nil {
		a.prefill.st.Close()
		a.prefill = nil
	}
}

// newCellState builds the state of one cell; opt sets its capacity,
// threads, prefill block and forkability, the cell its method and budget.
func (a *Answerer) newCellState(cell Cell, opt model.StateOptions) (*cellState, error) {
	c := a.cfg.Base
	c.MaxTokens, c.Budget, c.DenseLayers = opt.MaxTokens, cell.Budget, a.cfg.DenseLayers
	method, err := attention.New(cell.Method, c)
	if err != nil {
		return nil, err
	}
	cs := &cellState{cell: cell, heads: RowCounter{RowTokens: a.cfg.RowTokens, FromLayer: a.cfg.DenseLayers}}
	opt.Method, opt.DenseLayers = method, c.DenseLayers
	if a.cfg.PIM {
		if cs.device, err = attention.NewPIM(pim.HBM3PIM(true), c, a.cfg.Layout); err != nil {
			return nil, err
		}
		opt.Store = cs.device
	}
	if cs.st, err = model.NewState(a.m, opt); err != nil {
		return nil, err
	}
	cs.st.Attn.OnSelect(cs.heads.Observe)
	if a.cfg.Trace {
		cs.trace = attention.NewTraceRecorder(c, a.cfg.RowTokens, a.cfg.Layout.String())
		cs.st.Attn.OnRead(cs.trace.Observe) // decode reads only: a restore or prefill reports none
	}
	return cs, nil
}

// Answer prefills prompt once and lets every cell generate greedily up to
// maxNew tokens, stopping at a stop token. The cells decode in batches of
// up to cellsPerBatch, each batch in lockstep. Answers come in cells'
// order; on an error, those of the batches already finished.
func (a *Answerer) Answer(ctx context.Context, prompt []int, maxNew int, stop []int, cells []Cell) ([]Answer, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("eval: empty prompt")
	}
	if maxNew < 1 {
		return nil, fmt.Errorf("eval: %d tokens to generate", maxNew)
	}
	need := len(prompt) + maxNew
	if need > a.m.Config.MaxContext() {
		return nil, fmt.Errorf("eval: prompt of %d tokens + %d to generate exceeds the model's context of %d", len(prompt), maxNew, a.m.Config.MaxContext())
	}
	capacity := need
	if !a.cfg.Reprefill {
		if err := a.prefillShared(ctx, prompt, need); err != nil {
			return nil, err
		}
		capacity = a.capacity
	}
	per := a.cellsPerBatch(capacity, len(cells))
	answers := make([]Answer, 0, len(cells))
	for lo := 0; lo < len(cells); lo += per {
		got, err := a.answerBatch(ctx, cells[lo:min(lo+per, len(cells))], prompt, capacity, maxNew, stop)
		if err != nil {
			return answers, err
		}
		answers = append(answers, got...)
	}
	return answers, nil
}

// cellsPerBatch is how many cells of capacity tokens decode at once:
// AnswerConfig.Batch if set, else as many as MemoryBytes holds (at most
// maxAutoBatch); never more than there are cells, never fewer than one.
func (a *Answerer) cellsPerBatch(capacity, cells int) int {
	n := a.cfg.Batch
	if n == 0 {
		budget := a.cfg.MemoryBytes
		if budget == 0 {
			budget = defaultMemoryBytes
		}
		n = int(min(budget/cellBytes(a.cfg.Base, capacity), maxAutoBatch))
	}
	return max(1, min(n, cells))
}

// cellBytes estimates the host memory of one cell of capacity tokens:
// twice its float32 K/V cache, for the store plus what the methods keep
// per token (keys, pages, SparQ's sorted components). Measured on SmolLM2
// at 2048 tokens: 1.2× (full) to 1.7× (sparq) the K/V bytes dense, 0.7× to
// 1.2× with the cache in the device.
func cellBytes(c attention.Config, capacity int) int64 {
	kv := 2 * 4 * int64(c.Layers) * int64(c.KVHeads) * int64(c.HeadDim) // float32 K and V of one token
	return 2 * kv * int64(max(capacity, 1))
}

// prefillShared runs the prompt through the shared full-attention state
// and snapshots it.
func (a *Answerer) prefillShared(ctx context.Context, prompt []int, need int) error {
	if a.prefill == nil || a.capacity < need {
		a.closePrefill()
		a.capacity = need
		var err error
		opt := model.StateOptions{MaxTokens: need, Threads: a.cfg.Threads, Forkable: true}
		if a.prefill, err = a.newCellState(Cell{Method: "full"}, opt); err != nil {
			return err
		}
	}
	a.prefill.st.Reset()
	if _, err := a.m.PrefillContext(ctx, a.prefill.st, prompt); err != nil {
		return err
	}
	var err error
	a.snap, err = a.prefill.st.Snapshot(a.snap)
	return err
}

// cellRun is one cell of a batch while it decodes.
type cellRun struct {
	cs     *cellState
	ans    Answer
	logits []float32 // the logits its next token is chosen from
	dev    pim.StepReport
}

// answerBatch decodes cells greedily in lockstep from the shared prefill
// (or, with Reprefill, each from its own): at every step each cell still
// generating chooses its token, and one batch step runs them all.
func (a *Answerer) answerBatch(ctx context.Context, cells []Cell, prompt []int, capacity, maxNew int, stop []int) ([]Answer, error) {
	runs := make([]*cellRun, 0, len(cells))
	defer func() {
		for _, r := range runs {
			r.cs.st.Close()
		}
	}()
	for _, cell := range cells {
		r, err := a.startCell(ctx, cell, prompt, capacity)
		if err != nil {
			return nil, fmt.Errorf("eval: %s: %w", cell, err)
		}
		runs = append(runs, r)
	}
	b, err := a.batchOf(len(runs))
	if err != nil {
		return nil, err
	}
	live := slices.Clone(runs)
	states, tokens := make([]*model.State, 0, len(runs)), make([]int, 0, len(runs))
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		next := live[:0]
		states, tokens = states[:0], tokens[:0]
		for _, r := range live {
			if id, more := r.choose(maxNew, stop); more {
				next, states, tokens = append(next, r), append(states, r.cs.st), append(tokens, id)
			}
		}
		if live = next; len(live) == 0 {
			break
		}
		out, err := b.Forward(states, tokens)
		if err != nil {
			return nil, fmt.Errorf("eval: decoding %s: %w", cellNames(live), err)
		}
		for j, r := range live {
			r.stepped(out[j])
		}
	}
	answers := make([]Answer, len(runs))
	for i, r := range runs {
		answers[i] = r.answer()
	}
	return answers, nil
}

// startCell builds a cell's state and brings it to the end of the prompt:
// restored from the shared prefill, or with Reprefill prefilled itself.
// The prefill's accounting is not the answer's: the observers restart and
// the device's open step closes.
func (a *Answerer) startCell(ctx context.Context, cell Cell, prompt []int, capacity int) (*cellRun, error) {
	// A restored cell never prefills (a 1-token block) and runs its
	// attention on one thread, so that the batch runs the cells' attention
	// in parallel; a re-prefilling cell prefills as the shared state does.
	opt := model.StateOptions{MaxTokens: capacity, Threads: 1, PrefillBlock: 1}
	if a.cfg.Reprefill {
		opt = model.StateOptions{MaxTokens: capacity, Threads: a.cfg.Threads}
	}
	cs, err := a.newCellState(cell, opt)
	if err != nil {
		return nil, err
	}
	var logits []float32
	if a.cfg.Reprefill {
		logits, err = a.m.PrefillContext(ctx, cs.st, prompt)
	} else {
		logits, err = cs.st.Restore(a.snap)
	}
	if err != nil {
		cs.st.Close()
		return nil, err
	}
	cs.heads.Reset()
	if cs.device != nil {
		cs.device.EndStep()
	}
	return &cellRun{cs: cs, ans: Answer{Cell: cell}, logits: logits}, nil
}

// batchOf returns the Answerer's batch, grown to hold n cells.
func (a *Answerer) batchOf(n int) (*model.Batch, error) {
	if a.batch != nil && a.batch.Size() >= n {
		return a.batch, nil
	}
	if a.batch != nil {
		a.batch.Close()
		a.batch = nil
	}
	b, err := model.NewBatch(a.m, n, a.cfg.Threads)
	if err != nil {
		return nil, err
	}
	a.batch = b
	return b, nil
}

// choose takes the cell's next token from its logits and reports whether
// the cell decodes it: not at a stop token (which ends the answer without
// joining it), nor at the maxNew-th token (it needs no forward pass).
func (r *cellRun) choose(maxNew int, stop []int) (id int, more bool) {
	id = kernels.Argmax(r.logits)
	if slices.Contains(stop, id) {
		r.ans.StoppedAtEOS = true
		return id, false
	}
	r.ans.Tokens = append(r.ans.Tokens, id)
	return id, len(r.ans.Tokens) < maxNew
}

// stepped records one decode step of the cell, with the logits it gave
// (owned by the batch: read before its next step).
func (r *cellRun) stepped(logits []float32) {
	r.logits = logits
	r.ans.Cost.DecodeSteps++
	if r.cs.device != nil {
		r.dev.Add(r.cs.device.EndStep())
	}
}

// answer is the cell's answer with its costs per decode step.
func (r *cellRun) answer() Answer {
	ans, cs := r.ans, r.cs
	c := &ans.Cost
	c.GeneratedTokens = len(ans.Tokens)
	c.TokensPerHead = ratio(cs.heads.TokensRead, cs.heads.Reads)
	c.RowsPerHead = cs.heads.RowsPerRead()
	if cs.trace != nil {
		ans.Trace = cs.trace.Trace()
	}
	if steps := float64(c.DecodeSteps); steps > 0 {
		c.PIMLatencyNS, c.PIMEnergyNJ = r.dev.LatencyNS/steps, r.dev.EnergyPJ/1e3/steps
		c.PIMRowActivations = float64(r.dev.RowActivations) / steps
	}
	return ans
}

// cellNames lists the cells of runs for an error message.
func cellNames(runs []*cellRun) string {
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.ans.Cell.String()
	}
	return strings.Join(names, ", ")
}

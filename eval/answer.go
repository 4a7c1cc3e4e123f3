package eval

import (
	"context"
	"fmt"
	"slices"
	"strconv"

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
	// Reprefill makes every cell prefill the prompt itself instead of
	// forking one shared prefill: the reference the fork is measured and
	// tested against.
	Reprefill bool
}

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
}

// Answerer answers prompts under several attention cells: the prompt is
// prefilled once (densely, as every method prefills), then each cell
// decodes greedily from its own fork of that prefill. Not safe for
// concurrent use.
type Answerer struct {
	m   *model.Model
	cfg AnswerConfig

	capacity int
	prefill  *cellState // full attention, the shared prefill
	snap     *model.Snapshot
}

// cellState is one cell's run state and its observers.
type cellState struct {
	cell   Cell
	st     *model.State
	device *attention.PIM // nil when the KV cache is on the host
	heads  RowCounter     // OnSelect: the paper's per-head rows
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

// Close releases the shared prefill state.
func (a *Answerer) Close() {
	if a.prefill != nil {
		a.prefill.st.Close()
		a.prefill = nil
	}
}

// newCellState builds the state of one cell for a capacity in tokens.
func (a *Answerer) newCellState(cell Cell, capacity int, forkable bool) (*cellState, error) {
	c := a.cfg.Base
	c.MaxTokens, c.Budget, c.DenseLayers = capacity, cell.Budget, a.cfg.DenseLayers
	method, err := attention.New(cell.Method, c)
	if err != nil {
		return nil, err
	}
	cs := &cellState{cell: cell, heads: RowCounter{RowTokens: a.cfg.RowTokens, FromLayer: a.cfg.DenseLayers}}
	opt := model.StateOptions{MaxTokens: capacity, Threads: a.cfg.Threads, Method: method, DenseLayers: c.DenseLayers,
		Forkable: forkable}
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
	return cs, nil
}

// Answer prefills prompt once and lets every cell generate greedily up to
// maxNew tokens, stopping at a stop token. Answers come in cells' order.
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
	if !a.cfg.Reprefill {
		if err := a.prefillShared(ctx, prompt, need); err != nil {
			return nil, err
		}
	}
	answers := make([]Answer, 0, len(cells))
	for _, cell := range cells {
		if err := ctx.Err(); err != nil {
			return answers, err
		}
		ans, err := a.answerCell(ctx, cell, prompt, maxNew, stop)
		if err != nil {
			return answers, fmt.Errorf("eval: %s: %w", cell, err)
		}
		answers = append(answers, ans)
	}
	return answers, nil
}

// prefillShared runs the prompt through the shared full-attention state
// and snapshots it.
func (a *Answerer) prefillShared(ctx context.Context, prompt []int, need int) error {
	if a.prefill == nil || a.capacity < need {
		a.Close()
		a.capacity = need
		var err error
		if a.prefill, err = a.newCellState(Cell{Method: "full"}, need, true); err != nil {
			return err
		}
	}
	a.prefill.st.Reset()
	if _, err := a.m.Prefill(a.prefill.st, prompt); err != nil {
		return err
	}
	var err error
	a.snap, err = a.prefill.st.Snapshot(a.snap)
	return err
}

// answerCell decodes one cell greedily from the shared prefill (or its own).
func (a *Answerer) answerCell(ctx context.Context, cell Cell, prompt []int, maxNew int, stop []int) (Answer, error) {
	ans := Answer{Cell: cell}
	capacity := len(prompt) + maxNew
	if !a.cfg.Reprefill {
		capacity = a.capacity
	}
	cs, err := a.newCellState(cell, capacity, false)
	if err != nil {
		return ans, err
	}
	defer cs.st.Close()
	var logits []float32
	if a.cfg.Reprefill {
		logits, err = a.m.Prefill(cs.st, prompt)
	} else {
		logits, err = cs.st.Restore(a.snap)
	}
	if err != nil {
		return ans, err
	}
	cs.heads.Reset()
	if cs.device != nil {
		cs.device.EndStep() // the prefill's accounting is not the answer's
	}
	var dev pim.StepReport
	for len(ans.Tokens) < maxNew {
		if err := ctx.Err(); err != nil {
			return ans, err
		}
		id := kernels.Argmax(logits)
		if slices.Contains(stop, id) {
			ans.StoppedAtEOS = true
			break
		}
		ans.Tokens = append(ans.Tokens, id)
		if len(ans.Tokens) == maxNew {
			break // the last token needs no forward pass
		}
		if logits, err = a.m.Forward(cs.st, id); err != nil {
			return ans, err
		}
		ans.Cost.DecodeSteps++
		if cs.device != nil {
			dev.Add(cs.device.EndStep())
		}
	}
	c := &ans.Cost
	c.GeneratedTokens = len(ans.Tokens)
	c.TokensPerHead = ratio(cs.heads.TokensRead, cs.heads.Reads)
	c.RowsPerHead = cs.heads.RowsPerRead()
	if steps := float64(c.DecodeSteps); steps > 0 {
		c.PIMLatencyNS, c.PIMEnergyNJ = dev.LatencyNS/steps, dev.EnergyPJ/1e3/steps
		c.PIMRowActivations = float64(dev.RowActivations) / steps
	}
	return ans, nil
}

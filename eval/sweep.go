package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"starc/attention"
	"starc/model"
)

// SweepConfig is an accuracy-versus-budget experiment: every method at
// every budget runs the stream perplexity protocol on the same tokens, with
// selection quality and row activations measured at every decode step.
type SweepConfig struct {
	Methods     []string
	Budgets     []int
	Prefill     int // tokens prefilled densely before scoring starts (≥ 1)
	MaxTokens   int // predictions scored per run (stream protocol)
	Capacity    int // KV capacity in tokens (≥ Prefill+MaxTokens)
	Threads     int
	DenseLayers int // layers kept dense by the sparse methods (released: 2)
	RowTokens   int // slots per DRAM row for the row count (16)
	Base        attention.Config
	// Batch is the most runs that decode at once: they fork one shared
	// prefill and step in lockstep through one model.Batch, which reads the
	// weights once per step for all of them. 0 or 1: one run after another,
	// each prefilling the text itself (the reference; batched rows equal it
	// bit for bit, since a batched step is Forward's). BatchFor gives the
	// most that fit in memory.
	Batch int

	// OnRow, if not nil, gets each row as soon as its run finishes, so a
	// later failure or interruption loses no finished row; an error from it
	// stops the sweep.
	OnRow func(SweepRow) error
	// Progress, if not nil, is told the predictions scored so far over all
	// runs, out of Runs() × MaxTokens.
	Progress Progress
}

// sweepRun is one (method, budget) run of a sweep.
type sweepRun struct {
	method string
	budget int
}

// runs lists the runs of c in order; "full" runs once, at budget 0.
func (c SweepConfig) runs() []sweepRun {
	var runs []sweepRun
	for _, name := range c.Methods {
		if name == "full" {
			runs = append(runs, sweepRun{name, 0})
			continue
		}
		for _, b := range c.Budgets {
			runs = append(runs, sweepRun{name, b})
		}
	}
	return runs
}

// Runs is the number of (method, budget) runs c makes.
func (c SweepConfig) Runs() int { return len(c.runs()) }

// Validate checks every method, budget and count before anything runs, so
// that a sweep never fails in its fifth run on a mistake in its input.
func (c SweepConfig) Validate(tokens int) error {
	if len(c.Methods) == 0 {
		return fmt.Errorf("eval: sweep: no method")
	}
	known := attention.Names()
	for _, name := range c.Methods {
		if !slices.Contains(known, name) {
			return fmt.Errorf("eval: sweep: unknown method %q (known: %s)", name, strings.Join(known, ", "))
		}
	}
	if slices.ContainsFunc(c.Methods, func(m string) bool { return m != "full" }) && len(c.Budgets) == 0 {
		return fmt.Errorf("eval: sweep: sparse methods need at least one budget")
	}
	for _, b := range c.Budgets {
		if b < 1 {
			return fmt.Errorf("eval: sweep: budget %d is not a positive token count", b)
		}
	}
	switch {
	case c.Prefill < 1 || c.MaxTokens < 1 || c.RowTokens < 1 || c.Threads < 1 || c.DenseLayers < 0:
		return fmt.Errorf("eval: sweep: prefill %d, max tokens %d, row tokens %d and threads %d must be positive, dense layers %d not negative",
			c.Prefill, c.MaxTokens, c.RowTokens, c.Threads, c.DenseLayers)
	case c.Capacity < c.Prefill+c.MaxTokens:
		return fmt.Errorf("eval: sweep: a capacity of %d tokens cannot hold %d prefilled + %d scored", c.Capacity, c.Prefill, c.MaxTokens)
	case tokens < c.Prefill+c.MaxTokens:
		return fmt.Errorf("eval: sweep: the text has %d tokens, fewer than %d prefilled + %d scored", tokens, c.Prefill, c.MaxTokens)
	}
	return nil
}

// SweepRow is one (method, budget) result.
type SweepRow struct {
	Method        string  `json:"method"`
	Budget        int     `json:"budget"` // 0 = all tokens (full)
	PPL           float64 `json:"ppl"`
	TokensScored  int     `json:"tokens_scored"`
	Top10Recall   float64 `json:"top10_recall"`    // mean over (step, sparse layer, query head)
	MassRecall    float64 `json:"mass_recall"`     // mean share of full-attention mass kept
	TokensPerSel  float64 `json:"tokens_per_sel"`  // tokens attended per query head per step
	RowsPerHead   float64 `json:"rows_per_head"`   // paper's rule: K rows per (step, sparse layer, query head)
	OverFetch     float64 `json:"over_fetch"`      // share of those rows' slots not selected by the head
	RowsPerRead   float64 `json:"rows_per_read"`   // GQA reads: K rows per (step, sparse layer, KV head), the union of its query heads; V the same
	TokensPerRow  float64 `json:"tokens_per_row"`  // tokens each row of a GQA read serves
	ReadOverFetch float64 `json:"read_over_fetch"` // share of a GQA read's row slots no head of the group selected
	MeanContext   float64 `json:"mean_context"`    // tokens cached per step, on average
	Seconds       float64 `json:"seconds"`         // wall time of the run; in a batch, the batch's time over its runs
}

// Sweep runs cfg on ids and returns one row per (method, budget); "full"
// runs once. progress, if not nil, gets a line per finished run. On an
// error or cancellation it returns the rows finished so far with the error.
func Sweep(ctx context.Context, m *model.Model, ids []int, cfg SweepConfig, progress io.Writer) ([]SweepRow, error) {
	if err := cfg.Validate(len(ids)); err != nil {
		return nil, err
	}
	runs := cfg.runs()
	var rows []SweepRow
	// finished records the row of run i, which took seconds.
	finished := func(i int, row SweepRow, seconds float64) error {
		row.Seconds = seconds
		rows = append(rows, row)
		if progress != nil {
			fmt.Fprintf(progress, "sweep: run %d/%d %-9s budget %5d: ppl %.4f, top-10 recall %.3f, mass recall %.3f, rows/head %.1f (over-fetch %.3f), rows/GQA read %.1f (%.0f s)\n",
				i+1, len(runs), row.Method, row.Budget, row.PPL, row.Top10Recall, row.MassRecall, row.RowsPerHead, row.OverFetch, row.RowsPerRead, row.Seconds)
		}
		if cfg.OnRow != nil {
			return cfg.OnRow(row)
		}
		return nil
	}
	per := cfg.runsPerBatch(len(runs))
	if per == 1 {
		for i, run := range runs {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
			t0 := time.Now()
			var scored func(int, float64)
			if cfg.Progress != nil {
				scored = func(done int, _ float64) { cfg.Progress(i*cfg.MaxTokens+done, len(runs)*cfg.MaxTokens) }
			}
			row, err := sweepOne(ctx, m, ids, cfg, run.method, run.budget, scored)
			if err != nil {
				return rows, fmt.Errorf("eval: %s at budget %d: %w", run.method, run.budget, err)
			}
			if err := finished(i, row, time.Since(t0).Seconds()); err != nil {
				return rows, err
			}
		}
		return rows, nil
	}
	snap, err := sweepPrefill(ctx, m, ids, cfg)
	if err != nil {
		return rows, err
	}
	for lo := 0; lo < len(runs); lo += per {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		group := runs[lo:min(lo+per, len(runs))]
		t0 := time.Now()
		var scored func(int)
		if cfg.Progress != nil {
			scored = func(done int) { cfg.Progress(lo*cfg.MaxTokens+done*len(group), len(runs)*cfg.MaxTokens) }
		}
		got, err := sweepBatch(ctx, m, ids, cfg, snap, group, scored)
		if err != nil {
			return rows, err
		}
		seconds := time.Since(t0).Seconds() / float64(len(group)) // each run's share of the batch
		for k, row := range got {
			if err := finished(lo+k, row, seconds); err != nil {
				return rows, err
			}
		}
	}
	return rows, nil
}

// BatchFor is the most runs of c that fit in memoryBytes of host memory
// at once (0 = 4 GiB), at most 16 (past which the aggregate decode rate
// hardly grows): a value for Batch. The shared prefill's snapshot (46 KB
// per prefilled token on SmolLM2) comes on top.
func (c SweepConfig) BatchFor(memoryBytes int64) int {
	if memoryBytes == 0 {
		memoryBytes = defaultMemoryBytes
	}
	// A run holds what an answer's cell holds plus the quality meter's
	// float32 copy of the keys (half the K/V bytes).
	perRun := cellBytes(c.Base, c.Capacity) * 5 / 4
	return max(1, int(min(memoryBytes/perRun, maxAutoBatch)))
}

// runsPerBatch is how many of runs decode at once.
func (c SweepConfig) runsPerBatch(runs int) int { return max(1, min(c.Batch, runs)) }

// sweepPrefill prefills the text's first cfg.Prefill tokens once, densely,
// as every run would, and snapshots the state for the runs to fork.
func sweepPrefill(ctx context.Context, m *model.Model, ids []int, cfg SweepConfig) (*model.Snapshot, error) {
	st, err := model.NewState(m, model.StateOptions{MaxTokens: cfg.Capacity, Threads: cfg.Threads})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := m.PrefillContext(ctx, st, ids[:cfg.Prefill]); err != nil {
		return nil, err
	}
	return st.Snapshot(nil)
}

// sweepCell is one run of a batch while it decodes.
type sweepCell struct {
	run          sweepRun
	st           *model.State
	reads, heads *RowCounter
	nll          nllSum
	logits       []float32 // the logits predicting the next token
}

// sweepBatch runs the stream protocol for the runs of group in lockstep,
// each forked from snap: every step scores each run's logits against the
// next token, then one batch step feeds that token to all of them.
// scored, if not nil, is told the predictions each run has scored.
func sweepBatch(ctx context.Context, m *model.Model, ids []int, cfg SweepConfig, snap *model.Snapshot, group []sweepRun, scored func(int)) ([]SweepRow, error) {
	cells := make([]*sweepCell, 0, len(group))
	defer func() {
		for _, c := range cells {
			c.st.Close()
		}
	}()
	states := make([]*model.State, 0, len(group))
	for _, run := range group {
		c, err := newSweepCell(m, cfg, run, snap)
		if err != nil {
			return nil, fmt.Errorf("eval: %s at budget %d: %w", run.method, run.budget, err)
		}
		cells, states = append(cells, c), append(states, c.st)
	}
	b, err := model.NewBatch(m, len(cells), cfg.Threads)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	// The stream protocol of StreamPerplexity, for every run at once.
	n := min(len(ids), cfg.Capacity, cfg.Prefill+cfg.MaxTokens)
	tokens := make([]int, len(cells))
	for i := cfg.Prefill; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, c := range cells {
			c.nll.add(NLL(c.logits, ids[i]))
		}
		if scored != nil {
			scored(i - cfg.Prefill + 1)
		}
		if i == n-1 {
			break
		}
		for k := range tokens {
			tokens[k] = ids[i]
		}
		out, err := b.Forward(states, tokens)
		if err != nil {
			return nil, fmt.Errorf("eval: sweep step at position %d: %w", i, err)
		}
		for k, c := range cells {
			c.logits = out[k]
		}
	}
	rows := make([]SweepRow, len(cells))
	for k, c := range cells {
		res, err := c.nll.finish(PPLResult{Protocol: "stream", InputTokens: len(ids), Ctx: n})
		if err != nil {
			return nil, fmt.Errorf("eval: %s at budget %d: %w", c.run.method, c.run.budget, err)
		}
		rows[k] = sweepRow(c.run, res, c.st, c.reads, c.heads)
	}
	return rows, nil
}

// newSweepCell builds the state of one run, with its quality meter and
// row counters, restored from the shared prefill.
func newSweepCell(m *model.Model, cfg SweepConfig, run sweepRun, snap *model.Snapshot) (*sweepCell, error) {
	ac := cfg.Base
	ac.MaxTokens, ac.Budget, ac.DenseLayers = cfg.Capacity, run.budget, cfg.DenseLayers
	method, err := attention.New(run.method, ac)
	if err != nil {
		return nil, err
	}
	// One thread: the batch runs the runs' attention in parallel; no
	// prefill block: the state never prefills.
	st, err := model.NewState(m, model.StateOptions{MaxTokens: cfg.Capacity, Threads: 1, PrefillBlock: 1,
		Method: method, DenseLayers: cfg.DenseLayers})
	if err != nil {
		return nil, err
	}
	c := &sweepCell{run: run, st: st,
		reads: &RowCounter{RowTokens: cfg.RowTokens, FromLayer: cfg.DenseLayers},
		heads: &RowCounter{RowTokens: cfg.RowTokens, FromLayer: cfg.DenseLayers}}
	st.Attn.EnableQuality()
	st.Attn.OnRead(c.reads.Observe)
	st.Attn.OnSelect(c.heads.Observe)
	if c.logits, err = st.Restore(snap); err != nil {
		st.Close()
		return nil, err
	}
	return c, nil
}

func sweepOne(ctx context.Context, m *model.Model, ids []int, cfg SweepConfig, name string, budget int, scored func(int, float64)) (SweepRow, error) {
	row := SweepRow{Method: name, Budget: budget}
	ac := cfg.Base
	ac.Budget, ac.DenseLayers = budget, cfg.DenseLayers
	method, err := attention.New(name, ac)
	if err != nil {
		return row, err
	}
	st, err := model.NewState(m, model.StateOptions{MaxTokens: cfg.Capacity, Threads: cfg.Threads,
		Method: method, DenseLayers: cfg.DenseLayers})
	if err != nil {
		return row, err
	}
	defer st.Close()
	st.Attn.EnableQuality()
	reads := &RowCounter{RowTokens: cfg.RowTokens, FromLayer: cfg.DenseLayers}
	heads := &RowCounter{RowTokens: cfg.RowTokens, FromLayer: cfg.DenseLayers}
	st.Attn.OnRead(reads.Observe)
	st.Attn.OnSelect(heads.Observe)
	res, err := StreamPerplexity(ctx, m, st, ids, cfg.Prefill, cfg.MaxTokens, scored)
	if err != nil {
		return row, err
	}
	return sweepRow(sweepRun{name, budget}, res, st, reads, heads), nil
}

// sweepRow is the row of a finished run: its perplexity, its selections'
// quality and its row counts.
func sweepRow(run sweepRun, res PPLResult, st *model.State, reads, heads *RowCounter) SweepRow {
	row := SweepRow{Method: run.method, Budget: run.budget}
	q := st.Attn.Quality()
	row.PPL, row.TokensScored = res.PPL, res.TokensScored
	row.TokensPerSel, row.Top10Recall, row.MassRecall = q.Mean()
	row.RowsPerHead, row.OverFetch = heads.RowsPerRead(), heads.OverFetch()
	row.RowsPerRead, row.ReadOverFetch = reads.RowsPerRead(), reads.OverFetch()
	row.TokensPerRow = ratio(reads.TokensRead, reads.Rows)
	row.MeanContext = ratio(reads.ContextTotal, reads.Reads)
	return row
}

// WriteSweepMarkdown writes rows as a Markdown table.
func WriteSweepMarkdown(w io.Writer, rows []SweepRow) error {
	if err := WriteSweepMarkdownHeader(w); err != nil {
		return err
	}
	for _, r := range rows {
		if err := WriteSweepMarkdownRow(w, r); err != nil {
			return err
		}
	}
	return nil
}

// WriteSweepMarkdownHeader writes the header of the Markdown table, for
// rows written one at a time as they finish.
func WriteSweepMarkdownHeader(w io.Writer) error {
	_, err := io.WriteString(w, "| method | budget | PPL | top-10 recall | mass recall | tokens/head | rows/head | over-fetch | rows/GQA read | read over-fetch |\n"+
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	return err
}

// WriteSweepMarkdownRow writes one row of the Markdown table.
func WriteSweepMarkdownRow(w io.Writer, r SweepRow) error {
	budget := fmt.Sprint(r.Budget)
	if r.Budget == 0 {
		budget = "all"
	}
	_, err := fmt.Fprintf(w, "| %s | %s | %.4f | %.3f | %.3f | %.1f | %.1f | %.3f | %.1f | %.3f |\n", r.Method, budget, r.PPL,
		r.Top10Recall, r.MassRecall, r.TokensPerSel, r.RowsPerHead, r.OverFetch, r.RowsPerRead, r.ReadOverFetch)
	return err
}

// WriteSweepJSON writes rows as a JSON array.
func WriteSweepJSON(w io.Writer, rows []SweepRow) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

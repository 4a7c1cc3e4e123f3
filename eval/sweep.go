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
	Seconds       float64 `json:"seconds"`
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
		row.Seconds = time.Since(t0).Seconds()
		rows = append(rows, row)
		if progress != nil {
			fmt.Fprintf(progress, "sweep: run %d/%d %-9s budget %5d: ppl %.4f, top-10 recall %.3f, mass recall %.3f, rows/head %.1f (over-fetch %.3f), rows/GQA read %.1f (%.0f s)\n",
				i+1, len(runs), row.Method, row.Budget, row.PPL, row.Top10Recall, row.MassRecall, row.RowsPerHead, row.OverFetch, row.RowsPerRead, row.Seconds)
		}
		if cfg.OnRow != nil {
			if err := cfg.OnRow(row); err != nil {
				return rows, err
			}
		}
	}
	return rows, nil
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
	q := st.Attn.Quality()
	row.PPL, row.TokensScored = res.PPL, res.TokensScored
	row.TokensPerSel, row.Top10Recall, row.MassRecall = q.Mean()
	row.RowsPerHead, row.OverFetch = heads.RowsPerRead(), heads.OverFetch()
	row.RowsPerRead, row.ReadOverFetch = reads.RowsPerRead(), reads.OverFetch()
	row.TokensPerRow = ratio(reads.TokensRead, reads.Rows)
	row.MeanContext = ratio(reads.ContextTotal, reads.Reads)
	return row, nil
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

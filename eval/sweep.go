package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	Capacity    int // KV capacity in tokens (≥ MaxTokens+1)
	Threads     int
	DenseLayers int // layers kept dense by the sparse methods (released: 2)
	RowTokens   int // slots per DRAM row for the row count (16)
	Base        attention.Config
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
// runs once. progress, if not nil, gets a line per finished run.
func Sweep(ctx context.Context, m *model.Model, ids []int, cfg SweepConfig, progress io.Writer) ([]SweepRow, error) {
	var rows []SweepRow
	for _, name := range cfg.Methods {
		budgets := cfg.Budgets
		if name == "full" {
			budgets = []int{0}
		}
		for _, b := range budgets {
			t0 := time.Now()
			row, err := sweepOne(ctx, m, ids, cfg, name, b)
			if err != nil {
				return rows, fmt.Errorf("eval: %s at budget %d: %w", name, b, err)
			}
			row.Seconds = time.Since(t0).Seconds()
			rows = append(rows, row)
			if progress != nil {
				fmt.Fprintf(progress, "sweep: %-9s budget %5d: ppl %.4f, top-10 recall %.3f, mass recall %.3f, rows/head %.1f (over-fetch %.3f), rows/GQA read %.1f (%.0f s)\n",
					row.Method, row.Budget, row.PPL, row.Top10Recall, row.MassRecall, row.RowsPerHead, row.OverFetch, row.RowsPerRead, row.Seconds)
			}
		}
	}
	return rows, nil
}

func sweepOne(ctx context.Context, m *model.Model, ids []int, cfg SweepConfig, name string, budget int) (SweepRow, error) {
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
	res, err := StreamPerplexity(ctx, m, st, ids, cfg.Prefill, cfg.MaxTokens, nil)
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
	var b strings.Builder
	b.WriteString("| method | budget | PPL | top-10 recall | mass recall | tokens/head | rows/head | over-fetch | rows/GQA read | read over-fetch |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		budget := fmt.Sprint(r.Budget)
		if r.Budget == 0 {
			budget = "all"
		}
		fmt.Fprintf(&b, "| %s | %s | %.4f | %.3f | %.3f | %.1f | %.1f | %.3f | %.1f | %.3f |\n", r.Method, budget, r.PPL,
			r.Top10Recall, r.MassRecall, r.TokensPerSel, r.RowsPerHead, r.OverFetch, r.RowsPerRead, r.ReadOverFetch)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSweepJSON writes rows as a JSON array.
func WriteSweepJSON(w io.Writer, rows []SweepRow) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

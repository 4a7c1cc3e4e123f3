package taskrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"starc/eval"
	"starc/eval/ruler/jsonl"
	"starc/eval/ruler/score"
)

// Row is one (task, length, cell) of a run, scored.
type Row struct {
	Task    string  `json:"task"`
	Depth   *int    `json:"depth,omitempty"` // fixed needle depth in %, if the run fixed one
	Length  int     `json:"length"`
	Method  string  `json:"method"`
	Budget  int     `json:"budget"` // 0 = all tokens
	Score   float64 `json:"score"`  // the scorer's: RULER 0–100, STARC 0–1
	Nulls   int     `json:"nulls"`
	Samples int     `json:"samples"`
	// Means over the samples of what one answer cost (see eval.Cost).
	TokensPerHead     float64 `json:"tokens_per_head"`
	RowsPerHead       float64 `json:"rows_per_head"`
	PIMLatencyNS      float64 `json:"pim_latency_ns_per_token"`
	PIMEnergyNJ       float64 `json:"pim_energy_nj_per_token"`
	PIMRowActivations float64 `json:"pim_row_activations_per_token"`
}

// Summary is one cell's mean over every (task, length) row: RULER's
// average score, with the mean costs.
type Summary struct {
	Method        string  `json:"method"`
	Budget        int     `json:"budget"`
	Score         float64 `json:"score"`
	Rows          int     `json:"rows"`
	TokensPerHead float64 `json:"tokens_per_head"`
	RowsPerHead   float64 `json:"rows_per_head"`
	PIMLatencyNS  float64 `json:"pim_latency_ns_per_token"`
	PIMEnergyNJ   float64 `json:"pim_energy_nj_per_token"`
}

// Collect reads the predictions of every (length, task, cell) in dir and
// scores them. A (length, task, cell) with no prediction yet is left out.
func Collect(dir string, lengths []int, tasks []Task, cells []eval.Cell, scorer score.Scorer) ([]Row, error) {
	var rows []Row
	for _, length := range lengths {
		for _, task := range tasks {
			for _, cell := range cells {
				path := PredictionPath(dir, length, cell, task)
				if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
					continue
				}
				preds, err := jsonl.ReadPredictions(path)
				if err != nil {
					return nil, err
				}
				if len(preds) == 0 {
					continue
				}
				row := Row{Task: task.Name, Length: length, Method: cell.Method, Budget: cell.Budget, Samples: len(preds)}
				if task.Depth >= 0 {
					row.Depth = &task.Depth
				}
				texts, refs := make([]string, len(preds)), make([][]string, len(preds))
				for i, p := range preds {
					texts[i], refs[i] = p.Pred, p.Outputs
					cost, _ := p.Others["starc"].(map[string]any)
					row.TokensPerHead += number(cost, "tokens_per_head")
					row.RowsPerHead += number(cost, "rows_per_head")
					row.PIMLatencyNS += number(cost, "pim_latency_ns_per_token")
					row.PIMEnergyNJ += number(cost, "pim_energy_nj_per_token")
					row.PIMRowActivations += number(cost, "pim_row_activations_per_token")
				}
				n := float64(len(preds))
				row.TokensPerHead /= n
				row.RowsPerHead /= n
				row.PIMLatencyNS /= n
				row.PIMEnergyNJ /= n
				row.PIMRowActivations /= n
				ts, err := score.Task(scorer, task.Name, texts, refs)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				row.Score, row.Nulls = ts.Score, ts.Nulls
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// number reads a float from a prediction's "others" (0 if absent).
func number(others map[string]any, key string) float64 {
	switch v := others[key].(type) {
	case float64:
		return v
	case json.Number:
		f, _ := v.Float64()
		return f
	}
	return 0
}

// Summarize is the per-cell mean over rows, in the cells' order.
func Summarize(rows []Row, cells []eval.Cell) []Summary {
	var out []Summary
	for _, c := range cells {
		s := Summary{Method: c.Method, Budget: c.Budget}
		for _, r := range rows {
			if r.Method != c.Method || r.Budget != c.Budget {
				continue
			}
			s.Rows++
			s.Score += r.Score
			s.TokensPerHead += r.TokensPerHead
			s.RowsPerHead += r.RowsPerHead
			s.PIMLatencyNS += r.PIMLatencyNS
			s.PIMEnergyNJ += r.PIMEnergyNJ
		}
		if s.Rows == 0 {
			continue
		}
		n := float64(s.Rows)
		s.Score /= n
		s.TokensPerHead /= n
		s.RowsPerHead /= n
		s.PIMLatencyNS /= n
		s.PIMEnergyNJ /= n
		out = append(out, s)
	}
	return out
}

// WriteMarkdown writes the rows and the per-cell summary as Markdown
// tables. pim says whether the device columns were measured.
func WriteMarkdown(w io.Writer, rows []Row, summary []Summary, pim bool) error {
	var b strings.Builder
	dev := func(ns, nj float64) string {
		if !pim {
			return "– | –"
		}
		return fmt.Sprintf("%.2f | %.2f", ns/1e3, nj/1e3)
	}
	b.WriteString("| task | length | depth | method | budget | score | nulls | samples | tokens/head | rows/head/step | PIM attention µs/token | PIM attention µJ/token |\n")
	b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		depth := "–"
		if r.Depth != nil {
			depth = fmt.Sprintf("%d%%", *r.Depth)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.2f | %d | %d | %.1f | %.1f | %s |\n", r.Task, r.Length, depth, r.Method,
			budgetLabel(r.Budget), r.Score, r.Nulls, r.Samples, r.TokensPerHead, r.RowsPerHead, dev(r.PIMLatencyNS, r.PIMEnergyNJ))
	}
	b.WriteString("\n| method | budget | mean score | rows | tokens/head | rows/head/step | PIM attention µs/token | PIM attention µJ/token |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range summary {
		fmt.Fprintf(&b, "| %s | %s | %.2f | %d | %.1f | %.1f | %s |\n", s.Method, budgetLabel(s.Budget), s.Score, s.Rows,
			s.TokensPerHead, s.RowsPerHead, dev(s.PIMLatencyNS, s.PIMEnergyNJ))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func budgetLabel(b int) string {
	if b == 0 {
		return "all"
	}
	return fmt.Sprint(b)
}

// WriteJSON writes rows and summary as one JSON object.
func WriteJSON(w io.Writer, rows []Row, summary []Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Rows    []Row     `json:"rows"`
		Summary []Summary `json:"summary"`
	}{rows, summary})
}

package grid

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"starc/eval"
)

// Row is one cell of a merged grid: its parameters, its scores when it is
// finished, and its status. Timings are left out, so the merge of a grid
// is the same whichever way its cells were run.
type Row struct {
	ID       string `json:"id"`
	Status   string `json:"status"` // "done", "partial", "missing" or "corrupt"
	Detail   string `json:"detail,omitempty"`
	Model    string `json:"model"`
	Workload string `json:"workload"` // the workload's label
	Kind     string `json:"kind"`     // "ppl" or "task"
	Task     string `json:"task,omitempty"`
	Length   int    `json:"length,omitempty"`
	Depth    *int   `json:"depth,omitempty"`
	Method   string `json:"method"`
	Budget   int    `json:"budget"` // 0 = all tokens
	KV       string `json:"kv"`

	Metric            string  `json:"metric,omitempty"`
	Score             float64 `json:"score"`
	Samples           int     `json:"samples"` // finished samples
	SamplesWanted     int     `json:"samples_wanted"`
	TokensScored      int     `json:"tokens_scored,omitempty"`
	Top10Recall       float64 `json:"top10_recall,omitempty"`
	MassRecall        float64 `json:"mass_recall,omitempty"`
	Nulls             int     `json:"nulls,omitempty"`
	TokensPerHead     float64 `json:"tokens_per_head"`
	RowsPerHead       float64 `json:"rows_per_head"`
	PIMLatencyNS      float64 `json:"pim_latency_ns_per_token"`
	PIMEnergyNJ       float64 `json:"pim_energy_nj_per_token"`
	PIMRowActivations float64 `json:"pim_row_activations_per_token"`
}

// Table is a merged grid: every planned cell, in plan order.
type Table struct {
	Grid string `json:"grid"`
	Rows []Row  `json:"rows"`
}

// Incomplete lists the rows that are not done.
func (t *Table) Incomplete() []Row {
	var out []Row
	for _, r := range t.Rows {
		if r.Status != "done" {
			out = append(out, r)
		}
	}
	return out
}

// Merge reads every cell of the grid in dir. A cell that is not finished
// is a row with status partial (some samples), missing (none) or corrupt
// (a result.json or samples.jsonl that does not read, named in Detail):
// no cell is dropped. Only an unreadable grid.json is an error.
func Merge(dir string) (*Table, error) {
	g, err := readGridFile(dir)
	if err != nil {
		return nil, fmt.Errorf("grid merge: %w", err)
	}
	t := &Table{Grid: g.Name}
	for _, c := range g.Cells {
		w := c.Config.Workload
		row := Row{ID: c.ID, Model: c.Config.Model, Workload: w.Label(), Kind: w.Kind, Method: c.Config.Method,
			Budget: c.Config.Budget, KV: c.Config.Attention.KV, SamplesWanted: w.SampleCount()}
		if w.Kind == "task" {
			row.Task, row.Length, row.Depth = w.Name, w.Length, w.Depth
		}
		res, err := ReadResult(dir, c.ID)
		switch {
		case err == nil:
			row.Status = "done"
			row.Metric, row.Score, row.Samples = res.Metric, res.Score, res.Samples
			row.TokensScored, row.Top10Recall, row.MassRecall, row.Nulls = res.TokensScored, res.Top10Recall, res.MassRecall, res.Nulls
			row.TokensPerHead, row.RowsPerHead = res.TokensPerHead, res.RowsPerHead
			row.PIMLatencyNS, row.PIMEnergyNJ, row.PIMRowActivations = res.PIMLatencyNS, res.PIMEnergyNJ, res.PIMRowActivations
		case errors.Is(err, os.ErrNotExist):
			samples, _, serr := ReadSamples(dir, c.ID)
			switch {
			case serr != nil:
				row.Status, row.Detail = "corrupt", serr.Error()
			case len(samples) == 0:
				row.Status = "missing"
			default:
				row.Status, row.Samples = "partial", len(samples)
			}
		default:
			row.Status, row.Detail = "corrupt", err.Error()
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// columns of the CSV and Markdown tables.
var columns = []string{"id", "status", "model", "workload", "kind", "task", "length", "depth", "method", "budget", "kv",
	"metric", "score", "samples", "samples_wanted", "tokens_scored", "top10_recall", "mass_recall", "nulls",
	"tokens_per_head", "rows_per_head", "pim_latency_ns_per_token", "pim_energy_nj_per_token", "pim_row_activations_per_token"}

func (r Row) fields() []string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 10, 64) }
	i := func(n int) string { return strconv.Itoa(n) }
	opt := func(n int) string {
		if n == 0 {
			return ""
		}
		return i(n)
	}
	depth := ""
	if r.Depth != nil {
		depth = i(*r.Depth)
	}
	out := []string{r.ID, r.Status, r.Model, r.Workload, r.Kind, r.Task, opt(r.Length), depth, r.Method, i(r.Budget), r.KV, r.Metric}
	if r.Status != "done" {
		out = append(out, "", i(r.Samples), i(r.SamplesWanted))
		for len(out) < len(columns) {
			out = append(out, "")
		}
		return out
	}
	top10, mass := f(r.Top10Recall), f(r.MassRecall)
	if r.Kind == "task" {
		top10, mass = "", "" // measured on perplexity windows only
	}
	return append(out, f(r.Score), i(r.Samples), i(r.SamplesWanted), opt(r.TokensScored), top10, mass,
		i(r.Nulls), f(r.TokensPerHead), f(r.RowsPerHead), f(r.PIMLatencyNS), f(r.PIMEnergyNJ), f(r.PIMRowActivations))
}

// WriteCSV writes the long-format table, one row per cell.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(columns)
	for _, r := range t.Rows {
		cw.Write(r.fields())
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the table as one JSON object.
func (t *Table) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// WriteMarkdown writes the finished cells as a table and then lists the
// cells that are not finished.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Grid %s: %d cells, %d done\n\n", t.Grid, len(t.Rows), len(t.Rows)-len(t.Incomplete()))
	b.WriteString("| model | workload | method | budget | kv | metric | score | samples | top-10 recall | mass recall | tokens/head | rows/head | PIM ns/token | PIM nJ/token | id |\n")
	b.WriteString("|---|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range t.Rows {
		if r.Status != "done" {
			continue
		}
		budget := strconv.Itoa(r.Budget)
		if r.Budget == 0 {
			budget = "all"
		}
		recall := fmt.Sprintf("%.3f | %.3f", r.Top10Recall, r.MassRecall)
		if r.Kind == "task" {
			recall = "– | –" // measured on perplexity windows only
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.4f | %d | %s | %.1f | %.2f | %.1f | %.2f | %s |\n", r.Model, r.Workload,
			r.Method, budget, r.KV, r.Metric, r.Score, r.Samples, recall, r.TokensPerHead, r.RowsPerHead,
			r.PIMLatencyNS, r.PIMEnergyNJ, r.ID)
	}
	if inc := t.Incomplete(); len(inc) > 0 {
		fmt.Fprintf(&b, "\n## Not finished: %d cells\n\n", len(inc))
		for _, r := range inc {
			fmt.Fprintf(&b, "- %s %s/%s budget %d: %s (%d of %d samples)", r.ID, r.Workload, r.Method, r.Budget, r.Status, r.Samples, r.SamplesWanted)
			if r.Detail != "" {
				fmt.Fprintf(&b, ": %s", r.Detail)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FromSweep makes a table of `starc sweep --json` rows (one perplexity
// workload, no PIM energy), so its results plot like a grid's.
func FromSweep(name, workload string, rows []eval.SweepRow) *Table {
	t := &Table{Grid: name}
	for i, r := range rows {
		t.Rows = append(t.Rows, Row{ID: fmt.Sprintf("sweep-%d", i), Status: "done", Workload: workload, Kind: "ppl",
			Method: r.Method, Budget: r.Budget, KV: "dense", Metric: "perplexity", Score: r.PPL, Samples: 1, SamplesWanted: 1,
			TokensScored: r.TokensScored, Top10Recall: r.Top10Recall, MassRecall: r.MassRecall, TokensPerHead: r.TokensPerSel,
			RowsPerHead: r.RowsPerHead})
	}
	return t
}

// ReadTableJSON reads a table written by WriteJSON (for plotting).
func ReadTableJSON(r io.Reader, name string) (*Table, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var t Table
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: not a merged grid table: %v", name, err)
	}
	return &t, nil
}

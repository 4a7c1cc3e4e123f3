package plot

import (
	"context"
	"encoding/xml"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"testing"

	"starc/eval"
	"starc/eval/grid"
	"starc/eval/taskrun"
)

// Every figure of a fixed merged table (testdata/table.json: two
// perplexity texts and a needle task at 2 lengths × 3 depths, 3 methods)
// renders as a PNG that decodes and an SVG that parses, each at the size
// its panel layout gives: 4 in × 3 in per panel at 96 dpi (384 × 288 px,
// 288 × 216 pt), at most 3 panels a row except the two-row cost figure.
func TestFiguresRenderAtTheirSize(t *testing.T) {
	f, err := os.Open("testdata/table.json")
	if err != nil {
		t.Fatal(err)
	}
	table, err := grid.ReadTableJSON(f, "testdata/table.json")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := All(context.Background(), table, dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cols, rows int
	}{
		{"score_vs_budget", 3, 2}, // dorian, austen, niah@1024, niah@2048 (depths averaged)
		{"cost_vs_budget", 4, 2},  // rows per head over PIM energy, one column per workload
		{"score_vs_energy", 3, 2},
		{"needle_heatmap", 3, 1}, // full, starc-256, quest-256
	}
	if len(files) != 2*len(tests) {
		t.Errorf("wrote %v, want %d figures × png, svg", files, len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, format, err := image.Decode(f)
			if err != nil || format != "png" {
				t.Fatalf("%s.png: %v (format %q)", tc.name, err, format)
			}
			if b := img.Bounds(); b.Dx() != 384*tc.cols || b.Dy() != 288*tc.rows {
				t.Errorf("%s.png is %d × %d px, want %d × %d", tc.name, b.Dx(), b.Dy(), 384*tc.cols, 288*tc.rows)
			}
			data, err := os.ReadFile(filepath.Join(dir, tc.name+".svg"))
			if err != nil {
				t.Fatal(err)
			}
			var svg struct {
				XMLName xml.Name
				Width   string `xml:"width,attr"`
				Height  string `xml:"height,attr"`
			}
			if err := xml.Unmarshal(data, &svg); err != nil || svg.XMLName.Local != "svg" {
				t.Fatalf("%s.svg: %v (root %q)", tc.name, err, svg.XMLName.Local)
			}
			if w, h := fmt.Sprintf("%dpt", 288*tc.cols), fmt.Sprintf("%dpt", 216*tc.rows); svg.Width != w || svg.Height != h {
				t.Errorf("%s.svg is %s × %s, want %s × %s", tc.name, svg.Width, svg.Height, w, h)
			}
		})
	}
}

// The Pareto front keeps exactly the cells no other cell beats on both
// energy and score, for either direction of the score.
func TestParetoFront(t *testing.T) {
	rows := []grid.Row{
		{ID: "a", PIMEnergyNJ: 100, Score: 20}, // cheapest
		{ID: "b", PIMEnergyNJ: 200, Score: 15},
		{ID: "c", PIMEnergyNJ: 300, Score: 18}, // worse and dearer than b
		{ID: "d", PIMEnergyNJ: 400, Score: 14}, // best perplexity
		{ID: "e", PIMEnergyNJ: 400, Score: 16}, // same energy as d, worse
	}
	ids := func(rs []grid.Row) string {
		s := ""
		for _, r := range rs {
			s += r.ID
		}
		return s
	}
	if got := ids(ParetoFront(rows, true)); got != "abd" {
		t.Errorf("lower-is-better front %q, want abd", got)
	}
	if got := ids(ParetoFront(rows, false)); got != "a" {
		t.Errorf("higher-is-better front %q, want a (cheapest and best)", got)
	}
}

// The rows of a sweep (one text, no PIM energy) draw score and rows
// versus budget, one panel each, and no energy or needle figure.
func TestSweepRowsRender(t *testing.T) {
	rows := []eval.SweepRow{{Method: "full", PPL: 14.5, RowsPerHead: 192}, {Method: "starc", Budget: 128, PPL: 15.6, RowsPerHead: 14},
		{Method: "starc", Budget: 256, PPL: 15.0, RowsPerHead: 25}, {Method: "quest", Budget: 128, PPL: 55, RowsPerHead: 8},
		{Method: "quest", Budget: 256, PPL: 29, RowsPerHead: 16}}
	dir := t.TempDir()
	files, err := All(context.Background(), grid.FromSweep("s", "dorian", rows), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"score_vs_budget.png", "score_vs_budget.svg", "cost_vs_budget.png", "cost_vs_budget.svg"}
	if len(files) != len(want) {
		t.Fatalf("wrote %v, want %v", files, want)
	}
	for i, f := range files {
		if filepath.Base(f) != want[i] {
			t.Errorf("file %d is %s, want %s", i, f, want[i])
		}
	}
	f, err := os.Open(filepath.Join(dir, "cost_vs_budget.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || cfg.Width != 384 || cfg.Height != 288 {
		t.Errorf("cost_vs_budget.png: %d × %d, %v; want one 384 × 288 panel", cfg.Width, cfg.Height, err)
	}
}

// The rows of a task run (two tasks at two lengths, two cells) draw the
// task score matrix: one panel per length, two panel widths across, with
// RULER's average as a column where every task is done. At 2048 full
// attention is alone: the budget figures skip it (an empty log axis
// panicked before).
func TestTaskRunRowsRenderScoreMatrix(t *testing.T) {
	rows := []taskrun.Row{
		{Task: "vt", Length: 1024, Method: "full", Score: 80, Samples: 1, PIMEnergyNJ: 100},
		{Task: "cwe", Length: 1024, Method: "full", Score: 40, Samples: 1, PIMEnergyNJ: 120},
		{Task: "vt", Length: 1024, Method: "starc", Budget: 64, Score: 50, Samples: 1, PIMEnergyNJ: 30},
		{Task: "cwe", Length: 1024, Method: "starc", Budget: 64, Score: 0, Samples: 1, PIMEnergyNJ: 40},
		{Task: "vt", Length: 2048, Method: "full", Score: 60, Samples: 1, PIMEnergyNJ: 150},
	}
	table := grid.FromTaskRun("r", "m", "ruler", "pim", func(taskrun.Row) int { return 1 }, []string{"vt", "cwe"}, rows)
	panels, err := TaskScores(table.Rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) != 2 || len(panels[0]) != 1 {
		t.Fatalf("%d × %d panels, want one column of 2 (1024, 2048)", len(panels), len(panels[0]))
	}
	dir := t.TempDir()
	if _, err := All(context.Background(), table, dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "task_scores.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || cfg.Width != 2*384 || cfg.Height != 2*288 {
		t.Errorf("task_scores.png: %d × %d, %v; want 768 × 576", cfg.Width, cfg.Height, err)
	}
}

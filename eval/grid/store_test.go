package grid

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Complete lines are samples; a last line cut short is dropped (and its
// bytes not counted); a bad complete line or a repeated index is an
// error naming the line.
func TestParseSamples(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		indices  []int
		complete int64
		err      string
	}{
		{"empty", "", nil, 0, ""},
		{"two", `{"index":0,"decode_steps":1,"tokens_per_head":0,"rows_per_head":0,"pim_latency_ns_per_token":0,"pim_energy_nj_per_token":0,"pim_row_activations_per_token":0,"seconds":0}` + "\n" + `{"index":1,"decode_steps":1,"tokens_per_head":0,"rows_per_head":0,"pim_latency_ns_per_token":0,"pim_energy_nj_per_token":0,"pim_row_activations_per_token":0,"seconds":0}` + "\n", []int{0, 1}, 0, ""},
		{"torn last line", `{"index":0}` + "\n" + `{"index":1,"tok`, []int{0}, 12, ""},
		{"bad line", `{"index":0}` + "\n" + `nonsense` + "\n", nil, 0, "s.jsonl:2"},
		{"unknown field", `{"index":0,"bogus":1}` + "\n", nil, 0, "s.jsonl:1"},
		{"repeated index", `{"index":3}` + "\n" + `{"index":3}` + "\n", nil, 0, "sample 3 is written twice"},
		{"negative index", `{"index":-1}` + "\n", nil, 0, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, complete, err := ParseSamples(strings.NewReader(tc.in), "s.jsonl")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v; want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var idx []int
			for _, s := range got {
				idx = append(idx, s.Index)
			}
			if len(idx) != len(tc.indices) || (len(idx) > 0 && idx[len(idx)-1] != tc.indices[len(tc.indices)-1]) {
				t.Errorf("indices %v, want %v", idx, tc.indices)
			}
			want := tc.complete
			if want == 0 {
				want = int64(len(tc.in))
			}
			if complete != want {
				t.Errorf("complete bytes %d, want %d", complete, want)
			}
		})
	}
}

// FuzzParseSamples: any bytes give samples or an error, never a panic, and
// the complete prefix never exceeds the input.
func FuzzParseSamples(f *testing.F) {
	f.Add([]byte(`{"index":0,"tokens":3,"nll_sum":1.5}` + "\n" + `{"index":1,"pred":"x","outputs":["x"]}` + "\n"))
	f.Add([]byte(`{"index":0}` + "\n" + `{"ind`))
	f.Fuzz(func(t *testing.T, data []byte) {
		samples, complete, err := ParseSamples(strings.NewReader(string(data)), "f")
		if err == nil && complete > int64(len(data)) {
			t.Fatalf("complete %d > %d bytes", complete, len(data))
		}
		seen := map[int]bool{}
		for _, s := range samples {
			if seen[s.Index] {
				t.Fatalf("index %d twice", s.Index)
			}
			seen[s.Index] = true
		}
	})
}

// Score pools perplexity windows by their NLL (not a mean of
// perplexities), averages recalls and costs over the equal windows, and
// refuses a missing window or one of another size.
func TestScorePerplexity(t *testing.T) {
	cfg := CellConfig{Workload: Workload{Kind: "ppl", Windows: 2, Tokens: 20}}
	samples := []Sample{
		{Index: 1, Tokens: 20, NLLSum: 20 * 2.0, Top10Recall: 0.5, DecodeSteps: 19, RowsPerHead: 4, PIMEnergyNJ: 10},
		{Index: 0, Tokens: 20, NLLSum: 20 * 1.0, Top10Recall: 1.0, DecodeSteps: 19, RowsPerHead: 2, PIMEnergyNJ: 20},
	}
	r, err := Score("x", cfg, samples)
	if err != nil {
		t.Fatal(err)
	}
	wantPPL := math.Exp((40.0 + 20.0) / 40.0) // e^1.5, not (e^2 + e^1)/2
	if math.Abs(r.Score-wantPPL) > 1e-12 || r.TokensScored != 40 || r.DecodeSteps != 38 || r.Metric != "perplexity" {
		t.Errorf("ppl %v over %d tokens, %d steps; want %v over 40, 38", r.Score, r.TokensScored, r.DecodeSteps, wantPPL)
	}
	if r.Top10Recall != 0.75 || r.RowsPerHead != 3 || r.PIMEnergyNJ != 15 {
		t.Errorf("means: recall %v rows %v energy %v, want 0.75 3 15", r.Top10Recall, r.RowsPerHead, r.PIMEnergyNJ)
	}
	one, err := Score("x", CellConfig{Workload: Workload{Kind: "ppl", Windows: 1, Tokens: 20}},
		[]Sample{{Tokens: 20, NLLSum: 33, MassRecall: 0.75761459981331125}})
	if err != nil || one.MassRecall != 0.75761459981331125 {
		t.Errorf("one window's recall %v comes back as %.17g (%v)", 0.75761459981331125, one.MassRecall, err)
	}
	if _, err := Score("x", cfg, samples[:1]); err == nil {
		t.Error("a cell with one of two windows was scored")
	}
	if _, err := Score("x", cfg, []Sample{samples[0], {Index: 1, Tokens: 20}}); err == nil {
		t.Error("a cell with window 1 twice and window 0 missing was scored")
	}
	if _, err := Score("x", cfg, []Sample{samples[0], {Index: 0, Tokens: 7}}); err == nil {
		t.Error("a window of another size was scored")
	}
}

// A task cell is scored by RULER's metric over its predictions.
func TestScoreTask(t *testing.T) {
	yes, no := "the number is 12345", "no idea"
	cfg := CellConfig{Workload: Workload{Kind: "task", Name: "niah_single_1", Samples: 2}, Scorer: "ruler"}
	r, err := Score("x", cfg, []Sample{{Index: 0, Pred: &yes, Outputs: []string{"12345"}}, {Index: 1, Pred: &no, Outputs: []string{"777"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Score != 50 || r.Metric != "ruler" {
		t.Errorf("score %v %s, want 50 ruler (one of two needles found)", r.Score, r.Metric)
	}
}

func testPlan(t *testing.T, name string, budgets ...int) *Plan {
	t.Helper()
	s, err := NewSpec(Spec{Name: name, Models: []string{"m"}, Methods: []string{"full", "quest"}, Budgets: budgets,
		Perplexity: []PPLWorkload{{File: "x.txt", Tokens: 8, Windows: 2}}}, name)
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Spec: s}
	for i, m := range []string{"full", "quest"} {
		cfg := CellConfig{Format: "starc-grid-cell", Version: "test", Model: "m-0", Method: m, Workload: Workload{Kind: "ppl", Name: "x", Windows: 2, Tokens: 8, Prefill: 1}, Attention: s.Attention}
		if m == "quest" {
			cfg.Budget = budgets[0]
		}
		id, _ := cellID(cfg)
		p.Cells = append(p.Cells, Cell{ID: id, Index: i, Config: cfg})
	}
	return p
}

// A directory belongs to one grid at one shard count: another spec's
// grid, another shard count, or a cell directory the plan does not have
// are refused, naming the directory, and nothing in it changes.
func TestClaimRefuses(t *testing.T) {
	dir := t.TempDir()
	p := testPlan(t, "a", 64)
	if err := Claim(dir, p, 3); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(gridPath(dir))
	if err := Claim(dir, p, 3); err != nil {
		t.Fatalf("the same grid and shard count refused: %v", err)
	}
	if err := Claim(dir, testPlan(t, "b", 32), 3); err == nil || !strings.Contains(err.Error(), "another grid") {
		t.Errorf("another grid: %v", err)
	}
	if err := Claim(dir, p, 2); err == nil || !strings.Contains(err.Error(), "3 shards") {
		t.Errorf("another shard count: %v", err)
	}
	after, _ := os.ReadFile(gridPath(dir))
	if string(before) != string(after) {
		t.Error("a refused claim changed grid.json")
	}

	other := t.TempDir()
	q := testPlan(t, "b", 32)
	os.MkdirAll(filepath.Join(other, q.Cells[1].ID), 0o755)
	os.WriteFile(configPath(other, q.Cells[1].ID), []byte("{}"), 0o644)
	if err := Claim(other, p, 1); err == nil || !strings.Contains(err.Error(), q.Cells[1].ID) {
		t.Errorf("a directory holding another grid's cell: %v", err)
	}
	if _, err := os.Stat(gridPath(other)); err == nil {
		t.Error("a refused claim wrote grid.json")
	}

	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "notes.txt"), []byte("mine"), 0o644)
	if err := Claim(home, p, 1); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("a directory of other files: %v", err)
	}
	slurm := t.TempDir()
	os.MkdirAll(filepath.Join(slurm, "logs"), 0o755)
	if err := Claim(slurm, p, 2); err != nil {
		t.Errorf("a directory holding only Slurm's logs/: %v", err)
	}
}

// Merge lists every cell: done, partial, missing, or corrupt with the
// reason; a corrupt result.json is reported, never removed.
func TestMergeListsEveryCell(t *testing.T) {
	dir := t.TempDir()
	p := testPlan(t, "a", 64)
	if err := Claim(dir, p, 1); err != nil {
		t.Fatal(err)
	}
	full, quest := p.Cells[0], p.Cells[1]
	for _, c := range p.Cells {
		if err := prepareCell(dir, c); err != nil {
			t.Fatal(err)
		}
	}
	w, err := openSamples(dir, full, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.write(Sample{Index: 0, Tokens: 8, NLLSum: 8})
	w.close()
	tab, err := Merge(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows[0].Status != "partial" || tab.Rows[0].Samples != 1 || tab.Rows[1].Status != "missing" {
		t.Errorf("rows %+v", tab.Rows)
	}
	os.WriteFile(resultPath(dir, quest.ID), []byte(`{"id": "`), 0o644)
	tab, _ = Merge(dir)
	if r := tab.Rows[1]; r.Status != "corrupt" || !strings.Contains(r.Detail, "result.json") {
		t.Errorf("corrupt result.json row %+v", r)
	}
	if _, err := os.Stat(resultPath(dir, quest.ID)); err != nil {
		t.Error("merge removed a corrupt result.json")
	}
	if len(tab.Incomplete()) != 2 {
		t.Errorf("incomplete %d, want 2", len(tab.Incomplete()))
	}
}

// A second writer of one cell (overlapping shards) is refused while the
// first holds it.
func TestSamplesLockedAgainstASecondWriter(t *testing.T) {
	dir := t.TempDir()
	p := testPlan(t, "a", 64)
	prepareCell(dir, p.Cells[0])
	w, err := openSamples(dir, p.Cells[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if _, err := openSamples(dir, p.Cells[0], 0); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second writer: %v", err)
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"starc/internal/testenv"
)

// evalChildEnv carries a `starc eval` command line (one argument per line)
// to the child process of TestEvalResumesAfterKill.
const evalChildEnv = "STARC_EVAL_CHILD_ARGS"

// TestEvalChild is the child: it runs the CLI and exits with its code.
func TestEvalChild(t *testing.T) {
	args := os.Getenv(evalChildEnv)
	if args == "" {
		t.Skip("child process of TestEvalResumesAfterKill")
	}
	os.Exit(run(context.Background(), strings.Split(args, "\n"), &env{stdout: os.Stdout, stderr: os.Stderr, stdin: strings.NewReader("")}))
}

// predictionIndices reads a prediction file's indices in line order.
func predictionIndices(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var p struct {
			Index int `json:"index"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, p.Index)
	}
	return out
}

// The default model finds the needle of niah_single_1 at 1K with full
// attention (2 seeded samples, RULER's string match: 100), and an eval of 2
// methods × 1 budget × 2 samples killed (SIGKILL) after its first sample
// resumes on the rerun: every cell ends with each sample exactly once.
func TestEvalResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	modelDir := testenv.DefaultModel(t)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"eval", "-m", modelDir, "--tasks", "niah_single_1", "--lengths", "1024", "--samples", "2",
		"--methods", "full,starc", "--budgets", "64", "--threads", "2", "--out", out, "--json"}
	last := filepath.Join(out, "1024", "pred", "starc-64", "niah_single_1.jsonl")

	child := exec.Command(os.Args[0], "-test.run=^TestEvalChild$")
	child.Env = append(os.Environ(), evalChildEnv+"="+strings.Join(args, "\n"))
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(predictionIndices(t, last)) == 0 {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("no prediction after 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	child.Process.Kill()
	child.Wait()
	if got := predictionIndices(t, last); len(got) != 1 {
		t.Fatalf("killed with %d predictions in %s, want 1: the rerun would test no resumption", len(got), last)
	}

	code, stdout, stderr := runStarc(t, args...)
	if code != 0 {
		t.Fatalf("rerun exit %d: %s", code, stderr)
	}
	for _, cell := range []string{"full", "starc-64"} {
		path := filepath.Join(out, "1024", "pred", cell, "niah_single_1.jsonl")
		got := predictionIndices(t, path)
		if len(got) != 2 || got[0] == got[1] {
			t.Errorf("%s holds indices %v after the resumed run, want 2 distinct", path, got)
		}
	}
	var table struct {
		Rows []struct {
			Method  string  `json:"method"`
			Score   float64 `json:"score"`
			Samples int     `json:"samples"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(stdout), &table); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, stdout)
	}
	if len(table.Rows) != 2 {
		t.Fatalf("rows %+v, want one per cell", table.Rows)
	}
	// eval report prints the same table from the directory alone, and
	// draws the run with the grid's figures.
	figures := filepath.Join(t.TempDir(), "figures")
	code, report, stderr := runStarc(t, "eval", "report", "--out", out, "--json", "--plot", figures)
	if code != 0 || report != stdout {
		t.Errorf("eval report exit %d (%s), table\n%s\nwant the run's\n%s", code, stderr, report, stdout)
	}
	for _, name := range []string{"score_vs_budget.png", "task_scores.png", "task_scores.svg"} {
		if fi, err := os.Stat(filepath.Join(figures, name)); err != nil || fi.Size() == 0 {
			t.Errorf("eval report --plot: %s: %v", name, err)
		}
	}
	for _, r := range table.Rows {
		if r.Samples != 2 {
			t.Errorf("%s scored %d samples, want 2", r.Method, r.Samples)
		}
		if r.Method == "full" && r.Score != 100 {
			t.Errorf("full attention scores %.2f on niah_single_1 at 1K, want 100", r.Score)
		}
	}
}

// Bad input is a clear error naming what is wrong, before any work, and a
// run directory is never damaged by a refused rerun.
func TestEvalBadInput(t *testing.T) {
	modelDir := testenv.DefaultModel(t)
	dir := t.TempDir()
	badData := filepath.Join(dir, "bad")
	os.MkdirAll(filepath.Join(badData, "1024", "data", "niah_single_1"), 0o755)
	os.WriteFile(filepath.Join(badData, "1024", "data", "niah_single_1", "validation.jsonl"),
		[]byte(`{"index":0,"input":"x","outputs":["1"],"length":10,"length_w_model_temp":10,"answer_prefix":"","token_position_answer":0}`+"\n"+
			`{"index":1,"input":"y","outputs":"1"}`+"\n"), 0o644)
	prior := filepath.Join(dir, "prior")
	os.MkdirAll(prior, 0o755)
	priorConfig := `{"format":"starc-taskrun","version":1,"model":"other","data":"generated","seed":42,"template":"base","tasks":["vt"],"lengths":[1024],"samples":1,"cells":[{"method":"full","budget":0}],"attention":{}}` + "\n"
	os.WriteFile(filepath.Join(prior, "config.json"), []byte(priorConfig), 0o644)

	base := []string{"eval", "-m", modelDir, "--threads", "1"}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown task", []string{"--tasks", "niah_single_9", "--out", filepath.Join(dir, "a")}, 2, []string{"niah_single_9", "niah_single_1"}},
		{"qa without data", []string{"--tasks", "qa_1", "--out", filepath.Join(dir, "a")}, 2, []string{"qa_1", "--data"}},
		{"samples 0", []string{"--samples", "0", "--out", filepath.Join(dir, "a")}, 2, []string{"-samples"}},
		{"no out", []string{"--tasks", "vt"}, 2, []string{"--out"}},
		{"unknown method", []string{"--methods", "full,bogus", "--out", filepath.Join(dir, "a")}, 2, []string{"-methods", "bogus"}},
		{"singular method", []string{"--method", "starc", "--out", filepath.Join(dir, "a")}, 2, []string{"--methods"}},
		{"depths on vt", []string{"--tasks", "vt", "--depths", "50", "--out", filepath.Join(dir, "a")}, 2, []string{"--depths", "vt"}},
		{"length above the context", []string{"--tasks", "vt", "--lengths", "100000", "--out", filepath.Join(dir, "a")}, 2, []string{"--lengths", "100000", "8192"}},
		{"length below the smallest haystack", []string{"--tasks", "niah_single_1", "--lengths", "40", "--out", filepath.Join(dir, "b")}, 1, []string{"niah_single_1", "40"}},
		{"malformed data", []string{"--data", badData, "--out", filepath.Join(dir, "c")}, 1, []string{"validation.jsonl:2", "outputs"}},
		{"report of no run", []string{"report", "--out", filepath.Join(dir, "nothing")}, 1, []string{"no starc eval run"}},
		{"report with run flags", []string{"report", "--tasks", "vt", "--out", prior}, 2, []string{"--tasks", "only --out"}},
		{"plot without report", []string{"--tasks", "vt", "--plot", filepath.Join(dir, "fig"), "--out", filepath.Join(dir, "a")}, 2, []string{"--plot", "eval report"}},
		{"another run's directory", []string{"--tasks", "vt", "--lengths", "1024", "--samples", "1", "--methods", "full", "--out", prior}, 1, []string{prior, "model was"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runStarc(t, append(base, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message does not name %q:\n%s", w, stderr)
				}
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(prior, "config.json")); string(b) != priorConfig {
		t.Error("a refused rerun rewrote the other run's config.json")
	}
	if entries, _ := os.ReadDir(prior); len(entries) != 1 {
		t.Errorf("a refused rerun wrote into the other run's directory: %d entries", len(entries))
	}
}

// --traces keeps each answer's reads as a pim access trace that the
// replay tools read: one per cell and sample, with a decode step per
// forward pass of the answer, and fewer rows per step for a sparse cell
// than for full attention.
func TestEvalTracesReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runStarc(t, "eval", "-m", testenv.DefaultModel(t), "--tasks", "niah_single_1", "--lengths", "1024",
		"--samples", "1", "--methods", "full,starc", "--budgets", "64", "--threads", "2", "--out", out, "--traces", "--json")
	if code != 0 {
		t.Fatalf("eval --traces exit %d: %s", code, stderr)
	}
	rows := map[string]int{}
	for _, cell := range []string{"full", "starc-64"} {
		trace := filepath.Join(out, "1024", "trace", cell, "niah_single_1", "sample-0000.jsonl")
		table := filepath.Join(t.TempDir(), "table.txt")
		if code, _, stderr := runStarc(t, "trace", "budget-table", trace, "--out", table); code != 0 {
			t.Fatalf("trace budget-table %s: exit %d: %s", trace, code, stderr)
		}
		data, err := os.ReadFile(table)
		if err != nil {
			t.Fatal(err)
		}
		var last string
		for _, line := range strings.Fields(string(data)) {
			last = line
		}
		if rows[cell], err = strconv.Atoi(last); err != nil {
			t.Fatalf("%s: last budget %q: %v\n%s", table, last, err, data)
		}
		if code, _, stderr := runStarc(t, "hw", "--model", "llama-3.1-8b", "--lout", "4", "--trace", trace); code != 0 {
			t.Fatalf("hw --trace %s: exit %d: %s", trace, code, stderr)
		}
	}
	if rows["starc-64"] >= rows["full"] {
		t.Errorf("budget table rows: starc-64 %d, full %d; want fewer for the sparse cell", rows["starc-64"], rows["full"])
	}
}

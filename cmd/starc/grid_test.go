package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"starc/eval/grid"
	"starc/eval/taskrun"
	"starc/internal/testenv"
	"starc/tokenizer"
)

// gridChildEnv carries a `starc grid` command line (one argument per
// line) to a child process: the shards and the killed run are separate
// processes, as on a cluster.
const gridChildEnv = "STARC_GRID_CHILD_ARGS"

// TestGridChild is the child: it runs the CLI and exits with its code.
func TestGridChild(t *testing.T) {
	args := os.Getenv(gridChildEnv)
	if args == "" {
		t.Skip("child process of the grid tests")
	}
	os.Exit(run(context.Background(), strings.Split(args, "\n"), &env{stdout: os.Stdout, stderr: os.Stderr, stdin: strings.NewReader("")}))
}

func gridChild(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^TestGridChild$")
	c.Env = append(os.Environ(), gridChildEnv+"="+strings.Join(args, "\n"))
	return c
}

// tinyGridSpec writes the tiny grid's spec: stories260K, 2 methods × 2
// budgets (+ full) × 2 perplexity texts of 2 windows each.
func tinyGridSpec(t *testing.T, dir, name string, windows, tokens int) string {
	t.Helper()
	spec := fmt.Sprintf(`{
  "name": %q,
  "models": [%q],
  "methods": ["full", "starc", "quest"],
  "budgets": [8, 16],
  "attention": {"dense_layers": 1, "window": 16, "cluster_size": 4, "recluster": 16, "page_size": 4, "kv": "dense"},
  "perplexity": [
    {"name": "shakespeare", "file": %q, "tokens": %d, "windows": %d},
    {"name": "austen", "file": %q, "prefill": 16, "tokens": %d, "windows": %d}
  ]
}
`, name, stories(t), testenv.Shared(t, "data/tinyshakespeare_first20000.txt"), tokens, windows,
		testenv.Shared(t, "data/pg1342_pride_and_prejudice.txt"), tokens, windows)
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mergeAll merges dir into CSV, JSON and Markdown and returns them.
func mergeAll(t *testing.T, dir string) [3][]byte {
	t.Helper()
	tmp := t.TempDir()
	files := [3]string{filepath.Join(tmp, "m.csv"), filepath.Join(tmp, "m.json"), filepath.Join(tmp, "m.md")}
	if code, _, stderr := runStarc(t, "grid", "merge", dir, "--csv", files[0], "--json-out", files[1], "--md", files[2]); code != 0 {
		t.Fatalf("merge %s: exit %d: %s", dir, code, stderr)
	}
	var out [3][]byte
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// The tiny grid run as shards 0/3, 1/3, 2/3 in three processes at once
// into one directory merges to the same bytes as the grid run in one
// process; every cell is run by exactly one shard.
func TestGridShardsMergeEqualsOneProcess(t *testing.T) {
	tmp := t.TempDir()
	spec := tinyGridSpec(t, tmp, "tiny", 2, 24)
	one, sharded := filepath.Join(tmp, "one"), filepath.Join(tmp, "sharded")
	if code, _, stderr := runStarc(t, "grid", "run", spec, "--out", one, "--jobs", "2"); code != 0 {
		t.Fatalf("unsharded run: exit %d: %s", code, stderr)
	}
	var children []*exec.Cmd
	var logs []*bytes.Buffer
	for i := range 3 {
		c := gridChild("grid", "run", spec, "--out", sharded, "--shard", fmt.Sprintf("%d/3", i))
		var b bytes.Buffer
		c.Stderr, c.Stdout = &b, &b
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		children, logs = append(children, c), append(logs, &b)
	}
	ran := 0
	for i, c := range children {
		if err := c.Wait(); err != nil {
			t.Fatalf("shard %d/3: %v\n%s", i, err, logs[i])
		}
		m := regexp.MustCompile(`(\d+) finished before, (\d+) run now`).FindStringSubmatch(logs[i].String())
		if m == nil {
			t.Fatalf("shard %d/3 printed no summary:\n%s", i, logs[i])
		}
		var n int
		fmt.Sscan(m[2], &n)
		if n == 0 {
			t.Errorf("shard %d/3 ran no cell", i)
		}
		ran += n
	}
	if ran != 10 {
		t.Errorf("the shards ran %d cells together, want each of the 10 once", ran)
	}
	a, b := mergeAll(t, one), mergeAll(t, sharded)
	for i, kind := range []string{"CSV", "JSON", "Markdown"} {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("merged %s differs between the sharded and the one-process run:\n%s\n----\n%s", kind, a[i], b[i])
		}
	}
	if !bytes.Contains(a[2], []byte("10 cells, 10 done")) {
		t.Errorf("merged Markdown:\n%s", a[2])
	}
	// A rerun of a finished shard runs nothing.
	if code, _, stderr := runStarc(t, "grid", "run", spec, "--out", sharded, "--shard", "1/3"); code != 0 || !strings.Contains(stderr, "0 run now") {
		t.Errorf("rerun of a finished shard: exit %d: %s", code, stderr)
	}
}

// sampleIndices reads the indices of a samples.jsonl, complete lines only.
func sampleIndices(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []int
	for line := range strings.SplitSeq(string(data), "\n") {
		var s struct {
			Index *int `json:"index"`
		}
		if json.Unmarshal([]byte(line), &s) == nil && s.Index != nil {
			out = append(out, *s.Index)
		}
	}
	return out
}

// A grid killed with SIGKILL in the middle of a cell (some of its windows
// written, no result), with a torn line added at the end as a kill inside
// a write would leave, finishes on the rerun with every window exactly
// once, and the same result as a run never killed.
func TestGridResumesAfterKill(t *testing.T) {
	tmp := t.TempDir()
	const windows = 24
	text := testenv.Shared(t, "data/pg1342_pride_and_prejudice.txt")
	args := func(out string) []string {
		return []string{"grid", "run", "-m", stories(t), "-f", text, "--methods", "starc", "--budgets", "8", "--dense-layers", "1",
			"--kv", "dense", "--windows", fmt.Sprint(windows), "--tokens", "150", "--out", out}
	}
	out := filepath.Join(tmp, "killed")
	child := gridChild(args(out)...)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var samples string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		matches, _ := filepath.Glob(filepath.Join(out, "*", "samples.jsonl"))
		if len(matches) == 1 && len(sampleIndices(t, matches[0])) >= 2 {
			samples = matches[0]
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("no samples after 2 minutes")
		}
		time.Sleep(2 * time.Millisecond)
	}
	child.Process.Kill()
	child.Wait()
	before := sampleIndices(t, samples)
	if len(before) >= windows {
		t.Fatalf("the cell finished before the kill (%d windows): make it longer", len(before))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(samples), "result.json")); err == nil {
		t.Fatal("result.json exists after a kill in the middle of the cell")
	}
	f, err := os.OpenFile(samples, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"index":23,"tokens":150,"nll_su`)
	f.Close()

	if code, _, stderr := runStarc(t, args(out)...); code != 0 {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	got := sampleIndices(t, samples)
	seen := map[int]int{}
	for _, i := range got {
		seen[i]++
	}
	for i := range windows {
		if seen[i] != 1 {
			t.Errorf("window %d written %d times after the resumed run (killed with %d done)", i, seen[i], len(before))
		}
	}
	if len(got) != windows {
		t.Errorf("%d sample lines, want %d", len(got), windows)
	}
	clean := filepath.Join(tmp, "clean")
	if code, _, stderr := runStarc(t, args(clean)...); code != 0 {
		t.Fatalf("clean run: exit %d: %s", code, stderr)
	}
	a, b := mergeAll(t, out), mergeAll(t, clean)
	if !bytes.Equal(a[0], b[0]) {
		t.Errorf("the resumed grid merges to\n%s\nthe uninterrupted one to\n%s", a[0], b[0])
	}
}

// A perplexity cell is the stream protocol of `starc sweep` (the
// reference: eval.Sweep, each run prefilling for itself) on the same
// tokens, bit for bit: perplexity, recalls and rows per head, for full
// attention and two sparse methods, although the grid's cells fork one
// shared prefill of 4 tokens.
func TestGridPerplexityEqualsSweep(t *testing.T) {
	for _, prefill := range []int{1, 4} {
		t.Run(fmt.Sprintf("prefill=%d", prefill), func(t *testing.T) { gridEqualsSweep(t, prefill) })
	}
}

func gridEqualsSweep(t *testing.T, prefill int) {
	dir := stories(t)
	text := testenv.Shared(t, "data/tinyshakespeare_first20000.txt")
	knobs := []string{"--dense-layers", "1", "--page-size", "4", "--window", "16", "--cluster-size", "4", "--recluster", "16"}
	code, stdout, stderr := runStarc(t, append([]string{"sweep", "-m", dir, "-f", text, "--prefill", fmt.Sprint(prefill), "--max-tokens", "60",
		"--methods", "full,starc,quest", "--budgets", "8", "--threads", "1", "--json"}, knobs...)...)
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	var want []struct {
		Method      string  `json:"method"`
		PPL         float64 `json:"ppl"`
		Top10Recall float64 `json:"top10_recall"`
		MassRecall  float64 `json:"mass_recall"`
		RowsPerHead float64 `json:"rows_per_head"`
	}
	if err := json.Unmarshal([]byte(stdout), &want); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	spec := fmt.Sprintf(`{"name": "ref", "models": [%q], "methods": ["full", "starc", "quest"], "budgets": [8],
  "attention": {"dense_layers": 1, "page_size": 4, "window": 16, "cluster_size": 4, "recluster": 16, "kv": "dense"},
  "perplexity": [{"name": "s", "file": %q, "prefill": %d, "tokens": 60}]}`, dir, text, prefill)
	specPath := filepath.Join(tmp, "ref.json")
	os.WriteFile(specPath, []byte(spec), 0o644)
	out := filepath.Join(tmp, "out")
	if code, _, stderr := runStarc(t, "grid", "run", specPath, "--out", out); code != 0 {
		t.Fatalf("grid run: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runStarc(t, "grid", "merge", out, "--json-out", filepath.Join(tmp, "m.json"))
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(filepath.Join(tmp, "m.json"))
	var got struct {
		Rows []struct {
			Method      string  `json:"method"`
			Score       float64 `json:"score"`
			Top10Recall float64 `json:"top10_recall"`
			MassRecall  float64 `json:"mass_recall"`
			RowsPerHead float64 `json:"rows_per_head"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("grid rows %+v, sweep rows %+v", got.Rows, want)
	}
	for i, w := range want {
		g := got.Rows[i]
		if g.Method != w.Method || g.Score != w.PPL || g.Top10Recall != w.Top10Recall || g.MassRecall != w.MassRecall || g.RowsPerHead != w.RowsPerHead {
			t.Errorf("%s: grid ppl %.17g recall %.17g/%.17g rows %.17g; sweep ppl %.17g recall %.17g/%.17g rows %.17g", w.Method, g.Score,
				g.Top10Recall, g.MassRecall, g.RowsPerHead, w.PPL, w.Top10Recall, w.MassRecall, w.RowsPerHead)
		}
	}
}

// Bad input is a clear error naming the file, key, flag or cell, and
// nothing finished is lost: a spec with an unknown key or method, a shard
// count that would overlap the directory's, a directory holding another
// grid's cells, a corrupt result.json (the cell is neither rerun nor
// overwritten, the other cells' results stay as they were).
func TestGridBadInput(t *testing.T) {
	tmp := t.TempDir()
	spec := tinyGridSpec(t, tmp, "tiny", 1, 8)
	dir := filepath.Join(tmp, "run")
	if code, _, stderr := runStarc(t, "grid", "run", spec, "--out", dir, "--shard", "0/3"); code != 0 {
		t.Fatalf("shard 0/3: exit %d: %s", code, stderr)
	}
	results, _ := filepath.Glob(filepath.Join(dir, "*", "result.json"))
	if len(results) == 0 {
		t.Fatal("shard 0/3 finished no cell")
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, r := range results {
			b, _ := os.ReadFile(r)
			m[r] = string(b)
		}
		return m
	}
	before := snapshot()
	write := func(name, text string) string {
		p := filepath.Join(tmp, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	data, _ := os.ReadFile(spec)
	unknownKey := write("key.json", strings.Replace(string(data), `"budgets"`, `"budget": 8, "budgets"`, 1))
	unknownMethod := write("method.json", strings.Replace(string(data), `"quest"]`, `"qwest"]`, 1))
	other := write("other.json", strings.Replace(string(data), `[8, 16]`, `[8, 32]`, 1))

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown key", []string{"grid", "plan", unknownKey}, 1, []string{"key.json", `unknown key "budget"`, "line 5"}},
		{"unknown method", []string{"grid", "run", unknownMethod, "--out", filepath.Join(tmp, "x")}, 1, []string{"method.json", "methods[2]", `"qwest"`}},
		{"missing spec", []string{"grid", "plan", filepath.Join(tmp, "nope.json")}, 1, []string{"nope.json"}},
		{"overlapping shards", []string{"grid", "run", spec, "--out", dir, "--shard", "0/2"}, 1, []string{dir, "3 shards", "--shard i/3"}},
		{"shard out of range", []string{"grid", "run", spec, "--out", dir, "--shard", "3/3"}, 2, []string{"--shard", "index 3"}},
		{"another spec's directory", []string{"grid", "run", other, "--out", dir, "--shard", "0/3"}, 1, []string{dir, "another grid"}},
		{"flag of another action", []string{"grid", "merge", dir, "--jobs", "2"}, 2, []string{"--jobs", "grid merge"}},
		{"spec and simple flags", []string{"grid", "plan", spec, "--methods", "full"}, 2, []string{"SPEC", "simple-case"}},
		{"no action", []string{"grid"}, 2, []string{"plan, run, merge or plot"}},
		{"merge of an unfinished grid", []string{"grid", "merge", dir}, 1, []string{"not finished", "--partial"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runStarc(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}

	// A corrupt result.json stops the shard before any work, naming it,
	// and stays as it was; the merge lists it as corrupt.
	corrupt := results[0]
	os.WriteFile(corrupt, []byte(`{"id": "trunc`), 0o644)
	code, _, stderr := runStarc(t, "grid", "run", spec, "--out", dir, "--shard", "0/3")
	if code != 1 || !strings.Contains(stderr, corrupt) || !strings.Contains(stderr, "corrupt") {
		t.Errorf("rerun with a corrupt result.json: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(corrupt); string(b) != `{"id": "trunc` {
		t.Errorf("the corrupt result.json was rewritten: %s", b)
	}
	code, stdout, stderr := runStarc(t, "grid", "merge", dir, "--partial")
	if code != 0 || !strings.Contains(stdout, "corrupt") || !strings.Contains(stderr, "corrupt") {
		t.Errorf("merge --partial: exit %d\n%s\n%s", code, stdout, stderr)
	}
	after := snapshot()
	for path, b := range before {
		if path != corrupt && after[path] != b {
			t.Errorf("%s changed", path)
		}
	}
	// Removing it rebuilds the result from the kept samples, without rerunning.
	os.Remove(corrupt)
	code, _, stderr = runStarc(t, "grid", "run", spec, "--out", dir, "--shard", "0/3")
	if code != 0 {
		t.Fatalf("rerun after removing the corrupt result: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(corrupt); string(b) != before[corrupt] {
		t.Errorf("the rebuilt result.json differs from the original:\n%s\n%s", b, before[corrupt])
	}
}

// A task workload on the default model: the cells of niah_single_1 at 1K
// (needle at 50 %) share one prefill and answer from forks of it; each
// answer equals `starc generate` (its own prefill, greedy, the same
// method, KV cache in the PIM device) on the same prompt, the full cell
// finds the needle, and STARC at 64 tokens reads fewer tokens and rows per
// head and step than full attention.
func TestGridTaskCellsEqualGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	modelDir := testenv.DefaultModel(t)
	tmp := t.TempDir()
	spec := filepath.Join(tmp, "task.json")
	os.WriteFile(spec, []byte(fmt.Sprintf(`{"name": "task", "models": [%q], "methods": ["full", "starc"], "budgets": [64],
  "tasks": [{"task": "niah_single_1", "lengths": [1024], "depths": [50], "samples": 1}]}`, modelDir)), 0o644)
	// The model runs in child processes: a test process grown by SmolLM2
	// would pass its peak RSS on to the children other tests measure.
	out := filepath.Join(tmp, "out")
	if b, err := gridChild("grid", "run", spec, "--out", out, "--threads", "2").CombinedOutput(); err != nil {
		t.Fatalf("grid run: %v\n%s", err, b)
	}
	tok, err := tokenizer.Load(filepath.Join(modelDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	samples, err := taskrun.Generated{Tokenizer: grid.TokenCounter{Tok: tok}, PerTask: 1, Seed: 42}.Samples(context.Background(), 1024,
		taskrun.Task{Name: "niah_single_1", Depth: 50})
	if err != nil {
		t.Fatal(err)
	}
	prompt := filepath.Join(tmp, "prompt.txt")
	os.WriteFile(prompt, []byte(samples[0].Prompt()), 0o644)

	table := filepath.Join(tmp, "m.json")
	if code, _, stderr := runStarc(t, "grid", "merge", out, "--json-out", table); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	f, _ := os.Open(table)
	merged, err := grid.ReadTableJSON(f, table)
	f.Close()
	if err != nil || len(merged.Rows) != 2 {
		t.Fatalf("merged %+v, %v", merged, err)
	}
	for _, r := range merged.Rows {
		lines, _ := os.ReadFile(filepath.Join(out, r.ID, "samples.jsonl"))
		var s grid.Sample
		if err := json.Unmarshal(lines, &s); err != nil || s.Pred == nil {
			t.Fatalf("%s samples: %v %s", r.ID, err, lines)
		}
		args := []string{"generate", "-m", modelDir, "--prompt-file", prompt, "-n", "128", "--kv", "pim", "--threads", "2", "--method", r.Method}
		if r.Budget > 0 {
			args = append(args, "--budget", fmt.Sprint(r.Budget))
		}
		gen := gridChild(args...)
		var stderr bytes.Buffer
		gen.Stderr = &stderr
		stdout, err := gen.Output()
		if err != nil {
			t.Fatalf("generate: %v: %s", err, stderr.String())
		}
		if strings.TrimSpace(string(stdout)) != strings.TrimSpace(*s.Pred) {
			t.Errorf("%s-%d: grid answered %q, generate %q", r.Method, r.Budget, *s.Pred, stdout)
		}
		if r.Method == "full" && r.Score != 100 {
			t.Errorf("full attention scores %v on its needle (answer %q, needle %q)", r.Score, *s.Pred, s.Outputs)
		}
	}
	full, starc := merged.Rows[0], merged.Rows[1]
	if !(starc.RowsPerHead > 0 && starc.RowsPerHead < full.RowsPerHead && starc.TokensPerHead < full.TokensPerHead) {
		t.Errorf("per head and step: starc-64 %.1f tokens in %.1f rows, full %.1f tokens in %.1f rows; want starc below full",
			starc.TokensPerHead, starc.RowsPerHead, full.TokensPerHead, full.RowsPerHead)
	}
	if !(starc.PIMEnergyNJ > 0 && full.PIMEnergyNJ > 0) {
		t.Errorf("PIM energy per token: starc-64 %v nJ, full %v nJ; want both measured", starc.PIMEnergyNJ, full.PIMEnergyNJ)
	}
	t.Logf("PIM attention energy per decode step: full %.0f nJ, starc-64 %.0f nJ (%d and %d samples; a short answer carries STARC's remap of the prefilled cache)",
		full.PIMEnergyNJ, starc.PIMEnergyNJ, full.Samples, starc.Samples)
}

// FuzzGridFlags runs random `starc grid` command lines (arguments
// separated by newlines) through parsing and validation: no panic, no
// hang, and an exit status run documents.
func FuzzGridFlags(f *testing.F) {
	for _, seed := range []string{
		"plan\n-m\nm\n-f\nbook.txt\n--methods\nfull,starc\n--budgets\n64",
		"run\nspec.json\n--out\nd\n--shard\n1/3\n--jobs\n2",
		"run\n-m\nm\n--tasks\nniah_single_1\n--lengths\n1024\n--depths\n0,50\n--out\nd\n--shards\n4",
		"merge\nd\n--csv\nx.csv\n--partial",
		"plot\nd\n--out-dir\np",
		"run\nspec.json\n--shard\n5/3",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "spec.json"), []byte(`{"models": ["m"], "methods": ["full"], "perplexity": [{"file": "x", "tokens": 4}]}`), 0o644)
	f.Chdir(dir)
	f.Fuzz(func(t *testing.T, line string) {
		args := append([]string{"grid"}, strings.Split(line, "\n")...)
		e := &env{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader(""), checkOnly: true}
		if code := run(t.Context(), args, e); code != 0 && code != 1 && code != 2 {
			t.Fatalf("starc %q: exit %d", args, code)
		}
	})
}

// SIGINT or SIGTERM in the middle of a grid run with two jobs: the process
// exits within a second with 128+signal, every samples.jsonl line written
// is whole, no result.json exists for an unfinished cell, no temporary is
// left behind, and the rerun finishes the grid.
func TestGridStopsOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := starcBinary(t)
	text := testenv.Shared(t, "data/tinyshakespeare_first20000.txt")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			args := []string{"grid", "run", "-m", stories(t), "-f", text, "--methods", "starc,quest", "--budgets", "8", "--dense-layers", "1",
				"--kv", "dense", "--windows", "24", "--tokens", "150", "--out", out, "--jobs", "2"}
			cmd := exec.Command(bin, args...)
			watch := &stderrWatch{marker: "jobs", seen: make(chan struct{})}
			cmd.Stderr = watch
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			// Signal once the first window of a cell is written: mid-run.
			deadline := time.Now().Add(2 * time.Minute)
			for {
				matches, _ := filepath.Glob(filepath.Join(out, "*", "samples.jsonl"))
				if len(matches) > 0 && len(sampleIndices(t, matches[0])) > 0 {
					break
				}
				select {
				case <-done:
					t.Fatalf("ended before the signal:\n%s", watch)
				case <-time.After(2 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("no sample after 2 minutes:\n%s", watch)
				}
			}
			sent := time.Now()
			cmd.Process.Signal(sig)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 10 s after %v:\n%s", sig, watch)
			}
			if took := time.Since(sent); took > time.Second {
				t.Errorf("exited %v after %v, want within 1 s", took.Round(time.Millisecond), sig)
			}
			if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
				t.Errorf("exit %d after %v, want %d:\n%s", code, sig, 128+int(sig), watch)
			}
			cells, _ := filepath.Glob(filepath.Join(out, "*", "config.json"))
			for _, c := range cells {
				d := filepath.Dir(c)
				data, _ := os.ReadFile(filepath.Join(d, "samples.jsonl"))
				if len(data) > 0 && data[len(data)-1] != '\n' {
					t.Errorf("%s ends in a partial line after %v", d, sig)
				}
				if n := len(sampleIndices(t, filepath.Join(d, "samples.jsonl"))); n < 24 {
					if _, err := os.Stat(filepath.Join(d, "result.json")); err == nil {
						t.Errorf("%s has result.json with %d of 24 windows", d, n)
					}
				}
				if left := leftovers(t, d); len(left) > 0 {
					t.Errorf("temporaries left in %s: %v", d, left)
				}
			}
			if code, _, stderr := runStarc(t, args...); code != 0 {
				t.Fatalf("rerun: exit %d: %s", code, stderr)
			}
			if code, stdout, stderr := runStarc(t, "grid", "merge", out); code != 0 || !strings.Contains(stdout, "2 cells, 2 done") {
				t.Errorf("merge after the rerun: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// The spec shown in `starc grid -h` is a valid spec.
func TestGridHelpSpecParses(t *testing.T) {
	long := gridCommand.long
	start := strings.Index(long, `{"name"`)
	end := strings.Index(long, "\n\n  starc grid plan")
	if start < 0 || end < start {
		t.Fatal("no spec in grid's help")
	}
	if _, err := grid.ParseSpec([]byte(long[start:end]), "grid -h"); err != nil {
		t.Error(err)
	}
}

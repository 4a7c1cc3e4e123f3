package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"starc/attention"
	"starc/eval"
	"starc/eval/grid"
	gridplot "starc/eval/grid/plot"
	"starc/eval/ruler"
	"starc/eval/ruler/jsonl"
	"starc/eval/ruler/score"
	"starc/eval/taskrun"
	"starc/pim"
	"starc/tokenizer"
)

var evalCommand = &command{
	name:  "eval",
	args:  "[prepare|report]",
	short: "task accuracy on RULER's long-context tasks versus KV budget, with the PIM cost of every answer",
	long: `Eval runs RULER's synthetic tasks (niah_single_1/2/3, niah_multikey_1/2/3,
niah_multivalue, niah_multiquery, vt, cwe, fwe) at each of --lengths tokens,
--samples per task and length, generated for the model's own tokenizer with
--seed (RULER's length control: prompt + tokens to generate fit the length as
tightly as RULER fits them). --data DIR reads RULER-format data instead
(DIR/<length>/data/<task>/validation.jsonl, e.g. made by RULER's prepare.py,
which also brings qa_1/qa_2). --depths fixes the needle depth of the niah tasks
(percent of the haystack) to run a depth × length grid.

Each sample is prefilled densely once; every --methods × --budgets cell then
answers it greedily from its own fork of that prefill, up to the task's tokens
to generate, stopping at EOS. Predictions go to OUT in RULER's layout
(OUT/<length>/pred/<cell>/<task>.jsonl, one line per sample as it finishes, the
cost of the answer under "others"), so RULER's evaluate.py can score them; the
samples go to OUT/<length>/data/<task>/validation.jsonl. --traces also keeps
each answer's DRAM row reads as a pim access trace, which starc hw --trace
replays at 7B/8B scale. A rerun with the same
flags resumes, skipping the samples already answered; a different
configuration is refused.

Printed: one row per task × length × cell with the score (RULER's
string_match_all / string_match_part, or --scorer starc, the STARC paper's),
nulls, samples, tokens attended and DRAM rows activated per head per step (the
paper's rule), and with --kv pim the device's attention latency and energy per
generated token; then the mean per cell. The prompt is RULER's "base" template
(the task text itself); --chat wraps it in the model's chat template.

"starc eval prepare" writes the samples only (to --out), in RULER's data layout.
"starc eval report --out DIR" prints the table of a run directory as it stands
(a run in progress or stopped included), without running anything.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dir := modelFlag(fs)
		taskNames := make([]string, 0, 11)
		for _, t := range ruler.Tasks() {
			taskNames = append(taskNames, t.Name)
		}
		tasks := fs.String("tasks", strings.Join(taskNames, ","), "comma-separated tasks (with --data: default all in DIR)")
		lengths := intListFlag(fs, "lengths", []int{4096}, 1, maxCount, "sequence lengths in tokens (prompt + tokens to generate); with --data: default all in DIR")
		samples := intFlag(fs, "samples", 10, 1, maxCount, "samples per task and length (RULER: 500); with --data: at most this many of each file")
		depths := intListFlag(fs, "depths", nil, 0, 100, "niah tasks: put the needles at each of these depths (% of the haystack) instead of RULER's random ones")
		data := fs.String("data", "", "read RULER-format samples from `DIR` (DIR/<length>/data/<task>/validation.jsonl) instead of generating them")
		chat := fs.Bool("chat", false, "generated prompts: wrap the task in the model's chat template (RULER's default is the plain \"base\" template)")
		methods := enumListFlag(fs, "methods", []string{"full", "starc"}, attention.Names(), "attention methods")
		budgets := intListFlag(fs, "budgets", []int{256}, 1, maxCount, "KV budgets of the sparse methods (tokens per query head per decode step)")
		scorer := enumFlag(fs, "scorer", "ruler", []string{"ruler", "starc"}, "ruler: RULER's string match (0-100); starc: the STARC paper's scorer (0-1)")
		out := fs.String("out", "", "run `DIR`: samples, predictions and config.json (required; a rerun resumes)")
		asJSON := fs.Bool("json", false, "print the table as JSON")
		plotDir := fs.String("plot", "", "eval report: also draw the grid figures (score and PIM cost versus budget per task, length and RULER average; the needle heatmap) into `DIR`")
		rowTokens := intFlag(fs, "row-tokens", 16, 1, maxCount, "K (or V) vectors per DRAM row for the row count")
		batch := intFlag(fs, "batch", 0, 0, 64, "cells that decode at once, in lockstep, from each sample's shared prefill (0 = as many as fit in 4 GiB, at most 16; 1 = one cell after another)")
		traces := fs.Bool("traces", false, "also record each answer's decode reads as a pim access trace, OUT/<length>/trace/<cell>/<task>/sample-NNNN.jsonl (for starc hw --trace and trace budget-table)")
		af := addAttnFlags(fs, 0)
		seed := fs.Lookup("seed")
		seed.Usage, seed.DefValue = "seed of the generated samples (RULER: 42) and of randomised k-means", "42"
		seed.Value.Set("42")
		return func(ctx context.Context, e *env, args []string) error {
			prepare := len(args) == 1 && args[0] == "prepare"
			if len(args) == 1 && args[0] == "report" {
				return reportEval(ctx, e, fs, *out, score.Scorer(*scorer), *asJSON, *plotDir)
			}
			if isSet(fs, "plot") {
				return usagef("--plot applies to eval report (starc eval report --out DIR --plot FIGDIR)")
			}
			if len(args) > 0 && !prepare {
				return usagef("unexpected arguments %q (the subcommands are \"prepare\" and \"report\")", args)
			}
			for _, name := range []string{"method", "budget", "ctx", "trace"} {
				if isSet(fs, name) {
					return usagef("--%s is not an eval flag (use --methods, --budgets and --traces; the context follows --lengths)", name)
				}
			}
			if *out == "" {
				return usagef("--out: a run directory is required")
			}
			if prepare {
				for _, name := range []string{"methods", "budgets", "scorer", "kv", "layout", "data", "json", "traces", "batch"} {
					if isSet(fs, name) {
						return usagef("--%s does not apply to eval prepare (it only writes samples)", name)
					}
				}
			}
			cells := eval.Cells(*methods, *budgets)
			if !prepare {
				if err := af.check(e.stderr, *methods...); err != nil {
					return err
				}
			}
			taskList, err := evalTasks(*tasks, *depths, *data, isSet(fs, "tasks"))
			if err != nil {
				return err
			}
			if *data != "" {
				if *chat || isSet(fs, "seed") {
					return usagef("--chat and --seed shape generated samples; --data %s brings its own", *data)
				}
				if !isSet(fs, "lengths") || !isSet(fs, "tasks") {
					found, err := jsonl.ListData(*data)
					if err != nil {
						return fmt.Errorf("--data: %w", err)
					}
					if !isSet(fs, "lengths") {
						*lengths = dataLengths(found)
					}
					if !isSet(fs, "tasks") {
						taskList = dataTasks(found)
					}
				}
			}
			if e.checkOnly {
				return nil
			}
			l, err := loadModel(*dir)
			if err != nil {
				return err
			}
			defer l.close()
			if err := af.checkModel(l); err != nil {
				return err
			}
			for _, n := range *lengths {
				if n > l.model.Config.MaxContext() {
					return usagef("--lengths %d exceeds the model's context of %d tokens", n, l.model.Config.MaxContext())
				}
			}
			var template func(string) string
			if *chat {
				if _, err := chatPrompt(l.dir, ""); err != nil {
					return err
				}
				template = func(task string) string { s, _ := chatPrompt(l.dir, task); return s }
			}
			var source taskrun.Source = taskrun.Generated{Tokenizer: tokenCounter{l.tok}, PerTask: *samples,
				Seed: int64(*af.seed), Template: template}
			if *data != "" {
				source = taskrun.Data{Dir: *data, PerTask: *samples}
			}
			if prepare {
				return prepareSamples(ctx, e, *out, source, *lengths, taskList)
			}
			return runEval(ctx, e, l, af, evalRun{
				out: *out, source: source, tasks: taskList, lengths: *lengths, cells: cells, rowTokens: *rowTokens, traces: *traces, batch: *batch,
				scorer: score.Scorer(*scorer), asJSON: *asJSON, config: taskrun.Config{
					Model: modelFingerprint(l.dir), Data: dataName(*data), Seed: int64(*af.seed), Template: templateName(*chat),
					Tasks: taskDirs(taskList), Lengths: *lengths, Depths: *depths, Samples: *samples, Cells: cells,
					Attention: attentionKnobs(fs),
				},
			})
		}
	},
}

// evalRun is what runEval needs beyond the flags it reads itself.
type evalRun struct {
	out       string
	source    taskrun.Source
	tasks     []taskrun.Task
	lengths   []int
	cells     []eval.Cell
	rowTokens int
	traces    bool
	batch     int // cells per lockstep batch (0 = from memory)
	scorer    score.Scorer
	asJSON    bool
	config    taskrun.Config
}

func runEval(ctx context.Context, e *env, l *loaded, af *attnFlags, r evalRun) error {
	if err := taskrun.Claim(r.out, r.config); err != nil {
		return err
	}
	layout := pim.LayoutGQA
	if *af.layout == "attacc" {
		layout = pim.LayoutAttAcc
	}
	answerer, err := eval.NewAnswerer(l.model, eval.AnswerConfig{Base: af.config(l, 0), DenseLayers: *af.denseLayers,
		Threads: *af.threads, PIM: *af.kv == "pim", Layout: layout, RowTokens: r.rowTokens, Trace: r.traces, Batch: r.batch})
	if err != nil {
		return err
	}
	defer answerer.Close()
	stop := slices.Clone(l.model.Config.EOS)
	if eos, ok := l.tok.EOS(); ok && !slices.Contains(stop, eos) {
		stop = append(stop, eos)
	}
	bar := newProgressBar(e.stderr, "eval")
	fmt.Fprintf(e.stderr, "eval: %s, %d tasks × %d lengths %v, cells %s, KV cache %s → %s\n", l.dir, len(r.tasks), len(r.lengths),
		r.lengths, cellNames(r.cells), *af.kv, r.out)
	err = taskrun.Run(ctx, taskrun.Options{
		Dir: r.out, Config: r.config, Tasks: r.tasks, Lengths: r.lengths, Source: r.source, MaxNew: taskrun.MaxNew,
		Answerer: answerer, Cells: r.cells, Stop: stop, Progress: bar.update,
		Encode: func(text string) []int {
			return l.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		},
		Decode: func(ids []int) string { return l.tok.DecodeWith(ids, tokenizer.DecodeOptions{SkipSpecial: true}) },
	})
	bar.done()
	rows, cerr := taskrun.Collect(r.out, r.lengths, r.tasks, r.cells, r.scorer)
	if cerr != nil {
		return cerr
	}
	summary := taskrun.Summarize(rows, r.cells)
	if len(rows) > 0 {
		if r.asJSON {
			if werr := taskrun.WriteJSON(e.stdout, rows, summary); werr != nil && err == nil {
				err = werr
			}
		} else if werr := taskrun.WriteMarkdown(e.stdout, rows, summary, *af.kv == "pim"); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil && len(rows) > 0 {
		fmt.Fprintf(e.stderr, "eval: stopped; the answers so far are in %s and printed above; rerun the same command to resume\n", r.out)
	}
	return err
}

// reportEval prints the scored table of the run in dir as it stands.
func reportEval(ctx context.Context, e *env, fs *flag.FlagSet, dir string, scorer score.Scorer, asJSON bool, plotDir string) error {
	set := []string{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "out", "scorer", "json", "plot", "m", "threads", "cpuprofile", "memprofile":
		default:
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return usagef("%s: eval report reads the run's own configuration: it takes only --out, --scorer, --json and --plot", strings.Join(set, ", "))
	}
	if dir == "" {
		return usagef("--out: the run directory to report is required")
	}
	if e.checkOnly {
		return nil
	}
	cfg, err := taskrun.ReadConfig(dir)
	if err != nil {
		return err
	}
	rows, err := taskrun.Collect(dir, cfg.Lengths, cfg.RunTasks(), cfg.Cells, scorer)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s: no predictions yet", dir)
	}
	summary := taskrun.Summarize(rows, cfg.Cells)
	if asJSON {
		err = taskrun.WriteJSON(e.stdout, rows, summary)
	} else {
		err = taskrun.WriteMarkdown(e.stdout, rows, summary, cfg.Attention["kv"] == "pim")
	}
	if err != nil || plotDir == "" {
		return err
	}
	t, err := evalRunTable(dir, cfg, scorer, rows)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(plotDir, 0o755); err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	files, err := gridplot.All(ctx, t, plotDir)
	for _, f := range files {
		fmt.Fprintf(e.stderr, "eval report: wrote %s\n", filepath.Clean(f))
	}
	return err
}

// evalRunTable is the scored rows of the eval run in dir as a grid table,
// for the grid's figures. A (task, length) row is done when its cell
// answered every sample of the task's data file (at most the run's
// --samples).
func evalRunTable(dir string, cfg taskrun.Config, scorer score.Scorer, rows []taskrun.Row) (*grid.Table, error) {
	wanted := map[string]int{}
	var failed error
	wantedOf := func(r taskrun.Row) int {
		task := taskrun.Task{Name: r.Task, Depth: -1}
		if r.Depth != nil {
			task.Depth = *r.Depth
		}
		path := taskrun.DataPath(dir, r.Length, task)
		n, ok := wanted[path]
		if !ok {
			samples, err := jsonl.ReadSamples(path)
			if err != nil && failed == nil {
				failed = err
			}
			n = min(len(samples), cfg.Samples)
			wanted[path] = n
		}
		return n
	}
	kv := cfg.Attention["kv"]
	if kv == "" {
		kv = "dense"
	}
	t := grid.FromTaskRun(filepath.Base(filepath.Clean(dir)), cfg.Model, string(scorer), kv, wantedOf, cfg.Tasks, rows)
	return t, failed
}

// prepareSamples writes the samples of every (length, task) in RULER's
// data layout under dir.
func prepareSamples(ctx context.Context, e *env, dir string, source taskrun.Source, lengths []int, tasks []taskrun.Task) error {
	bar := newProgressBar(e.stderr, "eval prepare")
	defer bar.done()
	total, done := len(lengths)*len(tasks), 0
	for _, n := range lengths {
		for _, t := range tasks {
			samples, err := source.Samples(ctx, n, t)
			if err != nil {
				return err
			}
			path := taskrun.DataPath(dir, n, t)
			if err := taskrun.WriteSamples(path, samples); err != nil {
				return err
			}
			done++
			bar.update(done, total)
			fmt.Fprintf(bar, "eval prepare: %s (%d samples)\n", path, len(samples))
		}
	}
	return nil
}

// evalTasks parses --tasks and --depths into the run's tasks.
func evalTasks(list string, depths []int, data string, listed bool) ([]taskrun.Task, error) {
	var out []taskrun.Task
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		t, ok := ruler.Lookup(name)
		switch {
		case !ok && data == "":
			return nil, usagef("--tasks: unknown task %q (valid: %s)", name, strings.Join(score.Tasks, ", "))
		case ok && !t.Generated && data == "":
			return nil, usagef("--tasks: %s needs its data set: make it with RULER's prepare.py and pass --data DIR", name)
		}
		if len(depths) == 0 {
			out = append(out, taskrun.Task{Name: name, Depth: -1})
			continue
		}
		if !strings.HasPrefix(name, "niah_") {
			if listed {
				return nil, usagef("--depths applies to the niah tasks, not to %s", name)
			}
			continue
		}
		for _, d := range depths {
			out = append(out, taskrun.Task{Name: name, Depth: d})
		}
	}
	if len(out) == 0 {
		return nil, usagef("--tasks: no task given")
	}
	return out, nil
}

func dataLengths(files []jsonl.DataFile) []int {
	var out []int
	for _, f := range files {
		if !slices.Contains(out, f.Length) {
			out = append(out, f.Length)
		}
	}
	return out
}

func dataTasks(files []jsonl.DataFile) []taskrun.Task {
	var out []taskrun.Task
	for _, f := range files {
		t := taskrun.Task{Name: f.Task, Depth: -1}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func taskDirs(tasks []taskrun.Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.Dir()
	}
	return out
}

func cellNames(cells []eval.Cell) string {
	names := make([]string, len(cells))
	for i, c := range cells {
		names[i] = c.String()
	}
	return strings.Join(names, ",")
}

func dataName(dir string) string {
	if dir == "" {
		return "generated"
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

func templateName(chat bool) string {
	if chat {
		return "chat"
	}
	return "base"
}

// attentionKnobs records every attention flag's value: they all shape the
// answers (threads only change speed and are left out).
func attentionKnobs(fs *flag.FlagSet) map[string]string {
	knobs := map[string]string{}
	for _, name := range []string{"dense-layers", "window", "cluster-size", "recluster", "kmeans-init", "page-size",
		"sparq-rank", "sinks", "kv", "layout", "row-tokens"} {
		if f := fs.Lookup(name); f != nil {
			knobs[name] = f.Value.String()
		}
	}
	return knobs
}

// modelFingerprint names a checkpoint by its directory and a hash of its
// config.json, tokenizer.json and safetensors header (names, dtypes,
// shapes, offsets), so a rerun against another model is refused.
func modelFingerprint(dir string) string {
	h := sha256.New()
	for _, name := range []string{"config.json", "tokenizer.json"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			h.Write(b)
		}
	}
	if f, err := os.Open(filepath.Join(dir, "model.safetensors")); err == nil {
		var n [8]byte
		if _, err := io.ReadFull(f, n[:]); err == nil {
			size := int64(n[0]) | int64(n[1])<<8 | int64(n[2])<<16 | int64(n[3])<<24 | int64(n[4])<<32 | int64(n[5])<<40
			if size > 0 && size < 100<<20 {
				io.CopyN(h, f, size)
			}
		}
		f.Close()
	}
	return filepath.Base(filepath.Clean(dir)) + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// tokenCounter counts tokens as RULER does: the model's tokenizer, no
// special tokens added, special tokens in the text parsed.
type tokenCounter struct{ tok *tokenizer.Tokenizer }

func (c tokenCounter) Count(text string) int {
	return len(c.tok.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true}))
}

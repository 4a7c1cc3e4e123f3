package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"starc/attention"
	"starc/eval"
	"starc/eval/grid"
	gridplot "starc/eval/grid/plot"
	"starc/eval/ruler/score"
	"starc/eval/taskrun"
)

var gridCommand = &command{
	name:  "grid",
	args:  "plan|run|merge|plot [SPEC|DIR|TABLE]",
	short: "plan, run (sharded, resumable), merge and plot an evaluation grid",
	long: `Grid runs an evaluation grid: models × workloads (perplexity windows of a text,
RULER tasks at lengths and needle depths) × methods × budgets, as independent
cells with stable IDs (a hash of the cell's configuration, starc's version and
the model's fingerprint). The grid comes from a JSON spec file (SPEC; unknown
keys are refused) or, for the simple case, from flags (-m, -f, --tokens,
--tasks, --lengths, --methods, --budgets ...). A spec (paths relative to it;
attention knobs default as in the other commands, kv to pim; scorer ruler):

  {"name": "g1", "models": ["models/smollm2-135m-instruct"],
   "methods": ["full", "starc", "quest"], "budgets": [128, 256],
   "attention": {"dense_layers": 2, "window": 64, "page_size": 16, "kv": "pim"},
   "perplexity": [{"name": "dorian", "file": "dorian.txt", "prefill": 1,
                   "tokens": 2048, "windows": 2}],
   "tasks": [{"task": "niah_single_1", "lengths": [1024, 4096],
              "depths": [0, 50, 100], "samples": 4, "seed": 42}]}

  starc grid plan SPEC [--shards N] [--json]
      list the cells in order with their IDs (and shards, with --shards)
  starc grid run SPEC --out DIR [--shard i/N] [--jobs K]
      run shard i of N into DIR: DIR/<id>/config.json, samples.jsonl (one line
      per finished sample), result.json (written last, atomically). Without
      --shard the shard comes from $SLURM_ARRAY_TASK_ID/_COUNT (or _MIN/_MAX),
      or from $JOB_COMPLETION_INDEX with --shards N, else the whole grid. A
      rerun skips finished cells and resumes partial ones. --jobs K runs K
      cells side by side; the cells of one workload run together from one
      prefill per sample (tasks; perplexity with "prefill" above 1).
  starc grid merge DIR [--csv F] [--json-out F] [--md F] [--partial]
      one row per cell (parameters, scores, hardware columns); unfinished
      cells are listed and make the exit status 1 unless --partial
  starc grid plot DIR|TABLE.json|SWEEP.json --out-dir D
      score vs budget, rows and PIM energy vs budget, score vs energy
      (Pareto front), needle heatmaps; PNG and SVG. A merged table
      (merge --json-out), the rows of starc sweep --json and a starc eval
      run directory (scored with RULER's scorer) plot too`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		model := fs.String("m", "", "simple case: model `DIR`")
		text := fs.String("f", "", "simple case: perplexity text `FILE`")
		tokens := intFlag(fs, "tokens", 256, 1, maxCount, "simple case: predictions scored per perplexity window")
		prefill := intFlag(fs, "prefill", 1, 1, maxCount, "simple case: tokens prefilled densely per window")
		windows := intFlag(fs, "windows", 1, 1, 1<<16, "simple case: perplexity windows (samples) of the text")
		tasks := enumListFlag(fs, "tasks", nil, generatedTasks(), "simple case: RULER tasks")
		lengths := intListFlag(fs, "lengths", []int{4096}, 1, maxCount, "simple case: task lengths in tokens")
		depths := intListFlag(fs, "depths", nil, 0, 100, "simple case: fixed needle depths in % (niah tasks)")
		samples := intFlag(fs, "samples", 4, 1, 1<<16, "simple case: samples per task, length and depth")
		methods := enumListFlag(fs, "methods", []string{"full", "starc", "quest"}, attention.Names(), "simple case: methods")
		budgets := intListFlag(fs, "budgets", []int{128, 256, 512}, 1, maxCount, "simple case: KV budgets")
		kv := enumFlag(fs, "kv", "pim", []string{"pim", "dense"}, "simple case: where the KV cache lives (pim measures energy)")
		denseLayers := intFlag(fs, "dense-layers", 2, 0, maxCount, "simple case: layers attending densely")
		name := fs.String("name", "grid", "simple case: the grid's name")

		shards := intFlag(fs, "shards", 0, 0, 100000, "plan: show the deal to N shards; run: the shard count with $JOB_COMPLETION_INDEX")
		asJSON := fs.Bool("json", false, "plan: print the cells as JSON")
		out := fs.String("out", "", "run: the grid's output `DIR`")
		shard := fs.String("shard", "", "run: the shard `i/N` to run (default: from the environment, else all)")
		jobs := intFlag(fs, "jobs", 1, 1, 64, "run: cells run side by side")
		threads := intFlag(fs, "threads", 1, 1, maxThreads, "run: worker threads per cell")
		csvOut := outputFlag(fs, "csv", "merge: write the table as CSV to `FILE`")
		jsonOut := outputFlag(fs, "json-out", "merge: write the table as JSON to `FILE`")
		mdOut := outputFlag(fs, "md", "merge: write the table as Markdown to `FILE`")
		partial := fs.Bool("partial", false, "merge: exit 0 even when cells are not finished")
		outDir := fs.String("out-dir", "", "plot: directory for the figures (created)")

		simple := []string{"m", "f", "tokens", "prefill", "windows", "tasks", "lengths", "depths", "samples", "methods", "budgets", "kv", "dense-layers", "name"}
		allowed := map[string][]string{
			"plan":  append([]string{"shards", "json"}, simple...),
			"run":   append([]string{"out", "shard", "shards", "jobs", "threads"}, simple...),
			"merge": {"csv", "json-out", "md", "partial"},
			"plot":  {"out-dir"},
		}
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) == 0 {
				return usagef("an action is required: plan, run, merge or plot")
			}
			action, args := args[0], args[1:]
			ok, known := allowed[action]
			if !known {
				return usagef("unknown action %q: want plan, run, merge or plot", action)
			}
			var bad error
			fs.Visit(func(f *flag.Flag) {
				if bad == nil && !slices.Contains(ok, f.Name) && f.Name != "cpuprofile" && f.Name != "memprofile" {
					bad = usagef("--%s does not apply to grid %s", f.Name, action)
				}
			})
			if bad != nil {
				return bad
			}
			if len(args) > 1 {
				return usagef("unexpected arguments %q", args[1:])
			}
			switch action {
			case "merge", "plot":
				if len(args) == 0 {
					return usagef("grid %s needs the grid's DIR", action)
				}
				if action == "plot" && *outDir == "" {
					return usagef("--out-dir: a directory for the figures is required")
				}
				if e.checkOnly {
					return nil
				}
				if action == "merge" {
					return gridMerge(e, args[0], *csvOut, *jsonOut, *mdOut, *partial)
				}
				return gridPlot(ctx, e, args[0], *outDir)
			}
			// plan, run: a spec file or the simple-case flags.
			var spec *grid.Spec
			var err error
			usedSimple := slices.ContainsFunc(simple, func(f string) bool { return isSet(fs, f) })
			if len(args) == 1 {
				if usedSimple {
					return usagef("a SPEC file and the simple-case flags (-m, -f, --methods ...) both given: use one")
				}
				if spec, err = grid.LoadSpec(args[0]); err != nil {
					return err
				}
			} else {
				if *model == "" {
					return usagef("a SPEC file, or -m DIR with -f FILE and/or --tasks, is required")
				}
				s := grid.Spec{Name: *name, Models: []string{*model}, Methods: *methods, Budgets: *budgets,
					Attention: grid.Knobs{DenseLayers: denseLayers, KV: *kv}}
				if !slices.ContainsFunc(*methods, func(m string) bool { return m != "full" }) {
					s.Budgets = nil
				}
				if *text != "" {
					s.Perplexity = []grid.PPLWorkload{{File: *text, Prefill: *prefill, Tokens: *tokens, Windows: *windows}}
				}
				for _, t := range *tasks {
					tw := grid.TaskWorkload{Task: t, Lengths: *lengths, Samples: *samples}
					if strings.HasPrefix(t, "niah_") {
						tw.Depths = *depths
					}
					s.Tasks = append(s.Tasks, tw)
				}
				if spec, err = grid.NewSpec(s, "flags"); err != nil {
					return usageError{err.Error()}
				}
			}
			if action == "plan" {
				if e.checkOnly {
					return nil
				}
				return gridPlan(e, spec, *shards, *asJSON)
			}
			if *out == "" {
				return usagef("--out: the grid's output directory is required")
			}
			sh, err := resolveShard(fs, *shard, *shards, os.Getenv)
			if err != nil {
				return err
			}
			if e.checkOnly {
				return nil
			}
			return gridRun(ctx, e, spec, *out, sh, *jobs, *threads)
		}
	},
}

// generatedTasks are the RULER tasks starc generates itself.
func generatedTasks() []string {
	return []string{"niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2", "niah_multikey_3",
		"niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe"}
}

// resolveShard is --shard, else the cluster engine's environment, else
// the whole grid. A --shard that contradicts the environment is refused.
func resolveShard(fs *flag.FlagSet, flagShard string, count int, getenv func(string) string) (grid.Shard, error) {
	fromEnv, inEnv, err := grid.ShardFromEnv(getenv, count)
	if err != nil {
		return grid.Shard{}, usageError{err.Error()}
	}
	if flagShard != "" {
		s, err := grid.ParseShard(flagShard)
		if err != nil {
			return s, usagef("--shard: %v", err)
		}
		if inEnv && s != fromEnv {
			return s, usagef("--shard %s contradicts the environment's shard %s: drop one", s, fromEnv)
		}
		if isSet(fs, "shards") && count != s.Count {
			return s, usagef("--shard %s and --shards %d disagree", s, count)
		}
		return s, nil
	}
	if inEnv {
		return fromEnv, nil
	}
	if isSet(fs, "shards") {
		return grid.Shard{}, usagef("--shards %d without $JOB_COMPLETION_INDEX: give --shard i/%d", count, count)
	}
	return grid.All, nil
}

func gridPlan(e *env, spec *grid.Spec, shards int, asJSON bool) error {
	p, err := grid.NewPlan(spec)
	if err != nil {
		return err
	}
	shardOf := make([]int, len(p.Cells))
	if shards > 0 {
		for s, cells := range p.Deal(shards) {
			for _, c := range cells {
				shardOf[c] = s
			}
		}
	}
	if asJSON {
		type planned struct {
			grid.CellFile
			Shard *int `json:"shard,omitempty"`
		}
		var list []planned
		for i, c := range p.Cells {
			pc := planned{CellFile: grid.CellFile{ID: c.ID, Name: c.Name(), Config: c.Config}}
			if shards > 0 {
				pc.Shard = &shardOf[i]
			}
			list = append(list, pc)
		}
		b, err := jsonIndent(list)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	}
	var b bytes.Buffer
	for i, c := range p.Cells {
		sh := ""
		if shards > 0 {
			sh = fmt.Sprintf("  shard %d", shardOf[i])
		}
		fmt.Fprintf(&b, "%4d  %s  %-40s%s\n", i, c.ID, c.Name(), sh)
	}
	_, err = e.stdout.Write(b.Bytes())
	return err
}

// lockedWriter serialises the lines of several jobs.
type lockedWriter struct {
	mu sync.Mutex
	w  *progressBar
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func gridRun(ctx context.Context, e *env, spec *grid.Spec, out string, sh grid.Shard, jobs, threads int) error {
	p, err := grid.NewPlan(spec)
	if err != nil {
		return err
	}
	bar := newProgressBar(e.stderr, "grid "+sh.String())
	log := &lockedWriter{w: bar}
	fmt.Fprintf(log, "grid: %s, %d cells; shard %s has %d of them → %s (%d jobs × %d threads)\n",
		spec.Name, len(p.Cells), sh, len(p.Deal(sh.Count)[sh.Index]), out, jobs, threads)
	sum, err := grid.Run(ctx, grid.RunOptions{Dir: out, Plan: p, Shard: sh, Jobs: jobs, Threads: threads, Log: log,
		Progress: func(done, total int) {
			log.mu.Lock()
			bar.update(done, total)
			log.mu.Unlock()
		}})
	bar.done()
	fmt.Fprintf(e.stderr, "grid: shard %s: %d cells, %d finished before, %d run now\n", sh, sum.Cells, sum.Finished, sum.Ran)
	if err != nil && sum.Ran+sum.Finished > 0 {
		fmt.Fprintf(e.stderr, "grid: stopped; finished cells and samples are kept in %s: rerun the same command to resume\n", out)
	}
	return err
}

func gridMerge(e *env, dir, csvPath, jsonPath, mdPath string, partial bool) error {
	t, err := grid.Merge(dir)
	if err != nil {
		return err
	}
	outputs := []struct {
		path  string
		write func(*bytes.Buffer) error
	}{
		{csvPath, func(b *bytes.Buffer) error { return t.WriteCSV(b) }},
		{jsonPath, func(b *bytes.Buffer) error { return t.WriteJSON(b) }},
		{mdPath, func(b *bytes.Buffer) error { return t.WriteMarkdown(b) }},
	}
	for _, o := range outputs {
		if o.path == "" {
			continue
		}
		var b bytes.Buffer
		if err := o.write(&b); err != nil {
			return err
		}
		if err := writeFileAtomic(o.path, b.Bytes()); err != nil {
			return fmt.Errorf("writing %s: %w", o.path, err)
		}
	}
	if csvPath == "" && jsonPath == "" && mdPath == "" {
		if err := t.WriteMarkdown(e.stdout); err != nil {
			return err
		}
	}
	if inc := t.Incomplete(); len(inc) > 0 {
		for _, r := range inc {
			fmt.Fprintf(e.stderr, "grid merge: %s %s/%s-%d: %s (%d of %d samples) %s\n", r.ID, r.Workload, r.Method, r.Budget, r.Status, r.Samples, r.SamplesWanted, r.Detail)
		}
		if !partial {
			return fmt.Errorf("%d of %d cells of %s are not finished (listed above and in the tables); --partial accepts that", len(inc), len(t.Rows), dir)
		}
	}
	return nil
}

func gridPlot(ctx context.Context, e *env, src, outDir string) error {
	var t *grid.Table
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		if cfg, err := taskrun.ReadConfig(src); err == nil {
			// a starc eval run directory, scored with RULER's scorer
			rows, err := taskrun.Collect(src, cfg.Lengths, cfg.RunTasks(), cfg.Cells, score.RULER)
			if err != nil {
				return err
			}
			if t, err = evalRunTable(src, cfg, score.RULER, rows); err != nil {
				return err
			}
		} else if t, err = grid.Merge(src); err != nil {
			return err
		}
	} else {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
			// the rows of `starc sweep --json` or --out
			var rows []eval.SweepRow
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rows); err != nil {
				return fmt.Errorf("%s: not sweep rows: %v", src, err)
			}
			name := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
			t = grid.FromSweep(name, name, rows)
		} else if t, err = grid.ReadTableJSON(bytes.NewReader(data), src); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("--out-dir: %w", err)
	}
	files, err := gridplot.All(ctx, t, outDir)
	for _, f := range files {
		fmt.Fprintf(e.stdout, "%s\n", filepath.Clean(f))
	}
	return err
}

func jsonIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"starc/attention"
	"starc/eval"
)

var sweepCommand = &command{
	name:  "sweep",
	short: "accuracy versus KV budget for several attention methods",
	long: `Sweep runs every --methods at every --budgets through the stream perplexity
protocol on the same text: --prefill tokens (default 1, as STARC's PG-19 run)
are prefilled densely, then each of the next --max-tokens tokens goes through
the decode path. Per run it reports perplexity, top-10 recall and
attention-mass recall against full attention, tokens attended, K rows activated
per layer and KV head (the paper's rule: 16 slots per row, STARC's slots
remapped), tokens served per row and over-fetch. --method and --budget run a
single method or budget (use either the singular or the plural flag).

Every method and budget is checked before the first run. Rows are printed as a
Markdown table (or JSON with --json) as each run finishes; --out rewrites its
JSON file after each run, so an interrupted sweep keeps the finished rows.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dir := modelFlag(fs)
		file := fs.String("f", "", "text `FILE`")
		methods := enumListFlag(fs, "methods", []string{"full", "starc", "quest", "topk"}, attention.Names(), "methods to run")
		budgets := intListFlag(fs, "budgets", []int{128, 256, 512, 1024}, 1, maxCount, "KV budgets (tokens per query head per step)")
		maxTokens := intFlag(fs, "max-tokens", 2048, 1, maxCount, "predictions scored per run")
		prefill := intFlag(fs, "prefill", 1, 1, maxCount, "tokens prefilled densely before scoring starts (STARC's PG-19 run: 1)")
		rowTokens := intFlag(fs, "row-tokens", 16, 1, maxCount, "K (or V) vectors per DRAM row for the row count")
		batch := intFlag(fs, "batch", 0, 0, 64, "runs that decode at once, in lockstep, from one shared prefill (0 = as many as fit in 4 GiB, at most 16; 1 = one run after another); the rows are the same either way, bit for bit")
		asJSON := fs.Bool("json", false, "print JSON instead of Markdown")
		out := outputFlag(fs, "out", "also write the JSON rows to `FILE` (rewritten after every run)")
		af := addAttnFlags(fs, 0)
		fs.Lookup("ctx").Usage = "KV capacity in tokens; 0 = --prefill + --max-tokens (`N` ≥ 0)"
		for _, name := range []string{"kv", "layout", "trace"} {
			fs.Lookup(name).Usage = "not used by sweep, which counts rows itself (--row-tokens)"
		}
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q", args)
			}
			if *file == "" {
				return usagef("-f: a text file is required")
			}
			for _, pair := range [][2]string{{"method", "methods"}, {"budget", "budgets"}} {
				if isSet(fs, pair[0]) && isSet(fs, pair[1]) {
					return usagef("--%s and --%s both given: use one of them", pair[0], pair[1])
				}
			}
			if isSet(fs, "method") {
				*methods = []string{*af.method}
			}
			if isSet(fs, "budget") {
				if *af.budget < 1 {
					return usagef("--budget %d: a sweep needs a positive budget (full attention runs at all tokens anyway)", *af.budget)
				}
				*budgets = []int{*af.budget}
			}
			if *af.ctx > 0 && *af.ctx < *prefill+*maxTokens {
				return usagef("--prefill %d + --max-tokens %d need a context of %d tokens, more than --ctx %d",
					*prefill, *maxTokens, *prefill+*maxTokens, *af.ctx)
			}
			if err := af.check(e.stderr, *methods...); err != nil {
				return err
			}
			if isSet(fs, "kv") || isSet(fs, "trace") {
				return usagef("--kv and --trace are not supported by sweep (it counts rows itself, with --row-tokens)")
			}
			if e.checkOnly {
				return nil
			}
			text, err := os.ReadFile(*file)
			if err != nil {
				return fmt.Errorf("-f: %w", err)
			}
			l, err := loadModel(*dir)
			if err != nil {
				return err
			}
			defer l.close()
			if err := af.checkModel(l); err != nil {
				return err
			}
			capacity := *prefill + *maxTokens
			if *af.ctx > 0 {
				capacity = *af.ctx
			}
			if capacity > l.model.Config.MaxContext() {
				return usagef("--prefill %d + --max-tokens %d exceed the model's context of %d tokens", *prefill, *maxTokens, l.model.Config.MaxContext())
			}
			ids, err := l.encode(ctx, string(text))
			if err != nil {
				return err
			}
			if len(ids) < *prefill+*maxTokens {
				return fmt.Errorf("-f %s has %d tokens, fewer than --prefill %d + --max-tokens %d", *file, len(ids), *prefill, *maxTokens)
			}
			bar := newProgressBar(e.stderr, "sweep")
			var rows []eval.SweepRow
			cfg := eval.SweepConfig{Methods: *methods, Budgets: *budgets, Prefill: *prefill, MaxTokens: *maxTokens,
				Capacity: capacity, Threads: *af.threads, DenseLayers: *af.denseLayers, RowTokens: *rowTokens, Base: af.config(l, capacity),
				Batch: *batch, Progress: bar.update,
				OnRow: func(r eval.SweepRow) error {
					if len(rows) == 0 && !*asJSON {
						eval.WriteSweepMarkdownHeader(e.stdout)
					}
					rows = append(rows, r)
					if !*asJSON {
						if err := eval.WriteSweepMarkdownRow(e.stdout, r); err != nil {
							return err
						}
					}
					return writeSweepOut(*out, rows)
				}}
			if cfg.Batch == 0 {
				cfg.Batch = cfg.BatchFor(4 << 30)
			}
			if err := cfg.Validate(len(ids)); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "sweep: %s, %d runs (methods %s, budgets %v), each %d prefilled + %d scored tokens of %s, %d dense layers\n",
				l.dir, cfg.Runs(), strings.Join(*methods, ","), *budgets, *prefill, *maxTokens, *file, *af.denseLayers)
			_, err = eval.Sweep(ctx, l.model, ids, cfg, bar)
			bar.done()
			if *asJSON && len(rows) > 0 {
				if werr := eval.WriteSweepJSON(e.stdout, rows); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil && len(rows) > 0 {
				kept := "printed above"
				if *out != "" {
					kept += " and in " + *out
				}
				fmt.Fprintf(e.stderr, "sweep: stopped after %d of %d runs; the finished rows are %s\n", len(rows), cfg.Runs(), kept)
			}
			return err
		}
	},
}

// writeSweepOut rewrites the --out file with the rows finished so far.
func writeSweepOut(path string, rows []eval.SweepRow) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := eval.WriteSweepJSON(&buf, rows); err != nil {
		return err
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("--out: writing %s: %w", path, err)
	}
	return nil
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"starc/eval"
	"starc/tokenizer"
)

var sweepCommand = &command{
	name:  "sweep",
	short: "accuracy versus KV budget for several attention methods",
	long: `Sweep runs every --methods at every --budgets through the stream perplexity
protocol on the same text (one-token prefill, then every token through the decode
path) and reports, per run: perplexity, top-10 recall and attention-mass recall
against full attention, tokens attended, K rows activated per layer and KV head
(the paper's rule: 16 slots per row, STARC's slots remapped), tokens served per
row and over-fetch. Rows are printed as a Markdown table; --json and --out
write them machine-readably.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dir := fs.String("m", defaultModelDir, "model `DIR` (HF layout)")
		file := fs.String("f", "", "text `FILE`")
		methods := fs.String("methods", "full,starc,quest,topk", "comma-separated methods")
		budgets := fs.String("budgets", "128,256,512,1024", "comma-separated KV budgets")
		maxTokens := fs.Int("max-tokens", 2048, "predictions scored per run")
		prefill := fs.Int("prefill", 1, "tokens prefilled densely before scoring starts (STARC's PG-19 run: 1)")
		rowTokens := fs.Int("row-tokens", 16, "K (or V) vectors per DRAM row for the row count")
		asJSON := fs.Bool("json", false, "print JSON instead of Markdown")
		out := fs.String("out", "", "also write the JSON rows to `FILE`")
		af := addAttnFlags(fs, 0)
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q", args)
			}
			if *file == "" {
				return usagef("-f: a text file is required")
			}
			var bs []int
			for _, s := range strings.Split(*budgets, ",") {
				b, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || b <= 0 {
					return usagef("--budgets: %q is not a positive token count", s)
				}
				bs = append(bs, b)
			}
			if *maxTokens < 1 || *rowTokens < 1 || *af.threads < 1 {
				return usagef("--max-tokens, --row-tokens and --threads must be positive")
			}
			text, err := os.ReadFile(*file)
			if err != nil {
				return err
			}
			l, err := loadModel(*dir)
			if err != nil {
				return err
			}
			defer l.close()
			ids := l.tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
			if *prefill < 1 {
				return usagef("--prefill %d: want at least 1", *prefill)
			}
			if len(ids) < *prefill+*maxTokens {
				return fmt.Errorf("%s has %d tokens, fewer than --prefill %d + --max-tokens %d", *file, len(ids), *prefill, *maxTokens)
			}
			capacity := *prefill + *maxTokens
			if *af.ctx > 0 {
				capacity = *af.ctx
			}
			base := af.config(l, capacity)
			cfg := eval.SweepConfig{Methods: strings.Split(*methods, ","), Budgets: bs, Prefill: *prefill, MaxTokens: *maxTokens,
				Capacity: capacity, Threads: *af.threads, DenseLayers: *af.denseLayers, RowTokens: *rowTokens, Base: base}
			fmt.Fprintf(e.stderr, "sweep: %s, %d prefilled + %d scored tokens of %s, methods %s, budgets %v, %d dense layers\n",
				l.dir, *prefill, *maxTokens, *file, *methods, bs, *af.denseLayers)
			rows, err := eval.Sweep(ctx, l.model, ids, cfg, e.stderr)
			if err != nil {
				return err
			}
			if *out != "" {
				var buf bytes.Buffer
				if err := eval.WriteSweepJSON(&buf, rows); err != nil {
					return err
				}
				if err := writeFileAtomic(*out, buf.Bytes()); err != nil {
					return fmt.Errorf("writing %s: %w", *out, err)
				}
			}
			if *asJSON {
				return eval.WriteSweepJSON(e.stdout, rows)
			}
			return eval.WriteSweepMarkdown(e.stdout, rows)
		}
	},
}

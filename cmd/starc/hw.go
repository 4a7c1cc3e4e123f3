package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"starc/pim"
	"strings"

	"starc/pim/system"
)

var hwCommand = &command{
	name:  "hw",
	short: "hardware cost of attention on the paper's configurations",
	long: `Hw runs the AttAcc system model (DGX of 8 H100 GPUs, an HBM3-PIM AttAcc per GPU
holding the KV cache, power-limited timing) for one model decoding Lout-1 steps
after an Lin-token prompt, and prints AttAcc's per-token columns (g_time in ms
per decode step of the batch, energies in nJ). PIM attention time comes from
starc's closed-form model of the PIM command schedule.

--budget-table replays a STARC-artifact kv_budget_*.txt table (one KV budget per
decode step); --trace replays the rows a real starc run activated (recorded with
ppl/generate --trace) as such a table. --attacc-compat reproduces AttAcc's
modelling choices (no GQA, its energy bookkeeping, a once-per-run clustering
charge); without it the hardware is modelled as it is (GQA, per-recluster cost).
Models: ` + strings.Join(system.ModelNames(), ", ") + `, or a path to an HF config.json.`,
	args: "",
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		modelName := fs.String("model", "mistral-7b", "model preset or `PATH` to an HF config.json")
		lin := intFlag(fs, "lin", 2048, 0, maxCount, "prompt tokens in the KV cache before the first decode step")
		lout := intFlag(fs, "lout", 2048, 2, maxCount, "AttAcc's Lout: decode steps 1..Lout-1")
		batch := intFlag(fs, "batch", 16, 1, maxCount, "requests decoded together")
		method := enumFlag(fs, "method", "", append([]string{""}, system.MethodNames()...), "attention method (default \"\": full, or the table's method)")
		tableFile := fs.String("budget-table", "", "STARC artifact kv_budget table `FILE` (one budget per decode step)")
		traceFile := fs.String("trace", "", "replay the row activations of a starc access trace `FILE`")
		compat := fs.Bool("attacc-compat", false, "reproduce AttAcc's modelling choices")
		asCSV := fs.Bool("csv", false, "print AttAcc's CSV row")
		asJSON := fs.Bool("json", false, "print the result as JSON")
		steps := fs.Bool("steps", false, "with --csv or --json: include one row per decode step")
		fromLayer := intFlag(fs, "from-layer", 2, 0, maxCount, "with --trace: first layer whose rows count (the sparse layers)")
		padTable := fs.Bool("pad-table", false, "with --budget-table or --trace: reuse the last budget for the steps beyond the table, as the STARC artifact does (without it a table shorter than Lout-1 is refused)")
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q", args)
			}
			if *asCSV && *asJSON {
				return usagef("--csv and --json exclude each other")
			}
			if *steps && !*asCSV && !*asJSON {
				return usagef("--steps needs --csv or --json (the summary has no per-step rows)")
			}
			if *tableFile != "" && *traceFile != "" {
				return usagef("--budget-table and --trace exclude each other")
			}
			if isSet(fs, "from-layer") && *traceFile == "" {
				return usagef("--from-layer applies only with --trace")
			}
			if *padTable && *tableFile == "" && *traceFile == "" {
				return usagef("--pad-table applies only with --budget-table or --trace")
			}
			if e.checkOnly {
				return nil
			}
			m, err := system.LookupModel(*modelName)
			if err != nil {
				return err
			}
			cfg := system.Config{Model: m, Lin: *lin, Lout: *lout, Batch: *batch, Method: *method, AttAccCompat: *compat, PadTable: *padTable}
			switch {
			case *tableFile != "":
				if cfg.BudgetTable, err = system.ReadBudgetTableFile(*tableFile); err != nil {
					return err
				}
				if cfg.Method == "" {
					cfg.Method = system.MethodFromTableName(*tableFile)
				}
			case *traceFile != "":
				if cfg.BudgetTable, err = budgetTableFromTrace(*traceFile, *fromLayer); err != nil {
					return err
				}
				if cfg.Method == "" {
					cfg.Method = "sparse"
				}
			}
			bar := newProgressBar(e.stderr, "hw")
			cfg.Progress = bar.update
			res, err := system.Run(ctx, cfg)
			bar.done()
			if err != nil {
				return err
			}
			switch {
			case *asCSV && *steps:
				return res.WriteStepsCSV(ctx, e.stdout)
			case *asCSV:
				return res.WriteCSV(e.stdout)
			case *asJSON:
				return res.WriteJSON(ctx, e.stdout, *steps)
			}
			return printHW(e.stdout, res)
		}
	},
}

// printHW is the human-readable summary of a run.
func printHW(w io.Writer, r system.Result) error {
	col := func(name string) float64 { v, _ := r.Column(name); return v }
	mode := "hardware as it is (GQA)"
	if r.AttAccCompat {
		mode = "AttAcc-compatible (no GQA)"
	}
	_, err := fmt.Fprintf(w, `%s, method %s, Lin %d, Lout %d, batch %d; %s
PIM capacity %.0f GiB; %d heads per stack in %d round(s); %d distinct attention schedules
per decode step of the batch (all layers):
  time      %10.4f ms   (attention on PIM %.4f, FC %.4f, comm %.4f, other %.4f)
  energy    %10.1f µJ   (attention memory %.1f, attention compute %.1f)
  throughput %9.1f tokens/s
`, r.Model, r.Method, r.Lin, r.Lout, r.Batch, mode, float64(r.CapacityBytes)/(1<<30), r.HeadsPerStack, r.Rounds, r.DistinctR,
		col("g_time (ms)"), col("g_matmul"), col("g_fc"), col("g_comm"), col("g_etc"),
		col("g_energy (nJ)")/1e3, col("g_attn_mem_energy")/1e3, col("g_attn_comp_energy")/1e3, r.Throughput)
	return err
}

// budgetTableFromTrace reads a pim access trace and turns it into a
// kv_budget table over the sparse layers (≥ 2, as STARC and Quest keep
// layers 0 and 1 dense).
func budgetTableFromTrace(path string, fromLayer int) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := pim.ReadTrace(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	table, err := system.BudgetTableFromTrace(t, fromLayer)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return table, nil
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"

	"starc/pim/system"
)

var traceCommand = &command{
	name:  "trace",
	args:  "budget-table TRACE",
	short: "turn an access trace into the STARC artifact's kv_budget table",
	long: `Trace budget-table reads an access trace recorded by ppl or generate --trace and
writes the STARC artifact's kv_budget table format: one integer per decode step,
16 × the mean number of rows read per (layer, KV head) over the sparse layers
(starc.md §4.5). The table can be replayed with starc hw --budget-table.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		fromLayer := intFlag(fs, "from-layer", 2, 0, maxCount, "first layer whose rows count (the sparse layers)")
		out := outputFlag(fs, "out", "write the table to `FILE` instead of stdout")
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) == 0 || args[0] != "budget-table" {
				return usagef("want: trace budget-table TRACE (flags may come before or after)")
			}
			if len(args) != 2 {
				return usagef("budget-table takes one TRACE file, got %d arguments", len(args)-1)
			}
			if e.checkOnly {
				return nil
			}
			table, err := budgetTableFromTrace(args[1], *fromLayer)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := system.WriteBudgetTable(&buf, table); err != nil {
				return err
			}
			if *out == "" {
				_, err = e.stdout.Write(buf.Bytes())
				return err
			}
			if err := writeFileAtomic(*out, buf.Bytes()); err != nil {
				return fmt.Errorf("writing %s: %w", *out, err)
			}
			fmt.Fprintf(e.stderr, "starc trace: wrote %d budgets to %s\n", len(table), *out)
			return nil
		}
	},
}

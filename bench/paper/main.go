// Command paper regenerates the STARC paper's Fig. 11 (normalised per-token
// decode latency and energy of token-wise, STARC and page-wise sparsity
// against full attention; LLaMA-7B, GPT-13B and Mistral-7B at Lout 16K, 24K,
// 32K) from starc's system model (package pim/system, what `starc hw` runs),
// three ways:
//
//	(a) artifact: the STARC artifact's kv_budget tables, AttAcc-compatible
//	    modelling (`starc hw --attacc-compat --budget-table`), i.e. the paper's setup;
//	(b) own:      budget tables from starc's own traces on SmolLM2-135M
//	    (`starc ppl --protocol stream --trace` → `starc trace budget-table`),
//	    same modelling as (a);
//	(c) as-is:    the artifact's tables on the hardware as it is (GQA layout,
//	    the models' own FFNs, `starc hw` without --attacc-compat);
//	(d) own, as-is: the tables of (b) on the hardware of (c): nothing but
//	    starc's own runs and starc's own hardware model;
//	(a′) no-pipe: (a) as AttAcc computes it without --pipeopt (the paper's
//	    command has it), derived from (a)'s columns (see withoutPipeopt).
//
// It writes fig11.md (the table with the paper's values and the deltas in
// percentage points), fig11.csv (every number, long format) and fig11.png /
// fig11.svg. Run from the repository root:
//
//	go run ./bench/paper -attacc ../shared/docs/attacc -own bench/paper/tables/ctx8k -out bench/paper
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"starc/pim/system"
)

// Sources, in the order of the table's columns.
const (
	srcArtifact = "a"
	srcOwn      = "b"
	srcAsIs     = "c"
	srcOwnAsIs  = "d"
	srcNoPipe   = "a'"
)

var sources = []struct{ Key, Label string }{
	{srcArtifact, "(a) artifact tables, AttAcc-compat"},
	{srcNoPipe, "(a′) = (a) without --pipeopt"},
	{srcOwn, "(b) own SmolLM2 tables, AttAcc-compat"},
	{srcAsIs, "(c) artifact tables, hardware as it is (GQA)"},
	{srcOwnAsIs, "(d) own tables, hardware as it is (GQA)"},
}

// point is one bar of the figure from one source: normalised to the full
// attention run of the same source, model and Lout.
type point struct {
	Source, Model, Lout, Method string
	Latency, LatencyAttn        float64 // g_time / full g_time; g_matmul / full g_time
	Energy, EnergyAttn          float64 // g_energy / full; (attn mem + attn comp) / full
	MeanBudget                  float64 // mean table value over the run's steps (0 for full)
}

func main() {
	attaccDir := flag.String("attacc", "../shared/docs/attacc", "`DIR` holding the artifact's kv_budget_<Model>_<Method>.txt tables")
	ownDir := flag.String("own", "bench/paper/tables/ctx8k", "`DIR` holding kv_budget_smollm2_<method>.txt tables from starc traces")
	outDir := flag.String("out", "bench/paper", "output `DIR`")
	flag.Parse()
	if err := run(context.Background(), *attaccDir, *ownDir, *outDir); err != nil {
		fmt.Fprintln(os.Stderr, "paper:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, attaccDir, ownDir, outDir string) error {
	own := map[string][]int{}
	for _, m := range methods {
		t, err := system.ReadBudgetTableFile(filepath.Join(ownDir, "kv_budget_smollm2_"+m.Key+".txt"))
		if err != nil {
			return err
		}
		own[m.Key] = t
	}
	var points []point
	for _, src := range sources {
		for _, mod := range models {
			model, err := system.ModelByName(mod.Preset)
			if err != nil {
				return err
			}
			for _, lo := range louts {
				base := system.Config{Model: model, Lin: 2048, Lout: lo.Lout, Batch: 16, AttAccCompat: src.Key == srcArtifact || src.Key == srcOwn || src.Key == srcNoPipe}
				full, err := system.Run(ctx, base)
				if err != nil {
					return err
				}
				fullCols := full.Columns
				var k0 float64
				if src.Key == srcNoPipe {
					if k0, err = unpipelinedFC(ctx, full, model); err != nil {
						return err
					}
					fullCols = withoutPipeopt(fullCols, k0)
				}
				points = append(points, normalise(src.Key, mod.Label, lo.Label, "full", fullCols, fullCols, 0))
				for _, me := range methods {
					cfg := base
					cfg.Method = me.Key
					if src.Key == srcOwn || src.Key == srcOwnAsIs {
						cfg.BudgetTable = tile(own[me.Key], lo.Lout-1)
					} else {
						path := filepath.Join(attaccDir, "kv_budget_"+mod.Table+"_"+me.Table+".txt")
						if cfg.BudgetTable, err = system.ReadBudgetTableFile(path); err != nil {
							return err
						}
					}
					res, err := system.Run(ctx, cfg)
					if err != nil {
						return fmt.Errorf("%s %s %s %s: %w", src.Key, mod.Label, lo.Label, me.Key, err)
					}
					cols := res.Columns
					if src.Key == srcNoPipe {
						cols = withoutPipeopt(cols, k0)
					}
					points = append(points, normalise(src.Key, mod.Label, lo.Label, me.Key, cols, fullCols,
						mean(cfg.BudgetTable[:lo.Lout-1])))
				}
			}
		}
	}
	if err := writeCSV(filepath.Join(outDir, "fig11.csv"), points); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "fig11.md"), []byte(markdown(points, own)), 0o644); err != nil {
		return err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := drawFigure(points, filepath.Join(outDir, "fig11"+ext)); err != nil {
			return err
		}
	}
	return nil
}

// normalise turns a run's columns into the figure's four numbers.
func normalise(src, model, lout, method string, c, full system.Columns, budget float64) point {
	return point{
		Source: src, Model: model, Lout: lout, Method: method,
		Latency: c.Time / full.Time, LatencyAttn: c.Matmul / full.Time,
		Energy: c.Energy / full.Energy, EnergyAttn: (c.AttnMemEnergy + c.AttnCompEnergy) / full.Energy,
		MeanBudget: budget,
	}
}

// unpipelinedFC returns qkv + proj of one decode step (all layers, ms) before
// AttAcc's --pipeopt adjustment. When a step's attention outlasts qkv + proj,
// --pipeopt scales both by r = GPUs/heads (attacc.md §3.6); the full run's
// last and middle steps (L = 18K to 34K) are such steps, and they must agree.
func unpipelinedFC(ctx context.Context, full system.Result, m system.Model) (float64, error) {
	scale := float64(m.Heads) / float64(system.DGXAttAcc(true).GPUs)
	last, mid := full.Lout-1, full.Lout/2
	var got []float64
	err := full.EachStep(ctx, func(s system.Step) error {
		if s.Step == last || s.Step == mid {
			got = append(got, (s.QKV+s.Proj)*scale)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(got) != 2 || math.Abs(got[0]-got[1]) > 1e-12*got[1] {
		return 0, fmt.Errorf("paper: %s: qkv+proj of steps %d and %d are not both in AttAcc's attention-bound pipeline branch: %v", m.Name, mid, last, got)
	}
	return got[1], nil
}

// withoutPipeopt turns --pipeopt columns into AttAcc's columns without it:
// qkv and proj unadjusted (k0 per step, the same at every step), everything
// else as it was (the link time is scaled the same way with and without it,
// and energy does not depend on it). Checked against the artifact's main.py
// run of LLaMA-7B, Lout 16000, full attention, --ffopt only: g_time
// 1.5210003941 ms (bench/paper/README.md).
func withoutPipeopt(c system.Columns, k0 float64) system.Columns {
	d := k0 - c.QKV - c.Proj
	c.Time += d
	c.FC += d
	c.QKV, c.Proj = math.NaN(), math.NaN() // the split of k0 is not needed
	return c
}

// tile repeats a measured budget sequence to n steps, as the artifact's own
// tables are built (each is an exact tiling of 1812 to 2610 measured steps,
// starc.md §6.1), rather than padding with the last value.
func tile(t []int, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = t[i%len(t)]
	}
	return out
}

func mean(t []int) float64 {
	s := 0.0
	for _, v := range t {
		s += float64(v)
	}
	return s / float64(len(t))
}

func find(points []point, src, model, lout, method string) point {
	for _, p := range points {
		if p.Source == src && p.Model == model && p.Lout == lout && p.Method == method {
			return p
		}
	}
	panic(fmt.Sprintf("paper: no point %s %s %s %s", src, model, lout, method))
}

func writeCSV(path string, points []point) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"source", "model", "lout", "method", "mean_budget", "latency", "latency_attn", "energy", "energy_attn",
		"paper_latency", "paper_latency_attn", "paper_energy", "paper_energy_attn"})
	g := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	for _, p := range points {
		lat, en := paperValues(p.Model, p.Lout, p.Method)
		w.Write([]string{p.Source, p.Model, p.Lout, p.Method, g(p.MeanBudget), g(p.Latency), g(p.LatencyAttn), g(p.Energy), g(p.EnergyAttn),
			g(lat[0]), g(lat[1]), g(en[0]), g(en[1])})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// paperValues returns the paper's (total, attention) latency and energy of a
// bar; full attention is (1, attention share).
func paperValues(model, lout, method string) (lat, en [2]float64) {
	pl, pe := paperLatency[model][lout], paperEnergy[model][lout]
	if method == "full" {
		return [2]float64{1, pl.FullAttn}, [2]float64{1, pe.FullAttn}
	}
	for i, m := range methods {
		if m.Key == method {
			return [2]float64{pl.Total[i], pl.Attn[i]}, [2]float64{pe.Total[i], pe.Attn[i]}
		}
	}
	panic("paper: unknown method " + method)
}

// pp formats a delta in percentage points.
func pp(ours, paper float64) string { return fmt.Sprintf("%+.1f", 100*(ours-paper)) }

func markdown(points []point, own map[string][]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- generated by `go run ./bench/paper`; do not edit -->\n")
	fmt.Fprintf(&b, "# Fig. 11 from starc's system model vs the paper\n\n")
	fmt.Fprintf(&b, "Normalised to full attention = 1.00 per model and Lout (Lin 2048, batch 16, KV budget 1024; DGX 8×H100 + AttAcc HBM3-PIM, power-limited). ")
	fmt.Fprintf(&b, "Paper = ../shared/docs/starc.md §5.6 (bar labels of Fig. 11). Δ = ours − paper in percentage points. Sources:")
	for _, src := range sources {
		fmt.Fprintf(&b, " %s;", src.Label)
	}
	fmt.Fprintf(&b, " see README.md. Full-attention rows give the attention share of the full bar; \"attn\" columns the attention part of each bar.\n\n")
	for _, kind := range []string{"latency", "energy"} {
		fmt.Fprintf(&b, "## %s\n\n", strings.ToUpper(kind[:1])+kind[1:])
		fmt.Fprintf(&b, "| model | Lout | method | paper |")
		for _, src := range sources {
			fmt.Fprintf(&b, " (%s) | Δ(%s) |", src.Key, src.Key)
		}
		fmt.Fprintf(&b, " paper attn |")
		for _, src := range sources {
			fmt.Fprintf(&b, " (%s) attn |", src.Key)
		}
		fmt.Fprintf(&b, "\n|%s\n", strings.Repeat("---|", 4+3*len(sources)+1))
		sumAbs := make([]float64, len(sources))
		var n int
		for _, mod := range models {
			for _, lo := range louts {
				for _, me := range append([]string{"full"}, methodKeys()...) {
					lat, en := paperValues(mod.Label, lo.Label, me)
					ref := lat
					if kind == "energy" {
						ref = en
					}
					fmt.Fprintf(&b, "| %s | %s | %s | %.2f |", mod.Label, lo.Label, methodLabel(me), ref[0])
					var attn []float64
					for i, src := range sources {
						p := find(points, src.Key, mod.Label, lo.Label, me)
						tot, at := p.Latency, p.LatencyAttn
						if kind == "energy" {
							tot, at = p.Energy, p.EnergyAttn
						}
						attn = append(attn, at)
						if me == "full" {
							fmt.Fprintf(&b, " 1.00 | |")
							continue
						}
						sumAbs[i] += math.Abs(tot - ref[0])
						fmt.Fprintf(&b, " %.3f | %s |", tot, pp(tot, ref[0]))
					}
					fmt.Fprintf(&b, " %.2f |", ref[1])
					for _, at := range attn {
						fmt.Fprintf(&b, " %.3f (%s) |", at, pp(at, ref[1]))
					}
					fmt.Fprintf(&b, "\n")
					if me != "full" {
						n++
					}
				}
			}
		}
		fmt.Fprintf(&b, "\nMean |Δ| of the %d sparse totals:", n)
		for i, src := range sources {
			fmt.Fprintf(&b, " (%s) %.1f pp;", src.Key, 100*sumAbs[i]/float64(n))
		}
		fmt.Fprintf(&b, "\n\n")
	}
	fmt.Fprintf(&b, "%s", deltaSummary(points))
	fmt.Fprintf(&b, "## Budget tables (mean KV budget over the 31999 steps of the 32K run)\n\n")
	fmt.Fprintf(&b, "| method | Llama (artifact) | GPT (artifact) | Mistral (artifact) | SmolLM2 (own, %d measured steps, tiled) |\n|---|---|---|---|---|\n", len(own["starc"]))
	for _, me := range methods {
		fmt.Fprintf(&b, "| %s |", methodLabel(me.Key))
		for _, mod := range models {
			fmt.Fprintf(&b, " %.0f |", find(points, srcArtifact, mod.Label, "32K", me.Key).MeanBudget)
		}
		fmt.Fprintf(&b, " %.0f |\n", find(points, srcOwn, models[0].Label, "32K", me.Key).MeanBudget)
	}
	return b.String()
}

// deltaSummary is the range and mean |Δ| (pp) of each source per method over
// the nine (model, Lout) groups; for full attention, of its attention share.
func deltaSummary(points []point) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Δ by method (pp; min … max, mean |Δ| over the 9 model × Lout groups; full = its attention share)\n\n")
	fmt.Fprintf(&b, "| quantity | method |")
	for _, src := range sources {
		fmt.Fprintf(&b, " (%s) |", src.Key)
	}
	fmt.Fprintf(&b, "\n|%s\n", strings.Repeat("---|", 2+len(sources)))
	for _, kind := range []string{"latency", "energy"} {
		for _, me := range append([]string{"full"}, methodKeys()...) {
			fmt.Fprintf(&b, "| %s | %s |", kind, methodLabel(me))
			for _, src := range sources {
				lo, hi, sum, n := math.Inf(1), math.Inf(-1), 0.0, 0
				for _, mod := range models {
					for _, l := range louts {
						p := find(points, src.Key, mod.Label, l.Label, me)
						lat, en := paperValues(mod.Label, l.Label, me)
						got, ref := p.Latency, lat[0]
						if kind == "energy" {
							got, ref = p.Energy, en[0]
						}
						if me == "full" {
							got, ref = p.LatencyAttn, lat[1]
							if kind == "energy" {
								got, ref = p.EnergyAttn, en[1]
							}
						}
						d := 100 * (got - ref)
						lo, hi, sum, n = math.Min(lo, d), math.Max(hi, d), sum+math.Abs(d), n+1
					}
				}
				fmt.Fprintf(&b, " %+.1f … %+.1f, %.1f |", lo, hi, sum/float64(n))
			}
			fmt.Fprintf(&b, "\n")
		}
	}
	fmt.Fprintf(&b, "\n")
	return b.String()
}

func methodKeys() []string {
	var k []string
	for _, m := range methods {
		k = append(k, m.Key)
	}
	return k
}

func methodLabel(key string) string {
	if key == "full" {
		return "full"
	}
	for _, m := range methods {
		if m.Key == key {
			return m.Label
		}
	}
	return key
}

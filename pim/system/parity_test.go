package system

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// attaccReference holds the rows at the end of attacc.md: real AttAcc +
// Ramulator2 runs of Mistral-7B, Lin 2048, Lout 2048, batch 16, bank PIM,
// power limit, --ffopt --pipeopt.
var attaccReference = []struct {
	name  string
	table string // "" for full attention
	want  map[string]float64
}{
	{"full", "", map[string]float64{
		"g_time (ms)": 0.9509853577, "g_matmul": 0.1492020427, "g_fc": 0.3646206396, "g_comm": 0.3466126507,
		"g_etc": 0.09055002473, "g_energy (nJ)": 601515344, "g_dram_energy": 466790472.2,
		"g_fc_mem_energy": 344396314.7, "g_fc_comp_energy": 130849869.7, "g_attn_mem_energy": 115768834.9,
		"g_attn_comp_energy": 2101849.62, "g_etc_mem_energy": 6625322.598, "g_etc_comp_energy": 900737.2698,
		"g_comm_energy": 872415.232,
	}},
	{"quest", "docs/attacc/kv_budget_Mistral_Quest.txt", map[string]float64{
		"g_time (ms)": 0.925312127, "g_matmul": 0.04650912, "g_fc": 0.4416403316, "g_comm": 0.3466126507,
		"g_etc": 0.09055002473, "g_energy (nJ)": 524263133.3, "g_dram_energy": 389538261.6,
		"g_fc_mem_energy": 344396314.7, "g_fc_comp_energy": 130849869.7, "g_attn_mem_energy": 38516624.25,
		"g_attn_comp_energy": 2101849.62, "g_etc_mem_energy": 6625322.598, "g_etc_comp_energy": 900737.2698,
		"g_comm_energy": 872415.232,
	}},
}

func paritySources(t *testing.T) map[string]CyclesFunc {
	return map[string]CyclesFunc{"ramulator": ramulatorCycles(t), "pim-closed-form": nil}
}

func TestSystemParityAttAcc(t *testing.T) {
	if testing.Short() {
		t.Skip("2047 steps against the Ramulator tables")
	}
	model, err := ModelByName("mistral-7b")
	if err != nil {
		t.Fatal(err)
	}
	for srcName, cycles := range paritySources(t) {
		for _, ref := range attaccReference {
			t.Run(srcName+"/"+ref.name, func(t *testing.T) {
				cfg := Config{Model: model, Lin: 2048, Lout: 2048, Batch: 16, AttAccCompat: true, Cycles: cycles}
				if ref.table != "" {
					tab, err := ReadBudgetTableFile(needShared(t, ref.table))
					if err != nil {
						t.Fatal(err)
					}
					cfg.BudgetTable = tab
					cfg.Method = MethodQuest
				}
				res, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				worst, worstName := 0.0, ""
				for name, want := range ref.want {
					got, ok := res.Columns.Column(name)
					if !ok {
						t.Fatalf("no column %q", name)
					}
					rel := math.Abs(got-want) / math.Abs(want)
					tol := 1e-8 // the reference rows are printed to 10 significant digits
					if rel > tol {
						t.Errorf("%s = %.10g, AttAcc %.10g (rel. error %.2e > %.0e)", name, got, want, rel, tol)
					}
					if rel > worst {
						worst, worstName = rel, name
					}
				}
				t.Logf("largest relative error %.3e (%s)", worst, worstName)
			})
		}
	}
}

// readRefmodel reads a testdata file of "name,value" lines written by
// ../shared/docs/attacc/tools/refmodel.py ('#' lines are provenance).
func readRefmodel(t *testing.T, path string) map[string]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, ",")
		v, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil {
			t.Fatalf("%s:%d: malformed line %q", path, i+1, line)
		}
		out[name] = v
	}
	return out
}

// TestAllColumnsAgainstRefmodel compares every g_* column, including those the
// reference rows omit (g_qkv_time, g_l2_energy, ...), with the verified Python
// re-derivation at full double precision.
func TestAllColumnsAgainstRefmodel(t *testing.T) {
	if testing.Short() {
		t.Skip("2047 steps")
	}
	model, _ := ModelByName("mistral-7b")
	tests := []struct {
		name, golden, table string
	}{
		{"full", "testdata/refmodel_mistral_full.csv", ""},
		{"quest", "testdata/refmodel_mistral_quest.csv", "docs/attacc/kv_budget_Mistral_Quest.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := readRefmodel(t, tc.golden)
			if len(want) != len(ColumnNames) {
				t.Fatalf("%s has %d columns, want %d", tc.golden, len(want), len(ColumnNames))
			}
			cfg := Config{Model: model, Lin: 2048, Lout: 2048, Batch: 16, AttAccCompat: true}
			if tc.table != "" {
				tab, err := ReadBudgetTableFile(needShared(t, tc.table))
				if err != nil {
					t.Fatal(err)
				}
				cfg.BudgetTable, cfg.Method = tab, MethodQuest
			}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, name := range ColumnNames {
				got, w := res.Columns.Values()[i], want[name]
				diff := math.Abs(got - w)
				if w != 0 {
					diff /= math.Abs(w)
				}
				worst = math.Max(worst, diff)
				if diff > 1e-11 {
					t.Errorf("%s = %.17g, refmodel %.17g (rel. %.1e)", name, got, w, diff)
				}
			}
			t.Logf("largest relative difference over %d columns: %.1e", len(ColumnNames), worst)
		})
	}
}

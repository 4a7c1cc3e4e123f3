package system

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadBudgetTable(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []int
		wantErr string // substring; "" means no error
	}{
		{"one per line", "1024\n1024\n1539\n", []int{1024, 1024, 1539}, ""},
		{"no final newline", "5\n7", []int{5, 7}, ""},
		{"CRLF and spaces", " 16 \r\n\t32\r\n", []int{16, 32}, ""},
		{"byte order mark", "\uFEFF8\n", []int{8}, ""},
		{"comments and blank lines skipped", "# budget\n\n100\n  # x\n200\n", []int{100, 200}, ""},
		{"empty", "", nil, "no budgets"},
		{"only comments", "# a\n\n", nil, "no budgets"},
		{"word", "100\nabc\n", nil, "t.txt: line 2: field 1: \"abc\" is not an integer"},
		{"float", "1e3\n", nil, "line 1: field 1: \"1e3\" is not an integer"},
		{"two fields", "12 13\n", nil, "line 1: field 1"},
		{"csv second column", "12,13\n", nil, "line 1: field 1"},
		{"zero", "1\n0\n", nil, "line 2: field 1: budget must be 1..8388608 tokens, got 0"},
		{"past any context", "16\n9223372036854775807\n", nil, "line 2: field 1: budget must be 1..8388608 tokens, got 9223372036854775807"},
		{"negative", "-16\n", nil, "line 1: field 1: budget must be 1..8388608 tokens, got -16"},
		{"overflow", "99999999999999999999999\n", nil, "value out of range"},
		{"long line", strings.Repeat("1", maxBudgetLine+10), nil, "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadBudgetTable(strings.NewReader(tc.input), "t.txt")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadBudgetTableFileMissing(t *testing.T) {
	_, err := ReadBudgetTableFile(filepath.Join(t.TempDir(), "nope.txt"))
	if err == nil || !strings.Contains(err.Error(), "nope.txt") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

// artifactTables are the STARC artifact's kv_budget_*.txt files, with the
// statistics starc.md §6.1 reports for them.
var artifactTables = []struct {
	file     string
	min, max int
}{
	{"kv_budget_GPT_Quest.txt", 1024, 1024}, {"kv_budget_Llama_Quest.txt", 1024, 1024}, {"kv_budget_Mistral_Quest.txt", 1024, 1024},
	{"kv_budget_GPT_STARC.txt", 1197, 2073}, {"kv_budget_Llama_STARC.txt", 1226, 1848}, {"kv_budget_Mistral_STARC.txt", 1253, 2014},
	{"kv_budget_GPT_SparQ.txt", 1508, 7965}, {"kv_budget_Llama_SparQ.txt", 1810, 6024}, {"kv_budget_Mistral_SparQ.txt", 1815, 7572},
}

func TestArtifactTablesRead(t *testing.T) {
	for _, tab := range artifactTables {
		t.Run(tab.file, func(t *testing.T) {
			b, err := ReadBudgetTableFile(needShared(t, "docs/attacc/"+tab.file))
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := b[0], b[0]
			for _, v := range b {
				lo, hi = min(lo, v), max(hi, v)
			}
			if len(b) != 32000 || lo != tab.min || hi != tab.max {
				t.Errorf("%d lines, min %d, max %d; starc.md §6.1: 32000 lines, min %d, max %d", len(b), lo, hi, tab.min, tab.max)
			}
		})
	}
}

// TestArtifactTablesRunAtLout32000 runs every artifact table at the paper's
// Lout (31 999 steps: lines 1..31999) and past the table's end (Lout 32500:
// the last value repeats, as the artifact's main.py pads the table).
func TestArtifactTablesRunAtLout32000(t *testing.T) {
	if testing.Short() {
		t.Skip("9 tables × 32 000 steps")
	}
	model, _ := ModelByName("mistral-7b")
	for _, tab := range artifactTables {
		b, err := ReadBudgetTableFile(needShared(t, "docs/attacc/"+tab.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, lout := range []int{32000, 32500} {
			for _, compat := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/lout%d/compat=%v", tab.file, lout, compat), func(t *testing.T) {
					cfg := Config{Model: model, Lin: 2048, Lout: lout, Batch: 16, BudgetTable: b, PadTable: true,
						Method: MethodFromTableName(tab.file), AttAccCompat: compat}
					res, err := Run(context.Background(), cfg)
					if err != nil {
						t.Fatal(err)
					}
					if want := max(0, lout-1-len(b)); res.PaddedSteps != want {
						t.Errorf("%d padded steps, want %d", res.PaddedSteps, want)
					}
					if len(stepsOf(t, res)) != lout-1 {
						t.Fatalf("%d steps, want %d", len(stepsOf(t, res)), lout-1)
					}
					last := stepsOf(t, res)[len(stepsOf(t, res))-1]
					wantBudget := b[min(lout-2, len(b)-1)]
					if last.Budget != wantBudget {
						t.Errorf("last step budget %d, want %d", last.Budget, wantBudget)
					}
					if last.R != (wantBudget+15)/16 || last.EffectiveL != 16*last.R {
						t.Errorf("last step R=%d L_eff=%d for budget %d", last.R, last.EffectiveL, wantBudget)
					}
					if !(res.Columns.Time > 0) || !(res.Columns.Energy > 0) {
						t.Errorf("g_time %g, g_energy %g", res.Columns.Time, res.Columns.Energy)
					}
				})
			}
		}
	}
}

func FuzzBudgetTable(f *testing.F) {
	for _, s := range []string{"1024\n", "# c\n16\n\n32\n", "abc", "-1\n", "0", "1\r\n2\r\n", " 7 \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		got, err := ReadBudgetTable(strings.NewReader(input), "fuzz.txt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "system: budget table fuzz.txt") {
				t.Fatalf("error without file context: %v", err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("nil error with an empty table")
		}
		var b strings.Builder
		for _, v := range got {
			if v <= 0 || v > maxBudget {
				t.Fatalf("accepted budget %d outside 1..maxBudget", v)
			}
			fmt.Fprintf(&b, "%d\n", v)
		}
		again, err := ReadBudgetTable(strings.NewReader(b.String()), "fuzz.txt")
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip: %v, %v vs %v", err, again, got)
		}
	})
}

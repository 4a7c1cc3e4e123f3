package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"starc/internal/testenv"
)

// The two reference rows at the end of ../shared/docs/attacc.md: the real
// AttAcc + Ramulator2 run of the STARC artifact, Mistral-7B, Lin 2048,
// Lout 2048, batch 16, --pim bank --powerlimit --ffopt --pipeopt.
func TestHWReproducesAttAccReferenceRows(t *testing.T) {
	quest := testenv.Shared(t, "docs/attacc/kv_budget_Mistral_Quest.txt")
	cases := []struct {
		name             string
		extra            []string
		gTimeMS, gEnergy float64
	}{
		{"full attention", nil, 0.9509853577, 601515344},
		{"quest budget table", []string{"--budget-table", quest}, 0.925312127, 524263133.3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"hw", "--model", "mistral-7b", "--lin", "2048", "--lout", "2048", "--batch", "16", "--attacc-compat", "--csv"}, tc.extra...)
			code, out, stderr := runStarc(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			get := func(col string) float64 { return csvColumn(t, out, col) }
			for _, c := range []struct {
				col  string
				want float64
			}{{"g_time (ms)", tc.gTimeMS}, {"g_energy (nJ)", tc.gEnergy}} {
				if got := get(c.col); math.Abs(got-c.want)/c.want > 0.01 {
					t.Errorf("%s = %g, AttAcc %g", c.col, got, c.want)
				}
			}
		})
	}
}

func TestHWEveryArtifactTableRunsAt32K(t *testing.T) {
	if testing.Short() {
		t.Skip("nine 32K-step runs skipped in -short")
	}
	dir := testenv.Shared(t, "docs/attacc")
	tables, _ := filepath.Glob(filepath.Join(dir, "kv_budget_*.txt"))
	if len(tables) != 9 {
		t.Fatalf("found %d kv_budget tables, want 9", len(tables))
	}
	pimMS := func(args ...string) float64 {
		t.Helper()
		code, out, stderr := runStarc(t, append([]string{"hw", "--lout", "32000", "--csv"}, args...)...)
		if code != 0 {
			t.Fatalf("starc hw %v: exit %d: %s", args, code, stderr)
		}
		return csvColumn(t, out, "g_matmul")
	}
	full := map[string]float64{}
	for _, table := range tables {
		model := map[string]string{"GPT": "llama-7b", "Llama": "llama-3.1-8b", "Mistral": "mistral-7b"}[strings.Split(filepath.Base(table), "_")[2]]
		if _, ok := full[model]; !ok {
			full[model] = pimMS("--model", model)
		}
		// Every table's budgets (mean 1024-4511 tokens) are far below the
		// 2K-34K contexts of full attention, so its PIM attention time is lower.
		if got := pimMS("--model", model, "--budget-table", table); !(got > 0 && got < full[model]) {
			t.Errorf("%s: PIM attention %.4f ms per step, full attention %.4f ms", filepath.Base(table), got, full[model])
		}
	}
}

// csvColumn reads one column of a starc hw CSV (a header and one row).
func csvColumn(t *testing.T, out, col string) float64 {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("want a header and one row, got %q (%v)", out, err)
	}
	for i, h := range rows[0] {
		if h == col {
			v, err := strconv.ParseFloat(rows[1][i], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no column %q in %v", col, rows[0])
	return 0
}

func TestHWFailureModes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "kv_budget_bad.txt")
	os.WriteFile(bad, []byte("1024\n12x4\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown model", []string{"hw", "--model", "gpt-5"}, 1, "gpt-5"},
		{"malformed budget table", []string{"hw", "--budget-table", bad}, 1, "kv_budget_bad.txt"},
		{"context beyond capacity", []string{"hw", "--lin", "4000000", "--lout", "2"}, 1, "capacity"},
		{"csv and json", []string{"hw", "--csv", "--json"}, 2, "exclude"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runStarc(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d naming %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

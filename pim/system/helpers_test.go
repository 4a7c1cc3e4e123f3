package system

import (
	"context"
	"encoding/csv"
	"os"
	"starc/internal/testenv"
	"strconv"
	"testing"
)

// needShared returns the path of a file under ../shared (see testenv.Shared).
func needShared(t testing.TB, rel string) string { return testenv.Shared(t, rel) }

func readCSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func atoi64(t testing.TB, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// attaccCounts are the per-channel command counts of AttAcc's bank-level trace
// at R rows (attacc.md §5 fact 2, checked there against every Ramulator run).
func attaccCounts(R int) Counts {
	c := int64((R + 15) / 16)
	r := int64(R)
	return Counts{MAC: 4 * r, SFM: 1, MVGB: 8 * c, MVSB: 8*c + 16, WRGB: 8}
}

// ramulatorCycles returns a CyclesFunc reading real Ramulator2 cycle counts:
// per R from ramulator_cycles_by_R_vs_rowmodel.csv, and cycles plus counts per
// L (one stack, 13 heads) from ramulator_full_mistral_13heads.csv, whose
// counts it divides by 13 and checks against attaccCounts.
func ramulatorCycles(t testing.TB) CyclesFunc {
	t.Helper()
	byR := map[int]int64{}
	for _, row := range readCSV(t, needShared(t, "docs/attacc/ramulator_cycles_by_R_vs_rowmodel.csv")) {
		byR[int(atoi64(t, row["R"]))] = atoi64(t, row["ramulator_cycles"])
	}
	for _, row := range readCSV(t, needShared(t, "docs/attacc/ramulator_full_mistral_13heads.csv")) {
		L := int(atoi64(t, row["L"]))
		R := (L + 15) / 16
		cyc := atoi64(t, row["cycle"])
		if old, ok := byR[R]; ok && old != cyc {
			t.Fatalf("Ramulator data disagree at R=%d: %d vs %d cycles", R, old, cyc)
		}
		byR[R] = cyc
		want := attaccCounts(R)
		got := Counts{MAC: atoi64(t, row["mac"]) / 13, SFM: atoi64(t, row["softmax"]) / 13, MVGB: atoi64(t, row["mvgb"]) / 13,
			MVSB: atoi64(t, row["mvsb"]) / 13, WRGB: atoi64(t, row["wrgb"]) / 13}
		if got != want {
			t.Fatalf("L=%d: Ramulator counts/13 %+v, closed-form counts %+v", L, got, want)
		}
	}
	return func(R int) (int64, Counts) {
		c, ok := byR[R]
		if !ok {
			t.Fatalf("no Ramulator cycles for R=%d", R)
		}
		return c, attaccCounts(R)
	}
}

// stepsOf collects a result's per-step rows.
func stepsOf(t testing.TB, res Result) []Step {
	t.Helper()
	var out []Step
	if err := res.EachStep(context.Background(), func(s Step) error { out = append(out, s); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

package pim

import (
	"encoding/csv"
	"os"
	"starc/internal/testenv"
	"strconv"
	"testing"
)

// sharedFile returns a file under ../shared/docs/attacc (see testenv.Shared).
func sharedFile(t *testing.T, name string) string { return testenv.Shared(t, "docs/attacc/"+name) }

func readCSV(t *testing.T, path string) (header map[string]int, rows [][]string) {
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
	header = map[string]int{}
	for i, h := range recs[0] {
		header[h] = i
	}
	return header, recs[1:]
}

func atoi64(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Cycle and command parity with Ramulator2-AttAcc for every context length
// of the Lout-2048 full-attention run (one stack, 13 heads, head dim 128,
// FP16, power limit): the command-level engine and the closed form both
// reproduce memory_system_cycles exactly, and 13 × the per-channel command
// counts reproduce the stack's counts.
func TestCycleParityWithRamulatorFullMistral(t *testing.T) {
	h, rows := readCSV(t, sharedFile(t, "ramulator_full_mistral_13heads.csv"))
	s := HBM3PIM(true)
	type result struct {
		cycles int64
		c      AttentionCommands
	}
	engine := map[int]result{}
	for _, r := range rows {
		L := int(atoi64(t, r[h["L"]]))
		heads := atoi64(t, r[h["nhead"]])
		if r[h["dhead"]] != "128" || r[h["dbyte"]] != "2" || r[h["pim_type"]] != "BA" || r[h["power_constraint"]] != "True" {
			t.Fatalf("L=%d: unexpected configuration %v", L, r)
		}
		R := ceilDiv(L, 16)
		got, ok := engine[R]
		if !ok {
			got.cycles, got.c = SimulateAttention(s, R)
			engine[R] = got
		}
		want := AttentionCommands{
			MAC: atoi64(t, r[h["mac"]]), SFM: atoi64(t, r[h["softmax"]]), MVGB: atoi64(t, r[h["mvgb"]]),
			MVSB: atoi64(t, r[h["mvsb"]]), WRGB: atoi64(t, r[h["wrgb"]]),
		}
		if wc := atoi64(t, r[h["cycle"]]); got.cycles != wc {
			t.Errorf("L=%d (R=%d): engine %d cycles, Ramulator %d", L, R, got.cycles, wc)
		}
		if stack := got.c.Scale(heads); stack != want {
			t.Errorf("L=%d: engine commands ×%d = %+v, Ramulator %+v", L, heads, stack, want)
		}
		cf, cc := ClosedFormAttention(s, R)
		if cf != got.cycles || cc != got.c {
			t.Errorf("L=%d: closed form %d %+v, engine %d %+v", L, cf, cc, got.cycles, got.c)
		}
	}
	if len(engine) == 0 {
		t.Fatal("no rows")
	}
}

// Ramulator cycles for 542 distinct R (64..2128), including refresh-heavy
// steps: the closed form matches every one; the engine too (heavy).
func TestCycleParityWithRamulatorByR(t *testing.T) {
	h, rows := readCSV(t, sharedFile(t, "ramulator_cycles_by_R_vs_rowmodel.csv"))
	s := HBM3PIM(true)
	for i, r := range rows {
		R := int(atoi64(t, r[h["R"]]))
		want := atoi64(t, r[h["ramulator_cycles"]])
		if got, _ := ClosedFormAttention(s, R); got != want {
			t.Errorf("R=%d: closed form %d cycles, Ramulator %d", R, got, want)
		}
		if testing.Short() && i%16 != 0 {
			continue
		}
		if got, _ := SimulateAttention(s, R); got != want {
			t.Errorf("R=%d: engine %d cycles, Ramulator %d", R, got, want)
		}
	}
}

// The closed form equals the command-level engine on regular patterns,
// for both power settings, R = 1..300 (and a sparser sweep to 2200).
func TestClosedFormEqualsEngine(t *testing.T) {
	for _, s := range []Spec{HBM3PIM(true), HBM3PIM(false)} {
		Rs := []int{}
		for R := 1; R <= 300; R++ {
			Rs = append(Rs, R)
		}
		if !testing.Short() {
			for R := 301; R <= 2200; R += 13 {
				Rs = append(Rs, R)
			}
		}
		for _, R := range Rs {
			ce, ne := SimulateAttention(s, R)
			cf, nf := ClosedFormAttention(s, R)
			if ce != cf || ne != nf {
				t.Errorf("%s R=%d: engine %d %+v, closed form %d %+v", s.Name, R, ce, ne, cf, nf)
			}
			if ne != CommandsPerHead(R) {
				t.Errorf("R=%d: engine counts %+v, CommandsPerHead %+v", R, ne, CommandsPerHead(R))
			}
		}
	}
}

// attacc.md §5 item 3: without refresh the closed form reduces to
// 24R + 96·ceil(R/16) − 30 for 64 <= R <= 168 (C <= 33, cycles < nREFI).
func TestClosedFormNoRefreshFormula(t *testing.T) {
	s := HBM3PIM(true)
	for R := 64; R <= 168; R++ {
		want := int64(24*R + 96*ceilDiv(R, 16) - 30)
		if got, _ := ClosedFormAttention(s, R); got != want {
			t.Errorf("R=%d: %d cycles, formula %d", R, got, want)
		}
	}
}

package system

import (
	"context"
	"math"
	"testing"
)

// TestHardwareModeGQA: without AttAccCompat, Mistral-7B's 8 KV heads over 8
// GPUs give one KV head per GPU per request: 16 per AttAcc, 4 per stack, each
// shared by 4 query heads; the qkv projection is (32 + 2·8)·128/8 = 768 wide.
func TestHardwareModeGQA(t *testing.T) {
	model, _ := ModelByName("mistral-7b")
	p, err := Config{Model: model, Lin: 2048, Lout: 2, Batch: 16}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if p.inst != 16 || p.perStack != 4 || p.group != 4 || p.rounds != 1 || p.ioScale != 8 {
		t.Errorf("inst %d perStack %d group %d rounds %d ioScale %g", p.inst, p.perStack, p.group, p.rounds, p.ioScale)
	}
	h := DGXAttAcc(true)
	if got, want := p.fixed.qkv.time, h.gpuFC(16, 768, 4096, 2).time; got != want {
		t.Errorf("qkv time %g, want the 768-wide FC %g", got, want)
	}
	if len(p.fixed.ffs) != 3 {
		t.Errorf("%d FFN matrices, want 3 (gate, up, down)", len(p.fixed.ffs))
	}
	compat, err := Config{Model: model, Lin: 2048, Lout: 2, Batch: 16, AttAccCompat: true}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if compat.inst != 64 || compat.perStack != 13 || compat.group != 1 || len(compat.fixed.ffs) != 2 {
		t.Errorf("compat: inst %d perStack %d group %d ffs %d", compat.inst, compat.perStack, compat.group, len(compat.fixed.ffs))
	}

	// One step at L = 2049 (R = 129): K/V cells read once per KV head instance
	// (16 per AttAcc), the query-side data path once per query head (×4).
	res, err := Run(context.Background(), Config{Model: model, Lin: 2048, Lout: 2, Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	c := attaccCounts(129)
	cell := float64(c.MAC*16) * 32 * 64 * 4.4
	dp := float64((c.MVGB+c.MVSB+c.WRGB)*16*4) * 32
	si := float64(c.WRGB*16*4) * 32
	pimPJ := 8 * (cell + si*0.3*8 + dp*(0.5+1.23+1.01)*8)
	sfmPJ := 2 * 2049 * 64 * 2 * 0.0034 * 8
	want := (pimPJ + sfmPJ) * 32 / 1000
	if got := stepsOf(t, res)[0].AttnMemEnergy; math.Abs(got-want) > 1e-9*want {
		t.Errorf("attention DRAM energy %g nJ, want %g", got, want)
	}
	// Hardware mode reads a quarter of the K/V cells AttAcc charges (64 vs 16 heads, minus
	// AttAcc's 65th head from rounding 13 per stack × 5).
	cres, err := Run(context.Background(), Config{Model: model, Lin: 2048, Lout: 2, Batch: 16, AttAccCompat: true})
	if err != nil {
		t.Fatal(err)
	}
	if stepsOf(t, res)[0].Matmul != stepsOf(t, cres)[0].Matmul {
		t.Errorf("attention time %g vs compat %g: one head per channel either way", stepsOf(t, res)[0].Matmul, stepsOf(t, cres)[0].Matmul)
	}
	if !(stepsOf(t, res)[0].AttnMemEnergy < 0.5*stepsOf(t, cres)[0].AttnMemEnergy) {
		t.Errorf("GQA attention energy %g not well below compat %g", stepsOf(t, res)[0].AttnMemEnergy, stepsOf(t, cres)[0].AttnMemEnergy)
	}
}

// TestRowsGrowWithContext: under full attention R = ceil(L/16) and the PIM
// cycles never fall as the context grows.
func TestRowsGrowWithContext(t *testing.T) {
	model, _ := ModelByName("llama-3.1-8b")
	res, err := Run(context.Background(), Config{Model: model, Lin: 100, Lout: 400, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stepsOf(t, res) {
		if s.R != (s.L+15)/16 || s.EffectiveL != s.L {
			t.Fatalf("step %d: L %d R %d L_eff %d", s.Step, s.L, s.R, s.EffectiveL)
		}
		if i > 0 && s.Cycles < stepsOf(t, res)[i-1].Cycles {
			t.Errorf("step %d: cycles fell from %d to %d", s.Step, stepsOf(t, res)[i-1].Cycles, s.Cycles)
		}
	}
	if res.DistinctR != (499+15)/16-(101+15)/16+1 {
		t.Errorf("DistinctR = %d", res.DistinctR)
	}
}

// TestRoundsAboveSixteenHeadsPerStack: batch 32 puts 26 heads on a stack in
// compat mode, more than its 16 channels: two rounds run one after another.
func TestRoundsAboveSixteenHeadsPerStack(t *testing.T) {
	model, _ := ModelByName("mistral-7b")
	r16, err := Run(context.Background(), Config{Model: model, Lin: 2048, Lout: 2, Batch: 16, AttAccCompat: true})
	if err != nil {
		t.Fatal(err)
	}
	r32, err := Run(context.Background(), Config{Model: model, Lin: 2048, Lout: 2, Batch: 32, AttAccCompat: true})
	if err != nil {
		t.Fatal(err)
	}
	if r32.HeadsPerStack != 26 || r32.Rounds != 2 || stepsOf(t, r32)[0].Cycles != 2*stepsOf(t, r16)[0].Cycles {
		t.Errorf("batch 32: %d heads/stack, %d rounds, %d cycles (batch 16: %d)", r32.HeadsPerStack, r32.Rounds, stepsOf(t, r32)[0].Cycles, stepsOf(t, r16)[0].Cycles)
	}
}

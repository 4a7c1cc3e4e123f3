package system

import (
	"context"
	"math"
	"testing"
)

// attaccGPT13B holds the STARC artifact's own output (simulator_starc/main.py
// @ 30d4ce9, unchanged) for `--system dgx-attacc --gpu H100 --ngpu 8 --model
// GPT-13B --lin 2048 --lout 2048 --batch 16 --pim bank --powerlimit --ffopt
// --pipeopt` (+ `--sparsity --kv_budget_table kv_budget_GPT_Quest.txt`),
// run on this machine with its ramulator.out cache pre-filled: cycles are the
// real Ramulator2 cycles of ../shared/docs/attacc (one stack, same R; GPT-13B
// puts ceil(40/8·16/5) = 16 heads on a stack, one per channel, and the
// channels run in lock-step, so the 13-head cycles hold), command counts
// AttAcc's closed form × 16 heads. Everything else (GPU FC tiling, GELU,
// norms, links, pipelining, FF-parallel, energy, averaging) is the artifact's
// Python. Full precision as output.csv prints it.
var attaccGPT13B = []struct {
	name  string
	table string
	want  map[string]float64
}{
	{"full", "", map[string]float64{
		"g_time (ms)": 1.6851689526338673, "g_matmul": 0.18650255335612964, "g_fc": 0.9497121182023133,
		"g_comm": 0.4349861333333659, "g_etc": 0.11396814774224161, "g_qkv_time": 0.18639974553791488,
		"g_prj_time": 0.07682668292697681, "g_ff_time": 0.6864856897374564, "g2g_comm": 0.4328015999999959,
		"c2g_comm": 0.002184533333333197, "g_act": 0.04161987280190834, "g_lnorm": 0.07234827494033423,
		"g_energy (nJ)": 1206673644.4045513, "g_dram_energy": 919690320.7567563, "g_l2_energy": 111972188.16,
		"g_l1_energy": 65087209.472004324, "g_reg_energy": 40793407.48800418, "g_alu_energy": 67767369.72799756,
		"g_fc_mem_energy": 731044118.5280559, "g_fc_comp_energy": 280901976.06397873,
		"g_attn_mem_energy": 178105916.27671093, "g_attn_comp_energy": 3284140.032,
		"g_etc_mem_energy": 10540285.952000644, "g_etc_comp_energy": 1434058.7519999256, "g_comm_energy": 1363148.8,
	}},
	{"quest", "docs/attacc/kv_budget_GPT_Quest.txt", map[string]float64{
		"g_time (ms)": 1.6594957219626645, "g_matmul": 0.05813639999999951, "g_fc": 1.0524050408872117,
		"g_comm": 0.4349861333333659, "g_etc": 0.11396814774224161, "g_qkv_time": 0.2634194375515934,
		"g_prj_time": 0.10249991359820303, "g_ff_time": 0.6864856897374564, "g2g_comm": 0.4328015999999959,
		"c2g_comm": 0.002184533333333197, "g_act": 0.04161987280190834, "g_lnorm": 0.07234827494033423,
		"g_energy (nJ)": 1087824089.5793774, "g_dram_energy": 800840765.9315796, "g_l2_energy": 111972188.16,
		"g_l1_energy": 65087209.472004324, "g_reg_energy": 40793407.48800418, "g_alu_energy": 67767369.72799756,
		"g_fc_mem_energy": 731044118.5280559, "g_fc_comp_energy": 280901976.06397873,
		"g_attn_mem_energy": 59256361.45152223, "g_attn_comp_energy": 3284140.032,
		"g_etc_mem_energy": 10540285.952000644, "g_etc_comp_energy": 1434058.7519999256, "g_comm_energy": 1363148.8,
	}},
}

// TestGPT13BParityAttAcc: `starc hw --model gpt-13b --attacc-compat` against
// the artifact's main.py, every column it prints.
func TestGPT13BParityAttAcc(t *testing.T) {
	if testing.Short() {
		t.Skip("2047 steps against the Ramulator tables")
	}
	model, err := ModelByName("GPT-13B")
	if err != nil {
		t.Fatal(err)
	}
	for srcName, cycles := range paritySources(t) {
		for _, ref := range attaccGPT13B {
			t.Run(srcName+"/"+ref.name, func(t *testing.T) {
				cfg := Config{Model: model, Lin: 2048, Lout: 2048, Batch: 16, AttAccCompat: true, Cycles: cycles}
				if ref.table != "" {
					tab, err := ReadBudgetTableFile(needShared(t, ref.table))
					if err != nil {
						t.Fatal(err)
					}
					cfg.BudgetTable, cfg.Method = tab, MethodQuest
				}
				res, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				if res.HeadsPerStack != 16 || res.Rounds != 1 {
					t.Errorf("%d heads per stack in %d rounds, want AttAcc's ceil(40/8·16/5) = 16 in 1", res.HeadsPerStack, res.Rounds)
				}
				worst := 0.0
				for name, want := range ref.want {
					got, ok := res.Columns.Column(name)
					if !ok {
						t.Fatalf("no column %q", name)
					}
					rel := math.Abs(got-want) / math.Abs(want)
					worst = math.Max(worst, rel)
					if rel > 1e-10 {
						t.Errorf("%s = %.17g, AttAcc %.17g (rel. error %.2e)", name, got, want, rel)
					}
				}
				t.Logf("largest relative error %.2e over %d columns", worst, len(ref.want))
			})
		}
	}
}

// TestGPT13BLayersByHand checks the per-layer GPU work of GPT-13B against
// counts derived by hand from its shape (h = 5120, 40 heads of 128, FFN 4h,
// 8 GPUs, batch 16), in both modes: MHA and a 2-matrix GELU FFN make the
// hardware as it is and AttAcc's view the same model.
func TestGPT13BLayersByHand(t *testing.T) {
	const (
		b, h, tp = 16, 5120, 8
		hd       = h / tp // 640 columns of q, k, v and the projection per GPU
		ff       = 4 * h / tp
	)
	// MACs per GPU: qkv b·h·3hd, proj b·hd·h, ff1 b·h·ff, ff2 b·ff·h.
	wantMACs := map[string]float64{"qkv": b * h * 3 * hd, "proj": b * hd * h, "ff1": b * h * ff, "ff2": b * ff * h}
	m, err := ModelByName("gpt-13b")
	if err != nil {
		t.Fatal(err)
	}
	for _, compat := range []bool{true, false} {
		p, err := Config{Model: m, Lin: 2048, Lout: 32000, Batch: b, AttAccCompat: compat}.validate()
		if err != nil {
			t.Fatal(err)
		}
		if len(p.fixed.ffs) != 2 {
			t.Fatalf("compat %v: %d FFN matrices, want 2 (GELU)", compat, len(p.fixed.ffs))
		}
		perMAC := p.hw.Energy.ALUPerMAC * float64(p.hw.GPUs)
		got := map[string]float64{
			"qkv": p.fixed.qkv.energy[eALU] / perMAC, "proj": p.fixed.proj.energy[eALU] / perMAC,
			"ff1": p.fixed.ffs[0].energy[eALU] / perMAC, "ff2": p.fixed.ffs[1].energy[eALU] / perMAC,
		}
		for name, want := range wantMACs {
			if math.Abs(got[name]-want) > 1e-6*want {
				t.Errorf("compat %v: %s: %.0f MACs per GPU, want %.0f", compat, name, got[name], want)
			}
		}
		// GELU: 8 FLOP per element of the b × ff activation, no second input.
		if gotF, wantF := 2*p.fixed.act.energy[eALU]/perMAC, 8.0*b*ff; math.Abs(gotF-wantF) > 1e-6*wantF {
			t.Errorf("compat %v: activation %.0f FLOP, want GELU's %.0f", compat, gotF, wantF)
		}
		// Attention: AttAcc puts int(40/8)·16 = 80 heads on an AttAcc; MHA has
		// as many KV heads, so both modes hold 80 instances on 5 stacks.
		if p.inst != 80 || p.perStack != 16 || p.group != 1 || p.headDim != 128 {
			t.Errorf("compat %v: %d instances, %d per stack, group %d, head dim %d; want 80, 16, 1, 128",
				compat, p.inst, p.perStack, p.group, p.headDim)
		}
	}
	// Capacity: K and V of 40 layers × 40 heads × 128 dims × 2 B per token =
	// 819200 B; at the paper's longest run (34047 tokens, batch 16) 446 GB fit
	// in the 640 GiB of PIM; a batch of 26 does not (725 GB).
	if _, err := (Config{Model: m, Lin: 2048, Lout: 32000, Batch: 26}).validate(); err == nil {
		t.Error("batch 26 at 34047 tokens: no capacity error")
	}
}

// TestGPT13BTimeSameInBothModes: for an MHA model with a GELU FFN of 4h the
// two modes build the same GPU layers and the same channel work, so every time
// column agrees; only energy bookkeeping differs.
func TestGPT13BTimeSameInBothModes(t *testing.T) {
	m, _ := ModelByName("gpt-13b")
	var times [2]Columns
	for i, compat := range []bool{true, false} {
		res, err := Run(context.Background(), Config{Model: m, Lin: 2048, Lout: 4096, Batch: 16, AttAccCompat: compat})
		if err != nil {
			t.Fatal(err)
		}
		times[i] = res.Columns
	}
	for _, name := range []string{"g_time (ms)", "g_matmul", "g_fc", "g_comm", "g_etc"} {
		a, _ := times[0].Column(name)
		b, _ := times[1].Column(name)
		if math.Abs(a-b) > 1e-12*a {
			t.Errorf("%s: compat %.12g, as-is %.12g", name, a, b)
		}
	}
}

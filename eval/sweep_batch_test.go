package eval

import (
	"context"
	"math"
	"os"
	"testing"

	"starc/attention"
	"starc/internal/testenv"
	"starc/tokenizer"
)

// Runs decoding in lockstep from one shared prefill give the rows they give
// one after another, each prefilling the text itself (SweepConfig.Batch 0,
// the reference): perplexities, selection quality and row counts exactly
// equal (a batched step computes what Forward computes, bit for bit), for
// every method at budgets that bite, in one batch (as many as fit in
// memory: all 13) and in batches of 5 (three batches, the last partial).
func TestSweepBatchedEqualsOneRunAtATime(t *testing.T) {
	m, tok := stories(t)
	text, err := os.ReadFile(testenv.Shared(t, "data/tinyshakespeare_first20000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true})
	cfg := SweepConfig{Methods: attention.Names(), Budgets: []int{8, 40}, Prefill: 100, MaxTokens: 120, Capacity: 256,
		Threads: 2, DenseLayers: 1, RowTokens: 16, Base: m.AttentionConfig(256)}
	sweep := func(batch int) []SweepRow {
		t.Helper()
		c := cfg
		c.Batch = batch
		rows, err := Sweep(context.Background(), m, ids, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != cfg.Runs() {
			t.Fatalf("%d rows, want %d", len(rows), cfg.Runs())
		}
		return rows
	}
	want := sweep(0)
	for _, batch := range []int{cfg.BatchFor(0), 5} {
		got := sweep(batch)
		for i, w := range want {
			g := got[i]
			if g.Method != w.Method || g.Budget != w.Budget || g.TokensScored != w.TokensScored {
				t.Fatalf("batch %d row %d: %s-%d scored %d, one at a time %s-%d scored %d", batch, i, g.Method, g.Budget, g.TokensScored, w.Method, w.Budget, w.TokensScored)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"ppl", g.PPL, w.PPL}, {"top-10 recall", g.Top10Recall, w.Top10Recall}, {"mass recall", g.MassRecall, w.MassRecall},
				{"tokens per selection", g.TokensPerSel, w.TokensPerSel}, {"rows per head", g.RowsPerHead, w.RowsPerHead},
				{"over-fetch", g.OverFetch, w.OverFetch}, {"rows per read", g.RowsPerRead, w.RowsPerRead},
				{"tokens per row", g.TokensPerRow, w.TokensPerRow}, {"read over-fetch", g.ReadOverFetch, w.ReadOverFetch},
				{"mean context", g.MeanContext, w.MeanContext},
			} {
				if math.Float64bits(f.got) != math.Float64bits(f.want) {
					t.Errorf("batch %d, %s at budget %d: %s %.17g, one at a time %.17g", batch, w.Method, w.Budget, f.name, f.got, f.want)
				}
			}
		}
	}
}

func TestSweepBatchFor(t *testing.T) {
	c := SweepConfig{Base: attention.Config{Layers: 30, KVHeads: 3, HeadDim: 64}, Capacity: 2048}
	perRun := 2 * 46080 * 2048 * 5 / 4 // SmolLM2's float32 K/V bytes at 2048 tokens, × 2.5
	for _, tc := range []struct {
		memory int64
		want   int
	}{{0, maxAutoBatch}, {int64(3*perRun + 1), 3}, {int64(perRun / 2), 1}} {
		if got := c.BatchFor(tc.memory); got != tc.want {
			t.Errorf("BatchFor(%d) = %d, want %d", tc.memory, got, tc.want)
		}
	}
}

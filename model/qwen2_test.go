package model_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"starc/internal/testenv"
	"starc/model"
	"starc/weights"
)

// qwen2GGUFGolden is testdata/qwen2_gguf_golden.json: HF transformers' Qwen2ForCausalLM
// on the Qwen2.5-Coder-0.5B GGUF (its own GGUF reader), with the matrices rounded to bf16
// as starc's converted checkpoint holds them (testdata/gen_qwen2_gguf_golden.py).
type qwen2GGUFGolden struct {
	Generator string `json:"generator"`
	InputIDs  []int  `json:"input_ids"`
	ProbeIDs  []int  `json:"probe_ids"`
	Positions []struct {
		Argmax int       `json:"argmax"`
		Max    float64   `json:"max"`
		LSE    float64   `json:"lse"`
		Probes []float64 `json:"probes"`
	} `json:"positions"`
	Greedy []int `json:"greedy"`
}

// qwen2Tol is the largest logit difference accepted against transformers: the weights
// are identical and both sides compute in float32, so only summation order differs
// (measured: 5e-5 on logits of magnitude 10-30).
const qwen2Tol = 1e-3

// TestQwen2MatchesTransformers runs the converted Qwen2.5-Coder-0.5B-Instruct (q/k/v
// biases, rope base 1e6, GQA 14/2, untied LM head) over a 64-token chat prompt and
// compares every position's logits with transformers', then 16 greedy tokens. The model
// is optional (scripts/setup-model.sh qwen2.5-coder-0.5b): without it the test skips.
func TestQwen2MatchesTransformers(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 0.5B model")
	}
	dir := filepath.Join(testenv.RepoRoot(), "models", "qwen2.5-coder-0.5b")
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Skipf("the optional Qwen2.5 model is missing (run scripts/setup-model.sh qwen2.5-coder-0.5b): %v", err)
	}
	raw, err := os.ReadFile("testdata/qwen2_gguf_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g qwen2GGUFGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Config.QKVBias || m.Layers[0].Bq == nil {
		t.Fatal("the converted Qwen2 model has no q/k/v biases")
	}
	st, err := model.NewState(m, model.StateOptions{MaxTokens: len(g.InputIDs) + len(g.Greedy), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	worst, next := 0.0, -1
	err = m.PrefillEach(st, g.InputIDs, 0, func(i int, logits []float32) {
		want := g.Positions[i]
		lse, best := logSumExp(logits), qwen2Argmax(logits)
		diffs := []float64{math.Abs(lse - want.LSE), math.Abs(float64(logits[best]) - want.Max)}
		for k, id := range g.ProbeIDs {
			diffs = append(diffs, math.Abs(float64(logits[id])-want.Probes[k]))
		}
		d := slices.Max(diffs)
		worst, next = max(worst, d), best
		if d > qwen2Tol || best != want.Argmax && float64(logits[want.Argmax]) < want.Max-qwen2Tol {
			t.Errorf("position %d: argmax %d (%.4f), lse %.4f, probes differ by up to %.4f; transformers argmax %d (%.4f), lse %.4f",
				i, best, logits[best], lse, d, want.Argmax, want.Max, want.LSE)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest logit difference from transformers over %d positions: %.2g", len(g.InputIDs), worst)
	var got []int
	var step1 []float32 // the logits after the first generated token
	for range g.Greedy {
		got = append(got, next)
		logits, err := m.Forward(st, next)
		if err != nil {
			t.Fatal(err)
		}
		if step1 == nil {
			step1 = slices.Clone(logits)
		}
		next = qwen2Argmax(logits)
	}
	if !slices.Equal(got, g.Greedy) {
		t.Errorf("greedy continuation %v, transformers %v", got, g.Greedy)
	}

	// The batched decode step adds the biases too: two sequences in one Batch give
	// Forward's logits for the same step.
	b, err := model.NewBatch(m, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var states []*model.State
	for range 2 {
		s, err := model.NewState(m, model.StateOptions{MaxTokens: len(g.InputIDs) + 1, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := m.Prefill(s, g.InputIDs); err != nil {
			t.Fatal(err)
		}
		states = append(states, s)
	}
	rows, err := b.Forward(states, []int{g.Greedy[0], g.Greedy[0]})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		d := 0.0
		for j := range row {
			d = max(d, math.Abs(float64(row[j]-step1[j])))
		}
		if d > 1e-3 {
			t.Errorf("batch row %d differs from Forward by up to %g", i, d)
		}
	}
}

func qwen2Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func logSumExp(x []float32) float64 {
	top := float64(slices.Max(x))
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - top)
	}
	return top + math.Log(s)
}

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/model/kernels"
	"starc/pim"
	"starc/tokenizer"
)

// The default model answers the README's question sensibly (greedy).
func TestSmolLM2AnswersCapitalOfFrance(t *testing.T) {
	dir := testenv.DefaultModel(t)
	code, out, stderr := runStarc(t, "generate", "-m", dir, "--chat", "-p", "What is the capital of France?", "--temp", "0", "-n", "32", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "Paris") {
		t.Errorf("answer %q does not mention Paris", out)
	}
}

// With the KV cache in the PIM device (FP16 in device rows), SmolLM2 gives
// the same greedy tokens as with the dense float32 cache, logits within
// FP16 storage rounding, and the per-token report shows row activations
// growing with the context under full attention.
func TestSmolLM2DeviceCacheMatchesDense(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2 twice")
	}
	l, err := loadModel(testenv.DefaultModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	text, err := os.ReadFile(testenv.Shared(t, "data/pg174_picture_of_dorian_gray.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids := l.tok.Encode(string(text[:4000]), tokenizer.EncodeOptions{})[:600]
	const capacity = 640
	cfg := l.model.AttentionConfig(capacity)
	device, err := attention.NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
	if err != nil {
		t.Fatal(err)
	}
	run := func(store attention.Store, report func(pos int)) (tokens []int, logits [][]float32) {
		st, err := model.NewState(l.model, model.StateOptions{MaxTokens: capacity, Threads: 2, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		out, err := l.model.Prefill(st, ids[:32])
		if err != nil {
			t.Fatal(err)
		}
		if report != nil {
			report(st.Pos())
		}
		// Teacher-force the text so both runs see the same contexts, and
		// record the greedy choice and the logits at each step.
		for i := 32; i < len(ids); i++ {
			tokens = append(tokens, kernels.Argmax(out))
			logits = append(logits, append([]float32(nil), out...))
			if out, err = l.model.Forward(st, ids[i]); err != nil {
				t.Fatal(err)
			}
			if report != nil {
				report(st.Pos())
			}
		}
		return tokens, logits
	}
	denseTokens, denseLogits := run(nil, nil)
	var rowsAt = map[int]int64{}
	devTokens, devLogits := run(device, func(pos int) { rowsAt[pos] = device.EndStep().RowActivations })
	worst := 0.0
	for i := range denseLogits {
		for j := range denseLogits[i] {
			worst = max(worst, math.Abs(float64(devLogits[i][j]-denseLogits[i][j])))
		}
	}
	t.Logf("max |Δ logit| dense f32 vs device f16 over %d steps: %.4f", len(denseLogits), worst)
	if worst > 0.1 {
		t.Errorf("logits differ by %.4f (> 0.1, beyond FP16 KV rounding)", worst)
	}
	mismatch := 0
	for i := range denseTokens {
		if denseTokens[i] != devTokens[i] {
			mismatch++
		}
	}
	if mismatch > 0 {
		t.Errorf("%d of %d greedy choices differ between the dense and the device cache", mismatch, len(denseTokens))
	}
	// An all-bank activation opens one DRAM row in each of a channel's 16
	// partitions; with head dim 64 a row holds 32 FP16 vectors per
	// partition, so full attention needs one more K (and V) row per 512
	// tokens: never fewer rows as the context grows, more at 600 than at 100.
	for pos := 34; pos <= 600; pos++ {
		if rowsAt[pos] < rowsAt[pos-1] {
			t.Fatalf("row activations fell from %d to %d at context %d", rowsAt[pos-1], rowsAt[pos], pos)
		}
	}
	if !(rowsAt[600] > rowsAt[100]) {
		t.Errorf("row activations at 100/300/600 tokens = %d/%d/%d, want growth with context", rowsAt[100], rowsAt[300], rowsAt[600])
	}
	t.Logf("row activations per token at context 100/300/600: %d/%d/%d", rowsAt[100], rowsAt[300], rowsAt[600])
}

// generate --hw-json writes one row per generated token with the device cost.
func TestGenerateHWJSON(t *testing.T) {
	dir := testenv.DefaultModel(t)
	out := filepath.Join(t.TempDir(), "hw.json")
	code, _, stderr := runStarc(t, "generate", "-m", dir, "-p", "The quick brown fox", "-n", "8", "--hw-json", out, "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &rows); err != nil || len(rows) != 8 {
		t.Fatalf("hw json: %v, %d rows: %s", err, len(rows), data)
	}
	for _, k := range []string{"latency_ns", "energy_pj", "row_activations", "bytes_fetched", "bytes_used"} {
		if v, ok := rows[3][k].(float64); !ok || v <= 0 {
			t.Errorf("row 3 %s = %v", k, rows[3][k])
		}
	}
	if !strings.Contains(stderr, "hw: mean over 7 decode tokens") {
		t.Errorf("no summary in stderr: %s", stderr)
	}
}

package model_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"starc/attention"
	"starc/eval"
	"starc/internal/testenv"
	"starc/model"
	"starc/tokenizer"
	"starc/weights"
	"starc/weights/convert"
)

// The stories260K goldens were produced by llama.cpp (commit c392e50, F32
// KV cache); see ../shared/docs/llamacpp.md.

type storiesGolden struct {
	Greedy struct {
		Prompt       string `json:"prompt"`
		PromptIDs    []int  `json:"prompt_ids"`
		GeneratedIDs []int  `json:"generated_ids"`
	} `json:"greedy_once_upon_a_time"`
	Perplexity struct {
		Input string `json:"input"`
		IDs   []int  `json:"token_ids_with_bos"`
		Runs  []struct {
			NCtx         int     `json:"n_ctx"`
			KV           string  `json:"kv"`
			TokensScored int     `json:"tokens_scored"`
			FinalPPL     float64 `json:"final_ppl"`
		} `json:"runs"`
	} `json:"perplexity"`
}

type storiesLogits struct {
	SequenceIDs []int `json:"sequence_ids"`
	Rows        []struct {
		Pos     int       `json:"pos"`
		InputID int       `json:"input_id"`
		Logits  []float64 `json:"logits"`
	} `json:"rows"`
}

var (
	storiesOnce sync.Once
	storiesDir  string
	storiesErr  error
	tempRoot    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tempRoot != "" {
		os.RemoveAll(tempRoot)
	}
	os.Exit(code)
}

// stories converts the stories260K GGUF (F32) once per test binary and
// loads it.
func stories(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	gguf := testenv.Shared(t, "models/stories260K/stories260K.gguf")
	storiesOnce.Do(func() {
		tempRoot, storiesErr = os.MkdirTemp("", "starc-model-test-")
		if storiesErr != nil {
			return
		}
		storiesDir = filepath.Join(tempRoot, "stories260K")
		_, storiesErr = convert.Convert(context.Background(), gguf, storiesDir, convert.Options{DType: weights.F32})
	})
	if storiesErr != nil {
		t.Fatalf("convert stories260K: %v", storiesErr)
	}
	ckpt, err := weights.OpenCheckpoint(storiesDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(storiesDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func newState(t *testing.T, m *model.Model, capacity, threads int) *model.State {
	t.Helper()
	st, err := model.NewState(m, model.StateOptions{MaxTokens: capacity, Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestStoriesGreedyMatchesLlamaCpp(t *testing.T) {
	m, tok := stories(t)
	var g storiesGolden
	readJSON(t, testenv.Shared(t, "golden/stories260K.json"), &g)
	ids := tok.Encode(g.Greedy.Prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if !slices.Equal(ids, g.Greedy.PromptIDs) {
		t.Fatalf("prompt ids = %v, llama.cpp %v", ids, g.Greedy.PromptIDs)
	}
	for _, threads := range []int{1, 2} {
		st := newState(t, m, 512, threads)
		var got []int
		_, err := model.Generate(context.Background(), m, st, ids, model.GenerateOptions{MaxNew: len(g.Greedy.GeneratedIDs)},
			func(id int) error { got = append(got, id); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, g.Greedy.GeneratedIDs) {
			t.Errorf("threads %d: greedy ids\n got %v\nwant %v", threads, got, g.Greedy.GeneratedIDs)
		}
	}
}

// Rows 0-4 of the golden come from one batched prompt pass and rows 5-67
// from single-token decodes; starc does the same (Prefill, then Forward).
func TestStoriesLogitsMatchLlamaCpp(t *testing.T) {
	m, _ := stories(t)
	var g storiesLogits
	readJSON(t, testenv.Shared(t, "golden/stories260K_logits.json"), &g)
	if len(g.Rows) != 68 || len(g.SequenceIDs) != 69 {
		t.Fatalf("golden has %d rows and %d ids, want 68 and 69", len(g.Rows), len(g.SequenceIDs))
	}
	const tol = 1e-3
	st := newState(t, m, 512, 2)
	worst := 0.0
	check := func(row int, logits []float32) {
		for i, want := range g.Rows[row].Logits {
			d := math.Abs(float64(logits[i]) - want)
			worst = max(worst, d)
			if d > tol {
				t.Fatalf("row %d logit %d = %.6f, llama.cpp %.6f (|Δ| %.2g > %g)", row, i, logits[i], want, d, tol)
			}
		}
	}
	if err := m.PrefillEach(st, g.SequenceIDs[:5], 0, check); err != nil {
		t.Fatal(err)
	}
	for row := 5; row < 68; row++ {
		logits, err := m.Forward(st, g.SequenceIDs[row])
		if err != nil {
			t.Fatal(err)
		}
		check(row, logits)
	}
	t.Logf("max |Δ logit| over 68×512 = %.3g", worst)
}

func TestStoriesPerplexityMatchesLlamaCpp(t *testing.T) {
	if testing.Short() {
		t.Skip("perplexity over 12384 tokens skipped in -short")
	}
	m, tok := stories(t)
	var g storiesGolden
	readJSON(t, testenv.Shared(t, "golden/stories260K.json"), &g)
	text, err := os.ReadFile(testenv.Shared(t, "data/tinyshakespeare_first20000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if !slices.Equal(ids, g.Perplexity.IDs) {
		t.Fatalf("tokenisation differs from llama.cpp (%d vs %d tokens)", len(ids), len(g.Perplexity.IDs))
	}
	st := newState(t, m, 512, 2)
	res, err := eval.ChunkPerplexity(context.Background(), m, st, ids, 1, 512, nil)
	if err != nil {
		t.Fatal(err)
	}
	const want, tol = 101.2667, 0.005 // llama-perplexity -c 512 -ctk f32 -ctv f32
	t.Logf("PPL = %.4f ± %.4f over %d tokens (llama.cpp: 101.2667 ± 4.66102 over 6120)", res.PPL, res.PPLStdErr, res.TokensScored)
	if math.Abs(res.PPL-want) > tol || res.TokensScored != 6120 {
		t.Errorf("PPL = %.4f over %d tokens, llama.cpp %.4f over 6120", res.PPL, res.TokensScored, want)
	}
}

// Prefill (GEMMs, causal attention per block) and Forward (one token at a
// time) compute the same function.
func TestPrefillEqualsForward(t *testing.T) {
	m, _ := stories(t)
	var g storiesLogits
	readJSON(t, testenv.Shared(t, "golden/stories260K_logits.json"), &g)
	ids := g.SequenceIDs[:40]
	batched := newState(t, m, 512, 2)
	var rows [][]float32
	if err := m.PrefillEach(batched, ids, 0, func(_ int, l []float32) { rows = append(rows, append([]float32(nil), l...)) }); err != nil {
		t.Fatal(err)
	}
	single := newState(t, m, 512, 1)
	for i, id := range ids {
		logits, err := m.Forward(single, id)
		if err != nil {
			t.Fatal(err)
		}
		for j := range logits {
			if d := math.Abs(float64(logits[j] - rows[i][j])); d > 1e-4 {
				t.Fatalf("token %d logit %d: forward %.6f, prefill %.6f", i, j, logits[j], rows[i][j])
			}
		}
	}
}

func TestForwardAllocatesNothing(t *testing.T) {
	m, _ := stories(t)
	st := newState(t, m, 512, 2)
	if _, err := m.Prefill(st, []int{1, 403, 407}); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := m.Forward(st, 261); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Forward allocates %.1f times per token, want 0", allocs)
	}
}

func TestContextFullIsAnError(t *testing.T) {
	m, _ := stories(t)
	st := newState(t, m, 8, 1)
	if _, err := m.Prefill(st, make([]int, 9)); err == nil {
		t.Fatal("prefill of 9 tokens into a capacity of 8 succeeded")
	}
	_, err := model.Generate(context.Background(), m, st, []int{1, 2, 3}, model.GenerateOptions{MaxNew: 6},
		func(int) error { return nil })
	if err == nil {
		t.Fatal("3 prompt + 6 new tokens in a capacity of 8 succeeded")
	}
}

// Every method at a budget of at least the context attends to everything,
// so its logits equal full attention's exactly (same tokens, same order),
// STARC's cluster remap included.
func TestSparseMethodsAtFullBudgetEqualFull(t *testing.T) {
	m, _ := stories(t)
	var g storiesLogits
	readJSON(t, testenv.Shared(t, "golden/stories260K_logits.json"), &g)
	ids := g.SequenceIDs
	logitsOf := func(method string) [][]float32 {
		cfg := m.AttentionConfig(128)
		cfg.Budget, cfg.DenseLayers = 128, 2
		meth, err := attention.New(method, cfg)
		if err != nil {
			t.Fatal(err)
		}
		st, err := model.NewState(m, model.StateOptions{MaxTokens: 128, Threads: 2, Method: meth, DenseLayers: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var rows [][]float32
		logits, err := m.Prefill(st, ids[:5])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids[5:] {
			rows = append(rows, append([]float32(nil), logits...))
			if logits, err = m.Forward(st, id); err != nil {
				t.Fatal(err)
			}
		}
		return rows
	}
	want := logitsOf("full")
	for _, method := range attention.Names() {
		got := logitsOf(method)
		for i := range want {
			for j := range want[i] {
				if got[i][j] != want[i][j] {
					t.Fatalf("%s: step %d logit %d = %v, full attention %v", method, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

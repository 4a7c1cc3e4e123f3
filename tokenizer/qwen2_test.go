package tokenizer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"starc/internal/testenv"
)

// qwen2Tokenizer builds the tokenizer.json FromGGUF makes from the Qwen2.5-Coder-0.5B
// GGUF that `scripts/setup-model.sh qwen2.5-coder-0.5b` keeps, or skips: the model is
// optional, so its absence skips even under CI, saying how to get it.
func qwen2Tokenizer(t *testing.T) (*Tokenizer, []byte) {
	t.Helper()
	path := filepath.Join(testenv.RepoRoot(), "models", "qwen2.5-coder-0.5b.gguf")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the optional Qwen2.5 GGUF is missing (run scripts/setup-model.sh qwen2.5-coder-0.5b): %v", err)
	}
	v, err := readGGUFVocab(path)
	if err != nil {
		t.Fatal(err)
	}
	if v.Pre != "qwen2" || v.Model != "gpt2" {
		t.Fatalf("%s: tokenizer %q, pre %q; want gpt2, qwen2", path, v.Model, v.Pre)
	}
	data, err := FromGGUF(v)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse("qwen2.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	return tok, data
}

// TestQwen2MatchesTransformersGGUF compares FromGGUF's Qwen2 tokenizer with the one HF
// transformers builds from the same GGUF (testdata/qwen2_golden.json, written by
// testdata/gen_qwen2_golden.py): every shared text whole, and short texts id by id.
func TestQwen2MatchesTransformersGGUF(t *testing.T) {
	tok, _ := qwen2Tokenizer(t)
	raw, err := os.ReadFile("testdata/qwen2_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			File, Text string
			N          int
			SHA256     string
			First      []int
		}
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, c := range g.Cases {
		name, text := c.File, c.Text
		if name != "" {
			if testing.Short() {
				continue
			}
			data, err := os.ReadFile(testenv.Shared(t, filepath.Join("data", name)))
			if err != nil {
				t.Fatal(err)
			}
			text = string(data)
			files++
		} else {
			name = strconv.Quote(text)
		}
		ids, err := tok.EncodeContext(context.Background(), text, EncodeOptions{ParseSpecial: true})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		strs := make([]string, len(ids))
		for i, id := range ids {
			strs[i] = strconv.Itoa(id)
		}
		sum := sha256.Sum256([]byte(strings.Join(strs, ",")))
		if len(ids) != c.N || hex.EncodeToString(sum[:]) != c.SHA256 || !slices.Equal(ids[:min(len(ids), len(c.First))], c.First) {
			at, got, want := firstDiff(ids, c.First)
			t.Errorf("%s: %d ids, transformers %d (ids equal: %v); first difference in the first %d at %d: %v vs %v",
				name, len(ids), c.N, hex.EncodeToString(sum[:]) == c.SHA256, len(c.First), at, got, want)
		}
	}
	if !testing.Short() && files < 3 {
		t.Errorf("the golden covers %d shared texts, want at least 3", files)
	}
}

// TestQwen2MatchesHF runs HF tokenizers on the tokenizer.json FromGGUF writes for Qwen2
// (NFC, Qwen2's split regex, byte-level BPE, its added tokens) and compares ids on the edge
// cases and, unless -short, every shared text.
func TestQwen2MatchesHF(t *testing.T) {
	tok, data := qwen2Tokenizer(t)
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	texts := slices.Clone(edgeTexts)
	if !testing.Short() {
		texts = append(texts, dataTexts(t)...)
	}
	src := oracleRequest{TokenizerPath: path}
	checkWithOracle(t, []oracleCheck{
		{name: "qwen2 FromGGUF", tok: tok, src: src, texts: texts, opt: EncodeOptions{ParseSpecial: true}},
		{name: "qwen2 FromGGUF", tok: tok, src: src, texts: edgeTexts, opt: EncodeOptions{ParseSpecial: false}},
	})
	// The special tokens of the chat template are single ids.
	for text, want := range map[string][]int{"<|im_start|>": {151644}, "<|im_end|>": {151645}, "<|endoftext|>": {151643}} {
		if got := tok.Encode(text, EncodeOptions{ParseSpecial: true}); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", text, got, want)
		}
	}
}

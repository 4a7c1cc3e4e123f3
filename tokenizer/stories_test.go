package tokenizer

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"starc/internal/testenv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/stories260K.tokenizer.json from the golden vocabulary")

// sharedDir returns ../shared beside the repository (see testenv.Shared).
func sharedDir(t testing.TB) string { return testenv.Shared(t, ".") }

// storiesGolden is the part of shared/golden/stories260K.json these tests use (llama.cpp
// outputs for the stories260K GGUF).
type storiesGolden struct {
	Model struct {
		Metadata map[string]any `json:"metadata"`
		Vocab    struct {
			Tokens    []string  `json:"tokens"`
			Scores    []float32 `json:"scores"`
			TokenType []int32   `json:"token_type"`
		} `json:"vocab"`
	} `json:"model"`
	TokenizerTests struct {
		Cases []struct {
			Text                   string   `json:"text"`
			IDsWithBOS             []int    `json:"ids_with_bos"`
			IDsNoBOS               []int    `json:"ids_no_bos"`
			IDsNoBOSNoParseSpecial []int    `json:"ids_no_bos_no_parse_special"`
			PiecesNoBOS            []string `json:"pieces_no_bos"`
		} `json:"cases"`
	} `json:"tokenizer_tests"`
	Perplexity struct {
		Input           string `json:"input"`
		TokenIDsWithBOS []int  `json:"token_ids_with_bos"`
	} `json:"perplexity"`
}

func loadStoriesGolden(t testing.TB) (*storiesGolden, string) {
	t.Helper()
	dir := sharedDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "golden", "stories260K.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g storiesGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("stories260K.json: %v", err)
	}
	return &g, dir
}

// storiesVocab is the GGUF tokenizer metadata of stories260K.gguf as the golden file records
// it. The file has no add_bos_token/add_space_prefix keys, so llama.cpp's defaults apply.
func storiesVocab(g *storiesGolden) GGUFVocab {
	id := func(key string) int {
		x, ok := g.Model.Metadata[key].(float64)
		if !ok || x >= 1<<31 {
			return -1
		}
		return int(x)
	}
	v := GGUFVocab{
		Model:      g.Model.Metadata["tokenizer.ggml.model"].(string),
		Tokens:     g.Model.Vocab.Tokens,
		Scores:     g.Model.Vocab.Scores,
		TokenTypes: g.Model.Vocab.TokenType,
		BOS:        id("tokenizer.ggml.bos_token_id"),
		EOS:        id("tokenizer.ggml.eos_token_id"),
		UNK:        id("tokenizer.ggml.unknown_token_id"),
		PAD:        id("tokenizer.ggml.padding_token_id"),
	}
	v.AddBOS, v.AddEOS, v.AddSpacePrefix = GGUFDefaults(v.Model)
	return v
}

const storiesJSON = "testdata/stories260K.tokenizer.json"

func storiesTokenizer(t testing.TB) (*Tokenizer, *storiesGolden, string) {
	t.Helper()
	g, dir := loadStoriesGolden(t)
	tok, err := FromGGUFTokenizer(storiesVocab(g))
	if err != nil {
		t.Fatal(err)
	}
	return tok, g, dir
}

// TestStoriesMatchesLlamaCpp checks the SentencePiece path (FromGGUF of a "llama" vocab)
// against llama-tokenize outputs for 20 texts, with and without BOS and special parsing.
func TestStoriesMatchesLlamaCpp(t *testing.T) {
	tok, g, _ := storiesTokenizer(t)
	if len(g.TokenizerTests.Cases) != 20 {
		t.Fatalf("golden has %d tokenizer cases, want 20", len(g.TokenizerTests.Cases))
	}
	for _, c := range g.TokenizerTests.Cases {
		t.Run(c.Text, func(t *testing.T) {
			for _, v := range []struct {
				name string
				opt  EncodeOptions
				want []int
			}{
				{"with_bos", EncodeOptions{AddSpecial: true, ParseSpecial: true}, c.IDsWithBOS},
				{"no_bos", EncodeOptions{ParseSpecial: true}, c.IDsNoBOS},
				{"no_bos_no_parse_special", EncodeOptions{}, c.IDsNoBOSNoParseSpecial},
			} {
				got := tok.Encode(c.Text, v.opt)
				if !slices.Equal(got, v.want) && !(len(got) == 0 && len(v.want) == 0) {
					t.Errorf("%s: Encode(%q) = %v, want %v", v.name, c.Text, got, v.want)
				}
			}
			var pieces []string
			for _, id := range tok.Encode(c.Text, EncodeOptions{ParseSpecial: true}) {
				pieces = append(pieces, tok.Piece(id))
			}
			if !slices.Equal(pieces, c.PiecesNoBOS) && len(c.PiecesNoBOS)+len(pieces) > 0 {
				t.Errorf("pieces = %q, want %q", pieces, c.PiecesNoBOS)
			}
		})
	}
	if id, ok := tok.BOS(); !ok || id != 1 {
		t.Errorf("BOS() = %d, %v; want 1, true", id, ok)
	}
	if id, ok := tok.EOS(); !ok || id != 2 {
		t.Errorf("EOS() = %d, %v; want 2, true", id, ok)
	}
}

// TestStoriesPerplexityInput checks the 12384 ids llama-perplexity fed the model for the
// first 20000 bytes of tinyshakespeare.
func TestStoriesPerplexityInput(t *testing.T) {
	tok, g, dir := storiesTokenizer(t)
	text, err := os.ReadFile(filepath.Join(dir, g.Perplexity.Input))
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Encode(string(text), EncodeOptions{AddSpecial: true, ParseSpecial: true})
	want := g.Perplexity.TokenIDsWithBOS
	if len(want) != 12384 {
		t.Fatalf("golden has %d ids, want 12384", len(want))
	}
	if !slices.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("got %d ids, want %d; first difference at %d: got %v, want %v", len(got), len(want), i,
			got[i:min(i+8, len(got))], want[i:min(i+8, len(want))])
	}
	// The SentencePiece decoder strips the prefix space FromGGUF's normalizer added.
	if dec := tok.Decode(got[1:]); dec != string(text) {
		t.Errorf("Decode(Encode(text)) differs from text")
	}
}

// TestStoriesTokenizerJSONFile keeps testdata/stories260K.tokenizer.json (the fuzz seed and
// the file the oracle test loads) equal to what FromGGUF writes; -update rewrites it.
func TestStoriesTokenizerJSONFile(t *testing.T) {
	g, _ := loadStoriesGolden(t)
	data, err := FromGGUF(storiesVocab(g))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(storiesJSON, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(storiesJSON)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(old, data) {
		t.Errorf("%s is stale; run go test -run TestStoriesTokenizerJSONFile -update", storiesJSON)
	}
}

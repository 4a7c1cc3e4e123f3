package tokenizer

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestFromGGUFSmolLM2EqualsHFFile compares, part by part, the tokenizer.json FromGGUF builds
// from the SmolLM2 GGUF with the one HF ships for the same model.
func TestFromGGUFSmolLM2EqualsHFFile(t *testing.T) {
	orig, err := os.ReadFile(smolTokenizerPath(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := readGGUFVocab(smolGGUFPath(t))
	if err != nil {
		t.Fatal(err)
	}
	built, err := FromGGUF(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(orig, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(built, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"} {
		if !reflect.DeepEqual(got[key], want[key]) {
			g, _ := json.Marshal(got[key])
			w, _ := json.Marshal(want[key])
			t.Errorf("%s: built %.300s\nHF file %.300s", key, g, w)
		}
	}
	gm, wm := got["model"].(map[string]any), want["model"].(map[string]any)
	for _, key := range []string{"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", "byte_fallback", "ignore_merges", "vocab"} {
		if !reflect.DeepEqual(gm[key], wm[key]) {
			t.Errorf("model.%s differs", key)
		}
	}
	pairs := func(list any) []string {
		var out []string
		for _, m := range list.([]any) {
			switch m := m.(type) {
			case string:
				out = append(out, m)
			case []any:
				out = append(out, m[0].(string)+" "+m[1].(string))
			}
		}
		return out
	}
	if g, w := pairs(gm["merges"]), pairs(wm["merges"]); strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("model.merges differ (%d built, %d in the HF file)", len(g), len(w))
	}
}

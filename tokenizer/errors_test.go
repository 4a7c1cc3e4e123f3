package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestUnsupportedComponentsAreNamed checks that every component outside the supported set,
// and every malformed field, is rejected with an error naming it.
func TestUnsupportedComponentsAreNamed(t *testing.T) {
	base, err := os.ReadFile(storiesJSON)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		field string // top-level key to replace ("" = replace the whole file)
		value string
		want  []string // substrings of the error
	}{
		{"Whitespace pre-tokenizer", "pre_tokenizer", `{"type":"Whitespace"}`, []string{`pre_tokenizer: type "Whitespace" not supported`}},
		{"BertPreTokenizer in a Sequence", "pre_tokenizer", `{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"BertPreTokenizer"}]}`,
			[]string{`pre_tokenizer.pretokenizers[1]: type "BertPreTokenizer" not supported`}},
		{"Punctuation pre-tokenizer", "pre_tokenizer", `{"type":"Punctuation","behavior":"Isolated"}`, []string{`"Punctuation" not supported`}},
		{"UnicodeScripts pre-tokenizer", "pre_tokenizer", `{"type":"UnicodeScripts"}`, []string{`"UnicodeScripts" not supported`}},
		{"Split behavior", "pre_tokenizer", `{"type":"Split","pattern":{"String":" "},"behavior":"Sideways","invert":false}`, []string{`behavior "Sideways" not supported`}},
		{"Split bad regex", "pre_tokenizer", `{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated","invert":false}`, []string{`pre_tokenizer.pattern: regex "(unclosed"`}},
		{"Split pattern both forms", "pre_tokenizer", `{"type":"Split","pattern":{"Regex":"a","String":"b"},"behavior":"Isolated","invert":false}`, []string{`pre_tokenizer.pattern: want exactly one of String or Regex`}},
		{"Metaspace prepend scheme", "pre_tokenizer", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"sometimes","split":true}`, []string{`prepend_scheme "sometimes" not supported`}},
		{"Metaspace long replacement", "pre_tokenizer", `{"type":"Metaspace","replacement":"__","prepend_scheme":"always","split":true}`, []string{`replacement "__" must be one character`}},
		{"Lowercase normalizer", "normalizer", `{"type":"Lowercase"}`, []string{`normalizer: type "Lowercase" not supported`}},
		{"BertNormalizer in a Sequence", "normalizer", `{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"BertNormalizer"}]}`, []string{`normalizer.normalizers[1]: type "BertNormalizer" not supported`}},
		{"Strip normalizer", "normalizer", `{"type":"Strip","strip_left":true,"strip_right":true}`, []string{`normalizer: type "Strip" not supported`}},
		{"Precompiled normalizer", "normalizer", `{"type":"Precompiled","precompiled_charsmap":""}`, []string{`"Precompiled" not supported`}},
		{"Prepend without prepend", "normalizer", `{"type":"Prepend"}`, []string{`Prepend: missing field prepend`}},
		{"WordPiece model", "model", `{"type":"WordPiece","vocab":{"a":0}}`, []string{`model: type "WordPiece" not supported`}},
		{"Unigram model", "model", `{"type":"Unigram","vocab":[["a",0.0]]}`, []string{`model: type "Unigram" not supported`}},
		{"WordLevel model", "model", `{"type":"WordLevel","vocab":{"a":0},"unk_token":"a"}`, []string{`model: type "WordLevel" not supported`}},
		{"BPE dropout", "model", `{"type":"BPE","dropout":0.1,"vocab":{"a":0},"merges":[]}`, []string{`model: dropout 0.1 not supported`}},
		{"BPE continuing_subword_prefix", "model", `{"type":"BPE","continuing_subword_prefix":"##","vocab":{"a":0},"merges":[]}`, []string{`continuing_subword_prefix "##" not supported`}},
		{"BPE end_of_word_suffix", "model", `{"type":"BPE","end_of_word_suffix":"</w>","vocab":{"a":0},"merges":[]}`, []string{`end_of_word_suffix "</w>" not supported`}},
		{"BPE merge part not in vocab", "model", `{"type":"BPE","vocab":{"a":0,"ab":1},"merges":["a b"]}`, []string{`model.merges[0]: "a" "b": part not in the vocab`}},
		{"BPE merged token not in vocab", "model", `{"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a","b"]]}`, []string{`model.merges[0]: "a" "b": merged token "ab" not in the vocab`}},
		{"BPE merge without space", "model", `{"type":"BPE","vocab":{"a":0},"merges":["ab"]}`, []string{`model.merges[0]: merge "ab" has no space`}},
		{"BPE merge with three parts", "model", `{"type":"BPE","vocab":{"a":0},"merges":[["a","b","c"]]}`, []string{`model.merges[0]: merge has 3 parts, want 2`}},
		{"BPE unk not in vocab", "model", `{"type":"BPE","unk_token":"<unk>","vocab":{"a":0},"merges":[]}`, []string{`model.unk_token: "<unk>" is not in the vocab`}},
		{"BPE negative id", "model", `{"type":"BPE","vocab":{"a":-3},"merges":[]}`, []string{`model.vocab: token "a" has invalid id -3`}},
		{"BPE id far beyond the vocab", "model", `{"type":"BPE","vocab":{"a":0,"b":99999999},"merges":[]}`, []string{`model.vocab: token "b" has invalid id 99999999`}},
		{"missing model", "model", `null`, []string{`model: missing`}},
		{"RobertaProcessing", "post_processor", `{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0]}`, []string{`post_processor: type "RobertaProcessing" not supported`}},
		{"BertProcessing", "post_processor", `{"type":"BertProcessing","sep":["[SEP]",2],"cls":["[CLS]",0]}`, []string{`"BertProcessing" not supported`}},
		{"template with $B", "post_processor", `{"type":"TemplateProcessing","single":[{"Sequence":{"id":"B","type_id":0}}],"pair":[],"special_tokens":{}}`, []string{`post_processor.single[0]: sequence "B" in a single template not supported`}},
		{"template unknown special", "post_processor", `{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<x>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{}}`, []string{`special token "<x>" missing from special_tokens`}},
		{"template special id out of range", "post_processor", `{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<x>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<x>":{"id":"<x>","ids":[99999],"tokens":["<x>"]}}}`, []string{`special token id 99999 outside the vocabulary`}},
		{"WordPiece decoder", "decoder", `{"type":"WordPiece","prefix":"##","cleanup":true}`, []string{`decoder: type "WordPiece" not supported`}},
		{"CTC decoder in a Sequence", "decoder", `{"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"CTC"}]}`, []string{`decoder.decoders[1]: type "CTC" not supported`}},
		{"decoder without type", "decoder", `{"content":" "}`, []string{`decoder: missing type`}},
		{"Replace decoder with a regex", "decoder", `{"type":"Replace","pattern":{"Regex":"(a+)+$"},"content":" "}`, []string{`decoder.pattern: a Regex pattern in a Replace decoder is not supported`}},
		{"byte order mark", "", "\uFEFF{}", []string{`starts with a UTF-8 byte order mark (bytes EF BB BF)`}},
		{"truncation", "truncation", `{"max_length":512}`, []string{`truncation: not supported`}},
		{"padding", "padding", `{"strategy":"BatchLongest"}`, []string{`padding: not supported`}},
		{"added token without id", "added_tokens", `[{"content":"x","special":true}]`, []string{`added_tokens[0]: missing id`}},
		{"added token empty", "added_tokens", `[{"id":5,"content":"","special":true}]`, []string{`added_tokens[0]: empty content`}},
		{"not JSON", "", `{"model": `, []string{`unexpected end of JSON input`}},
		{"wrong shape", "", `[1,2,3]`, []string{`cannot unmarshal array`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(c.value)
			if c.field != "" {
				var f map[string]json.RawMessage
				if err := json.Unmarshal(base, &f); err != nil {
					t.Fatal(err)
				}
				f[c.field] = json.RawMessage(c.value)
				var err error
				if data, err = json.Marshal(f); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := Parse("tokenizer.json", data)
			if err == nil {
				t.Fatalf("Parse succeeded (vocab %d), want an error", tok.VocabSize())
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "tokenizer: tokenizer.json: ") {
				t.Errorf("error %q does not start with the package and file name", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
				if strings.Contains(w, "not supported") && !errors.Is(err, ErrUnsupported) {
					t.Errorf("error %q does not wrap ErrUnsupported", msg)
				}
			}
		})
	}
}

// TestFromGGUFErrors checks that bad or unsupported GGUF metadata is named in the error.
func TestFromGGUFErrors(t *testing.T) {
	good := func() GGUFVocab {
		return GGUFVocab{Model: "gpt2", Pre: "default", Tokens: []string{"a", "b", "ab"}, TokenTypes: []int32{1, 1, 1},
			Merges: []string{"a b"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	}
	if _, err := FromGGUF(good()); err != nil {
		t.Fatalf("valid vocabulary: %v", err)
	}
	cases := []struct {
		name   string
		change func(v *GGUFVocab)
		want   string
	}{
		{"unknown pre", func(v *GGUFVocab) { v.Pre = "deepseek-llm" }, `tokenizer: gguf: tokenizer.ggml.pre: "deepseek-llm" not supported`},
		{"unknown model", func(v *GGUFVocab) { v.Model = "bert" }, `tokenizer.ggml.model: "bert" not supported`},
		{"no tokens", func(v *GGUFVocab) { v.Tokens = nil }, `tokenizer.ggml.tokens: empty`},
		{"types length", func(v *GGUFVocab) { v.TokenTypes = []int32{1} }, `tokenizer.ggml.token_type: 1 entries for 3 tokens`},
		{"scores length", func(v *GGUFVocab) { v.Model = "llama"; v.Scores = []float32{0} }, `tokenizer.ggml.scores: 1 entries for 3 tokens`},
		{"merge without space", func(v *GGUFVocab) { v.Merges = []string{"ab"} }, `tokenizer.ggml.merges[0]: "ab" has no space`},
		{"merge not in vocab", func(v *GGUFVocab) { v.Merges = []string{"b a"} }, `merged token "ba" not in the vocab`},
		{"bos out of range", func(v *GGUFVocab) { v.BOS = 7 }, `tokenizer.ggml.bos_token_id: 7 outside the 3 tokens`},
		{"add bos without bos", func(v *GGUFVocab) { v.AddBOS = true }, `tokenizer.ggml.bos_token_id: absent but tokenizer.ggml.add_bos_token is set`},
		{"invalid UTF-8 token", func(v *GGUFVocab) { v.Tokens[1] = "\xff" }, `tokenizer.ggml.tokens[1]: invalid UTF-8`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := good()
			c.change(&v)
			_, err := FromGGUFTokenizer(v)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

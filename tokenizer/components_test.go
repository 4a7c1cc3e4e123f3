package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// miniByteLevel builds a small byte-level BPE tokenizer.json (as a JSON object) from the
// first merges of the SmolLM2 tokenizer: the 256 byte characters, the results of those
// merges and SmolLM2's added tokens. Its pipeline parts are then swapped per test case.
func miniByteLevel(t *testing.T, nMerges int) map[string]any {
	t.Helper()
	data, err := os.ReadFile(smolTokenizerPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	model := f["model"].(map[string]any)
	vocab := map[string]int{}
	for _, a := range f["added_tokens"].([]any) {
		a := a.(map[string]any)
		vocab[a["content"].(string)] = int(a["id"].(float64))
	}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = len(vocab)
	}
	var merges []any
	for _, m := range model["merges"].([]any)[:nMerges] {
		var a, b string
		switch m := m.(type) {
		case string:
			a, b, _ = strings.Cut(m, " ")
		case []any:
			a, b = m[0].(string), m[1].(string)
		}
		if _, ok := vocab[a]; !ok {
			continue
		}
		if _, ok := vocab[b]; !ok {
			continue
		}
		if _, ok := vocab[a+b]; !ok {
			vocab[a+b] = len(vocab)
		}
		merges = append(merges, []string{a, b})
	}
	model["vocab"] = vocab
	model["merges"] = merges
	return f
}

// storiesObject returns the stories260K tokenizer.json (an SPM-style byte-fallback BPE).
func storiesObject(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(storiesJSON)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// mustJSON parses a JSON literal used in the tables below.
func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

var componentTexts = append([]string{
	"Hello  world,   this is\ta test.\n\nNew paragraph 42 and 3.14!",
	"  many   spaces   everywhere  ",
	"ab12cd345ef6789 x1 2y",
	"aeiou AEIOU bcdfg",
	"<|im_start|> <|im_start|>x <|im_end|>  y<|im_end|>z",
	"word<|endoftext|>word <|endoftext|> _<|endoftext|>_",
	"ＡＢＣ①②③ ﬁ ½ Å",
	"QQQ ZZZ WWW QQQZZZ",
}, edgeTexts...)

// TestComponentsMatchHF swaps one pipeline part at a time into a small tokenizer and
// compares ids and decoded text with HF tokenizers on the same file.
func TestComponentsMatchHF(t *testing.T) {
	const byteLevelNoRegex = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}`
	seqThenBL := func(p string) string {
		return `{"type":"Sequence","pretokenizers":[` + p + `,` + byteLevelNoRegex + `]}`
	}
	cases := []struct {
		name    string
		base    string // "bytelevel" or "stories"
		set     map[string]string
		setBPE  map[string]any
		addToks string // replaces added_tokens when set
		// noSkipDecode leaves out decoding with SkipSpecial: HF's Strip decoder with stop > 0
		// panics when a decoded text is empty.
		noSkipDecode bool
	}{
		{name: "ByteLevel add_prefix_space", base: "bytelevel", set: map[string]string{
			"pre_tokenizer": `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`}},
		{name: "ByteLevel no regex", base: "bytelevel", set: map[string]string{"pre_tokenizer": byteLevelNoRegex}},
		{name: "Digits then ByteLevel add_prefix_space", base: "bytelevel", set: map[string]string{
			"pre_tokenizer": `{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":false},{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}]}`}},
		{name: "Llama-3 Split + ignore_merges", base: "bytelevel",
			set:    map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"Regex":` + jsonString(llama3Pattern) + `},"behavior":"Isolated","invert":false}`)},
			setBPE: map[string]any{"ignore_merges": true}},
		{name: "Split string Removed", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"String":" "},"behavior":"Removed","invert":false}`)}},
		{name: "Split string Isolated", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"String":" "},"behavior":"Isolated","invert":false}`)}},
		{name: "Split string MergedWithPrevious", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"String":" "},"behavior":"MergedWithPrevious","invert":false}`)}},
		{name: "Split string MergedWithNext", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"String":" "},"behavior":"MergedWithNext","invert":false}`)}},
		{name: "Split string Contiguous", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"String":" "},"behavior":"Contiguous","invert":false}`)}},
		{name: "Split regex Isolated inverted", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"Regex":"\\d+|[aeiou]"},"behavior":"Isolated","invert":true}`)}},
		{name: "Split regex MergedWithNext", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"Regex":"\\d|\\s"},"behavior":"MergedWithNext","invert":false}`)}},
		{name: "Split regex MergedWithPrevious inverted", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"MergedWithPrevious","invert":true}`)}},
		{name: "Split regex Contiguous", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"Regex":"[a-z]"},"behavior":"Contiguous","invert":false}`)}},
		{name: "Split regex Removed", base: "bytelevel", set: map[string]string{"pre_tokenizer": seqThenBL(`{"type":"Split","pattern":{"Regex":"\\p{P}"},"behavior":"Removed","invert":false}`)}},
		{name: "NFKC", base: "bytelevel", set: map[string]string{"normalizer": `{"type":"NFKC"}`}},
		{name: "NFD + Replace regex + Prepend", base: "bytelevel", set: map[string]string{
			"normalizer": `{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "},{"type":"Prepend","prepend":"#"}]}`}},
		{name: "added tokens lstrip rstrip single_word normalized", base: "bytelevel",
			set: map[string]string{"normalizer": `{"type":"NFKC"}`},
			addToks: `[{"id":0,"content":"<|endoftext|>","single_word":true,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
				{"id":1,"content":"<|im_start|>","single_word":false,"lstrip":true,"rstrip":true,"normalized":false,"special":true},
				{"id":2,"content":"<|im_end|>","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":false},
				{"id":3,"content":"ABC","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":false},
				{"id":4,"content":"word","single_word":true,"lstrip":false,"rstrip":false,"normalized":false,"special":false}]`},
		{name: "added token ids reassigned as HF does", base: "stories",
			addToks: addedList(`<unk>:0:special`, `<s>:1:special`, `</s>:2:special`, `QQQ:999:`, `ZZZ:700:special`, `WWW:5:`)},
		{name: "TemplateProcessing BOS+EOS in Sequence", base: "bytelevel", set: map[string]string{
			"post_processor": `{"type":"Sequence","processors":[{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
				{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<|im_start|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"<|im_end|>","type_id":0}}],
				"pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],
				"special_tokens":{"<|im_start|>":{"id":"<|im_start|>","ids":[1],"tokens":["<|im_start|>"]},"<|im_end|>":{"id":"<|im_end|>","ids":[2],"tokens":["<|im_end|>"]}}}]}`}},
		{name: "no decoder", base: "bytelevel", set: map[string]string{"decoder": `null`}},
		{name: "Metaspace always split", base: "stories", set: map[string]string{
			"normalizer":    `null`,
			"pre_tokenizer": `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}`,
			"decoder":       `{"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}]}`}},
		{name: "Metaspace first no split", base: "stories", set: map[string]string{
			"normalizer":    `null`,
			"pre_tokenizer": `{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`,
			"decoder":       `{"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}]}`}},
		{name: "Metaspace never", base: "stories", set: map[string]string{
			"normalizer":    `null`,
			"pre_tokenizer": `{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true}`,
			"decoder":       `{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true}`}},
		{name: "unk without byte fallback, fused", base: "stories", setBPE: map[string]any{"byte_fallback": false, "fuse_unk": true}},
		{name: "unk without byte fallback, not fused", base: "stories", setBPE: map[string]any{"byte_fallback": false, "fuse_unk": false}},
		{name: "Strip both ends", base: "stories", set: map[string]string{
			"decoder": `{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":2,"stop":1}]}`},
			noSkipDecode: true},
	}
	requireOracle(t)
	bl := miniByteLevel(t, 3000)
	var checks []oracleCheck
	for _, c := range cases {
		var f map[string]any
		switch c.base {
		case "bytelevel":
			f = cloneJSON(t, bl)
		default:
			f = storiesObject(t)
		}
		for k, v := range c.set {
			f[k] = mustJSON(t, v)
		}
		for k, v := range c.setBPE {
			f["model"].(map[string]any)[k] = v
		}
		if c.addToks != "" {
			f["added_tokens"] = mustJSON(t, c.addToks)
		}
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := Parse(c.name, data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		src := oracleRequest{TokenizerJSON: string(data)}
		var lists [][]int
		for _, text := range componentTexts {
			// HF's Strip decoder panics on an empty string, so empty lists are left out.
			if ids := tok.Encode(text, EncodeOptions{AddSpecial: true, ParseSpecial: true}); len(ids) > 0 {
				lists = append(lists, ids)
			}
		}
		for _, opt := range allOptions {
			checks = append(checks, oracleCheck{name: c.name, tok: tok, src: src, texts: componentTexts, opt: opt})
		}
		checks = append(checks, oracleCheck{name: c.name + " decode", tok: tok, src: src, decode: lists})
		if !c.noSkipDecode {
			checks = append(checks, oracleCheck{name: c.name + " decode", tok: tok, src: src, decode: lists, skip: true})
		}
	}
	checkWithOracle(t, checks)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func cloneJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// addedList writes an added_tokens array from "content:id:special" entries (flags false).
func addedList(entries ...string) string {
	var parts []string
	for _, e := range entries {
		f := strings.Split(e, ":")
		parts = append(parts, fmt.Sprintf(`{"id":%s,"content":%s,"single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":%v}`,
			f[1], jsonString(f[0]), f[2] == "special"))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

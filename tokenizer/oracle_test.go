package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"starc/internal/testenv"
	"strings"
	"testing"
)

// oracleRequest is the input of testdata/hf_oracle.py, which runs HF `tokenizers`.
type oracleRequest struct {
	TokenizerPath       string   `json:"tokenizer_path,omitempty"`
	TokenizerJSON       string   `json:"tokenizer_json,omitempty"`
	Texts               []string `json:"texts,omitempty"`
	AddSpecialTokens    bool     `json:"add_special_tokens"`
	EncodeSpecialTokens bool     `json:"encode_special_tokens"`
	Decode              [][]int  `json:"decode,omitempty"`
	SkipSpecialTokens   bool     `json:"skip_special_tokens"`
}

type oracleResponse struct {
	Version string   `json:"version"`
	IDs     [][]int  `json:"ids"`
	Decoded []string `json:"decoded"`
}

// requireOracle skips the test when python3 or the tokenizers module is missing (a failure
// under CI, where the oracle must run).
func requireOracle(t testing.TB) {
	t.Helper()
	msg := ""
	if _, err := exec.LookPath("python3"); err != nil {
		msg = "python3 not found"
	} else if out, err := exec.Command("python3", "-c", "import tokenizers").CombinedOutput(); err != nil {
		msg = "python module tokenizers missing (pip install tokenizers): " + strings.TrimSpace(string(out))
	}
	if msg == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// runOracle runs HF tokenizers on a batch of requests in one python process.
func runOracle(t testing.TB, reqs []oracleRequest) []oracleResponse {
	t.Helper()
	requireOracle(t)
	in, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", filepath.Join("testdata", "hf_oracle.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hf_oracle.py: %v\n%s", err, stderr.String())
	}
	var resp struct {
		Responses []oracleResponse `json:"responses"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("hf_oracle.py output: %v", err)
	}
	if len(resp.Responses) != len(reqs) {
		t.Fatalf("hf_oracle.py answered %d requests of %d", len(resp.Responses), len(reqs))
	}
	for i, r := range resp.Responses {
		if len(r.IDs) != len(reqs[i].Texts) || len(r.Decoded) != len(reqs[i].Decode) {
			t.Fatalf("hf_oracle.py request %d: %d encodings and %d decodings for %d and %d", i,
				len(r.IDs), len(r.Decoded), len(reqs[i].Texts), len(reqs[i].Decode))
		}
	}
	return resp.Responses
}

// oracleCheck is one comparison with HF: tok against HF loading src (tokenizer_path or
// tokenizer_json), encoding texts with opt and decoding the id lists decode.
type oracleCheck struct {
	name   string
	tok    *Tokenizer
	src    oracleRequest
	texts  []string
	opt    EncodeOptions
	decode [][]int
	skip   bool // DecodeOptions.SkipSpecial
}

// checkWithOracle runs all checks through one oracle process and reports every mismatch.
func checkWithOracle(t *testing.T, checks []oracleCheck) {
	t.Helper()
	reqs := make([]oracleRequest, len(checks))
	for i, c := range checks {
		r := c.src
		r.Texts = c.texts
		r.AddSpecialTokens = c.opt.AddSpecial
		r.EncodeSpecialTokens = !c.opt.ParseSpecial
		r.Decode = c.decode
		r.SkipSpecialTokens = c.skip
		reqs[i] = r
	}
	resps := runOracle(t, reqs)
	for i, c := range checks {
		for k, text := range c.texts {
			got, want := c.tok.Encode(text, c.opt), resps[i].IDs[k]
			if !slices.Equal(got, want) && len(got)+len(want) > 0 {
				at, g, w := firstDiff(got, want)
				t.Errorf("%s: %+v: Encode(%.60q): %d ids, HF %d; first difference at %d: %v vs HF %v",
					c.name, c.opt, text, len(got), len(want), at, g, w)
			}
		}
		for k, ids := range c.decode {
			got, want := c.tok.DecodeWith(ids, DecodeOptions{SkipSpecial: c.skip}), resps[i].Decoded[k]
			if got != want {
				t.Errorf("%s: SkipSpecial=%v: Decode(%.20v) = %.60q, HF %.60q", c.name, c.skip, ids, got, want)
			}
		}
	}
}

// allOptions lists the four EncodeOptions combinations.
var allOptions = []EncodeOptions{
	{AddSpecial: false, ParseSpecial: true},
	{AddSpecial: false, ParseSpecial: false},
	{AddSpecial: true, ParseSpecial: true},
	{AddSpecial: true, ParseSpecial: false},
}

// edgeTexts are the hard cases every tokenizer is compared on.
var edgeTexts = []string{
	"",
	" ",
	"   ",
	"\t",
	"\n",
	"\n\n\n",
	"a  b   c    d",
	"trailing spaces   ",
	"   leading spaces",
	"tabs\tand\t\ttabs",
	"line1\nline2\r\nline3\rline4",
	"CRLF\r\n\r\nend",
	" \n \t \r\n x",
	"12345 3.14159 1,000,000 0x1F 2024-01-02",
	"0123456789012345678901234567890",
	"I'm you're we've they'll she'd it's don't CAN'T Y'ALL 'quoted'",
	"Hello, world! How's it going?",
	"🙂 emoji 👍🏽 thumbs",
	"👨‍👩‍👧‍👦 family ZWJ 🏳️‍🌈 flag",
	"日本語のテキストです。中文文本。한국어 텍스트.",
	"café naïve résumé Ångström Ελληνικά Русский текст",
	"e\u0301 combining vs é precomposed; ﬁ ligature; Ｆｕｌｌ width",
	"<|im_start|>user\nhi<|im_end|>",
	"<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
	"<|endoftext|><|endoftext|>x<|im_end|>",
	"a<s>b</s> <unk> <s>",
	"mixed العربية עברית हिन्दी ไทย text",
	"nbsp\u00a0here\u3000ideographic\u2028line\u2029para\u0085nel",
	"\u200b\u200czero width\ufeffbom",
	"replacement \ufffd char",
	"<0x41> <0xFF> looks like a byte token",
	"Pneumonoultramicroscopicsilicovolcanoconiosis" + strings.Repeat("abcdefghij", 40),
	strings.Repeat("a", 1000),
	strings.Repeat("!?", 300),
	"code: func main() { fmt.Println(\"hi\") }\n\tif x != nil {\n\t\treturn\n\t}",
	"    indented    code\n        more",
	"$100.00 & 50% off #hashtag @mention ~tilde `backtick` ^caret",
}

// dataTexts returns the whole contents of every file in shared/data.
func dataTexts(t testing.TB) []string {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "data")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(data))
	}
	if len(texts) == 0 {
		t.Fatalf("%s is empty", dir)
	}
	return texts
}

// smolGGUFPath finds the SmolLM2 GGUF that scripts/setup-model.sh keeps
// (or $STARC_SMOLLM2_GGUF). Under CI a missing file fails the test.
func smolGGUFPath(t testing.TB) string {
	t.Helper()
	return testenv.DefaultGGUF(t)
}

func smolTokenizerPath(t testing.TB) string {
	return filepath.Join(sharedDir(t), "models", "smollm2-135m-instruct", "tokenizer.json")
}

// firstDiff describes where two id lists part.
func firstDiff(got, want []int) (int, []int, []int) {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return i, got[i:min(i+8, len(got))], want[i:min(i+8, len(want))]
}

// TestSmolLM2MatchesHF compares the shared SmolLM2 tokenizer.json, and the tokenizer.json
// FromGGUF builds from the SmolLM2 GGUF, with HF tokenizers on the original file (whole
// shared/data files unless -short, and the edge cases), and checks that HF reads the
// generated file the same way.
func TestSmolLM2MatchesHF(t *testing.T) {
	path := smolTokenizerPath(t)
	texts := slices.Clone(edgeTexts)
	if !testing.Short() {
		texts = append(texts, dataTexts(t)...)
	}
	hf := oracleRequest{TokenizerPath: path}
	orig, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := readGGUFVocab(smolGGUFPath(t))
	if err != nil {
		t.Fatal(err)
	}
	data, err := FromGGUF(v)
	if err != nil {
		t.Fatal(err)
	}
	fromGGUF, err := Parse("smollm2.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	var checks []oracleCheck
	for _, opt := range allOptions {
		tx := edgeTexts
		if !opt.AddSpecial {
			tx = texts // no post-processor: AddSpecial changes nothing, so books once per ParseSpecial
		}
		checks = append(checks,
			oracleCheck{name: "tokenizer.json", tok: orig, src: hf, texts: tx, opt: opt},
			oracleCheck{name: "FromGGUF", tok: fromGGUF, src: hf, texts: tx, opt: opt},
			oracleCheck{name: "FromGGUF under HF", tok: fromGGUF, src: oracleRequest{TokenizerJSON: string(data)}, texts: edgeTexts, opt: opt},
		)
	}
	checkWithOracle(t, checks)

	gt, err := FromGGUFTokenizer(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		tok      *Tokenizer
		bos, eos int
	}{
		{"tokenizer_config.json", orig, 1, 2},
		{"GGUF ids", gt, 1, 2},
	} {
		if id, ok := c.tok.BOS(); !ok || id != c.bos {
			t.Errorf("%s: BOS() = %d, %v; want %d (<|im_start|>)", c.name, id, ok, c.bos)
		}
		if id, ok := c.tok.EOS(); !ok || id != c.eos {
			t.Errorf("%s: EOS() = %d, %v; want %d (<|im_end|>)", c.name, id, ok, c.eos)
		}
	}
	if got := orig.VocabSize(); got != 49152 {
		t.Errorf("VocabSize() = %d, want 49152", got)
	}
}

// TestSmolLM2DecodeMatchesHF checks Decode against HF decode, including id lists that cut
// characters apart (lossy U+FFFD handling) and special tokens, and checks the byte-level
// round trip Decode(Encode(x)) == x.
func TestSmolLM2DecodeMatchesHF(t *testing.T) {
	path := smolTokenizerPath(t)
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	texts := slices.Clone(edgeTexts)
	if !testing.Short() {
		texts = append(texts, dataTexts(t)...)
	}
	var lists [][]int
	for _, text := range texts {
		ids := tok.Encode(text, EncodeOptions{ParseSpecial: true})
		if got := tok.Decode(ids); got != text {
			at := 0
			for at < len(got) && at < len(text) && got[at] == text[at] {
				at++
			}
			t.Errorf("Decode(Encode(%.40q)) differs at byte %d", text, at)
		}
		lists = append(lists, ids)
	}
	emoji := tok.Encode("👨‍👩‍👧 日本", EncodeOptions{})
	for cut := 1; cut < len(emoji); cut++ {
		lists = append(lists, emoji[:cut], emoji[cut:])
	}
	lists = append(lists, []int{0, 1, 2, 49151, 17, 250, 251}, []int{}, []int{130, 130, 130}, []int{-1, 1 << 20, 5})
	hf := oracleRequest{TokenizerPath: path}
	lists = slices.DeleteFunc(lists, func(ids []int) bool {
		return slices.ContainsFunc(ids, func(id int) bool { return id < 0 || id >= 49152 })
	})
	checkWithOracle(t, []oracleCheck{
		{name: "keep special", tok: tok, src: hf, decode: lists},
		{name: "skip special", tok: tok, src: hf, decode: lists, skip: true},
	})
}

// TestStoriesMatchesHF checks the stories260K tokenizer.json FromGGUF wrote against HF on
// it, for texts beyond the llama.cpp goldens.
func TestStoriesMatchesHF(t *testing.T) {
	data, err := os.ReadFile(storiesJSON)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(storiesJSON, data)
	if err != nil {
		t.Fatal(err)
	}
	hf := oracleRequest{TokenizerPath: storiesJSON}
	var lists [][]int
	for _, text := range edgeTexts {
		lists = append(lists, tok.Encode(text, EncodeOptions{AddSpecial: true, ParseSpecial: true}))
	}
	lists = append(lists, []int{233, 154}, []int{410, 233, 154, 168, 233}, []int{0, 1, 2, 3, 300})
	var checks []oracleCheck
	for _, opt := range allOptions {
		checks = append(checks, oracleCheck{name: "stories", tok: tok, src: hf, texts: edgeTexts, opt: opt})
	}
	checks = append(checks,
		oracleCheck{name: "stories decode", tok: tok, src: hf, decode: lists},
		oracleCheck{name: "stories decode", tok: tok, src: hf, decode: lists, skip: true})
	checkWithOracle(t, checks)
}

// TestStoriesJSONUnderHFMatchesLlamaCpp checks the file FromGGUF wrote, read by HF
// tokenizers itself, against the llama.cpp goldens: the conversion is right independently
// of this package's encoder.
func TestStoriesJSONUnderHFMatchesLlamaCpp(t *testing.T) {
	g, _ := loadStoriesGolden(t)
	var texts []string
	for _, c := range g.TokenizerTests.Cases {
		texts = append(texts, c.Text)
	}
	src := oracleRequest{TokenizerPath: storiesJSON}
	with := src
	with.Texts, with.AddSpecialTokens = texts, true
	without := src
	without.Texts = texts
	noParse := without
	noParse.EncodeSpecialTokens = true
	resp := runOracle(t, []oracleRequest{with, without, noParse})
	for i, c := range g.TokenizerTests.Cases {
		for k, want := range [][]int{c.IDsWithBOS, c.IDsNoBOS, c.IDsNoBOSNoParseSpecial} {
			if got := resp[k].IDs[i]; !slices.Equal(got, want) && len(got)+len(want) > 0 {
				t.Errorf("HF request %d, text %q: %v, llama.cpp %v", k, c.Text, got, want)
			}
		}
	}
}

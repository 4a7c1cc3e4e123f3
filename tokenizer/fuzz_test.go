package tokenizer

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// FuzzParse feeds arbitrary bytes to the tokenizer.json parser: it must return an error or
// a tokenizer that encodes and decodes without panicking. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(storiesJSON); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Parse("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: fuzz.json: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		for _, text := range []string{"", "Hello world <s> 12 🙂", "  \n\t x"} {
			for _, opt := range allOptions {
				ids := tok.Encode(text, opt)
				for _, id := range ids {
					if id < 0 || id >= tok.VocabSize() {
						t.Fatalf("Encode(%q) gave id %d outside [0, %d)", text, id, tok.VocabSize())
					}
				}
				if s := tok.Decode(ids); !utf8.ValidString(s) {
					t.Fatalf("Decode gave invalid UTF-8 %q", s)
				}
			}
		}
	})
}

// FuzzEncode runs random text through the stories260K tokenizer: Encode must not panic and
// Decode(Encode(s)) must give s back, up to what the SentencePiece pipeline cannot keep:
// invalid UTF-8 becomes U+FFFD and a literal "▁" decodes as a space.
func FuzzEncode(f *testing.F) {
	for _, s := range append(streamTexts, edgeTexts...) {
		f.Add(s)
	}
	f.Add("\xff\xfe broken \xe6\x97 utf8")
	tok := loadStoriesFile(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, EncodeOptions{})
		for _, id := range ids {
			if id < 3 || id >= tok.VocabSize() {
				t.Fatalf("Encode(%q) gave id %d (special or out of range)", s, id)
			}
		}
		want := strings.ReplaceAll(lossyText(s), "▁", " ")
		if got := tok.Decode(ids); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
		withSpecial := tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true})
		if len(withSpecial) == 0 || withSpecial[0] != 1 {
			t.Fatalf("Encode(%q) with AddSpecial does not start with BOS: %v", s, withSpecial)
		}
	})
}

// gpt2Regex is the GPT-2 pattern gpt2Split implements by hand.
const gpt2Regex = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// FuzzGPT2Split checks the hand-written GPT-2 splitter against the regex engine.
func FuzzGPT2Split(f *testing.F) {
	for _, s := range edgeTexts {
		f.Add(s)
	}
	re := &regexPattern{re: regexp2.MustCompile(gpt2Regex, regexp2.Unicode), expr: gpt2Regex}
	f.Fuzz(func(t *testing.T, s string) {
		s = lossyText(s)
		got := gpt2Split(s, nil)
		want := re.findMatches(s, nil)
		if len(got) != len(want) {
			t.Fatalf("gpt2Split(%q): %d pieces, regex %d: %v vs %v", s, len(got), len(want), got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("gpt2Split(%q) piece %d = %v, regex %v", s, i, got[i], want[i])
			}
		}
	})
}

// TestGPT2SplitMatchesRegex runs the splitter comparison on whole books.
func TestGPT2SplitMatchesRegex(t *testing.T) {
	texts := slices.Clone(edgeTexts)
	if !testing.Short() {
		texts = append(texts, dataTexts(t)...)
	}
	re := &regexPattern{re: regexp2.MustCompile(gpt2Regex, regexp2.Unicode), expr: gpt2Regex}
	for _, s := range texts {
		got, want := gpt2Split(s, nil), re.findMatches(s, nil)
		if !slices.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("gpt2Split(%.40q) differs from the regex at piece %d", s, i)
		}
	}
}

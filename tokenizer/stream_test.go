package tokenizer

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// loadStoriesFile parses testdata/stories260K.tokenizer.json (no shared data needed).
func loadStoriesFile(t testing.TB) *Tokenizer {
	t.Helper()
	data, err := os.ReadFile(storiesJSON)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(storiesJSON, data)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var streamTexts = []string{
	"Once upon a time, there was a little girl named Lily.",
	"🙂 emoji 👍🏽 and 👨‍👩‍👧‍👦 family",
	"日本語のテキスト 中文 한국어",
	"  leading and trailing  ",
	"<s>special</s> <s> text",
	"e\u0301 naïve café",
	"",
}

// streamAll feeds ids one at a time and checks every piece is valid UTF-8.
func streamAll(t *testing.T, tok *Tokenizer, ids []int) (string, []string) {
	t.Helper()
	d := tok.NewDecoder()
	var b strings.Builder
	var pieces []string
	for _, id := range ids {
		s := d.Add(id)
		if !utf8.ValidString(s) {
			t.Fatalf("Add(%d) returned invalid UTF-8 %q", id, s)
		}
		pieces = append(pieces, s)
		b.WriteString(s)
	}
	s := d.Flush()
	if !utf8.ValidString(s) {
		t.Fatalf("Flush returned invalid UTF-8 %q", s)
	}
	b.WriteString(s)
	return b.String(), pieces
}

func TestStreamDecoderConcatenatesToDecode(t *testing.T) {
	load := map[string]func(t *testing.T) *Tokenizer{
		"stories": func(t *testing.T) *Tokenizer { return loadStoriesFile(t) },
		"smollm2": func(t *testing.T) *Tokenizer {
			tok, err := Load(smolTokenizerPath(t))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		},
	}
	for name, f := range load {
		t.Run(name, func(t *testing.T) {
			tok := f(t)
			for _, text := range streamTexts {
				for _, opt := range []EncodeOptions{{AddSpecial: true, ParseSpecial: true}, {}} {
					ids := tok.Encode(text, opt)
					got, _ := streamAll(t, tok, ids)
					if want := tok.Decode(ids); got != want {
						t.Errorf("%+v: streamed %q, Decode %q", opt, got, want)
					}
				}
			}
		})
	}
}

// TestStreamDecoderHoldsPartialCharacters splits characters across byte tokens and checks
// that nothing is emitted until a character is complete.
func TestStreamDecoderHoldsPartialCharacters(t *testing.T) {
	tok := loadStoriesFile(t)
	byteID := func(b byte) int {
		id, ok := tok.TokenID(fmt.Sprintf("<0x%02X>", b))
		if !ok {
			t.Fatalf("no byte token for %#x", b)
		}
		return id
	}
	emoji := "🙂" // F0 9F 99 82
	a, _ := tok.TokenID("▁a")
	cases := []struct {
		name  string
		ids   []int
		want  []string // per Add
		flush string
	}{
		{"emoji in byte tokens", []int{byteID(0xF0), byteID(0x9F), byteID(0x99), byteID(0x82)}, []string{"", "", "", emoji}, ""},
		{"word then CJK bytes", []int{a, byteID(0xE6), byteID(0x97), byteID(0xA5)}, []string{"a", "", "", "日"}, ""},
		{"truncated at the end", []int{a, byteID(0xE6), byteID(0x97)}, []string{"a", "", ""}, "\uFFFD\uFFFD"},
		{"invalid byte then text", []int{byteID(0xFF), a}, []string{"", "\uFFFD a"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := tok.NewDecoder()
			for i, id := range c.ids {
				if got := d.Add(id); got != c.want[i] {
					t.Errorf("Add #%d (%s) = %q, want %q", i, tok.Piece(id), got, c.want[i])
				}
			}
			if got := d.Flush(); got != c.flush {
				t.Errorf("Flush = %q, want %q", got, c.flush)
			}
			if got, want := tok.Decode(c.ids), strings.Join(c.want, "")+c.flush; got != want {
				t.Errorf("Decode = %q, pieces+flush = %q", got, want)
			}
		})
	}
}

// TestStreamDecoderByteLevelEmoji streams SmolLM2 byte-level tokens of multi-byte
// characters, which are split across tokens.
func TestStreamDecoderByteLevelEmoji(t *testing.T) {
	tok, err := Load(smolTokenizerPath(t))
	if err != nil {
		t.Fatal(err)
	}
	text := "👨‍👩‍👧‍👦🏳️‍🌈 日本語 ok"
	ids := tok.Encode(text, EncodeOptions{})
	got, pieces := streamAll(t, tok, ids)
	if got != text {
		t.Errorf("streamed %q, want %q", got, text)
	}
	held := 0
	for _, p := range pieces {
		if p == "" {
			held++
		}
	}
	if held == 0 {
		t.Errorf("no Add held text back; the test text no longer splits characters across tokens (%d ids)", len(ids))
	}
}

// TestEncodeConcurrent encodes from several goroutines at once (the word cache is shared);
// run with -race to check the locking.
func TestEncodeConcurrent(t *testing.T) {
	tok := loadStoriesFile(t)
	texts := append(slices.Clone(streamTexts), edgeTexts...)
	want := make([][]int, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s, EncodeOptions{ParseSpecial: true})
	}
	clear(tok.model.cache)
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(texts))
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i, s := range texts {
				if got := tok.Encode(s, EncodeOptions{ParseSpecial: true}); !slices.Equal(got, want[i]) {
					errs <- s
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("concurrent Encode(%.40q) differs", s)
	}
}

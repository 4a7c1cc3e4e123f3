package tokenizer

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// withPreTokenizer returns the stories260K tokenizer.json with its
// pre_tokenizer replaced.
func withPreTokenizer(t *testing.T, pre string) []byte {
	t.Helper()
	base, err := os.ReadFile(storiesJSON)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(base, &f); err != nil {
		t.Fatal(err)
	}
	f["pre_tokenizer"] = json.RawMessage(pre)
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A Split pattern that backtracks exponentially ((a+)+$ needs 2^n steps on
// n a's followed by another letter; 36 took minutes before the bound) is
// stopped at the match time bound and named, with the file, by EncodeContext;
// Encode returns nil rather than hanging or guessing.
func TestCatastrophicSplitPatternIsBounded(t *testing.T) {
	defer func(d time.Duration) { regexTimeout = d }(regexTimeout)
	regexTimeout = 100 * time.Millisecond
	const expr = `(a+)+$`
	data := withPreTokenizer(t, `{"type":"Split","pattern":{"Regex":"(a+)+$"},"behavior":"Isolated","invert":false}`)
	tok, err := Parse("hostile/tokenizer.json", data)
	if err != nil {
		t.Fatal(err)
	}
	text := "once " + strings.Repeat("a", 40) + "b"
	start := time.Now()
	ids, err := tok.EncodeContext(context.Background(), text, EncodeOptions{})
	took := time.Since(start)
	var te *MatchTimeoutError
	if !errors.As(err, &te) || ids != nil {
		t.Fatalf("ids %v, err %v; want a *MatchTimeoutError", ids, err)
	}
	for _, want := range []string{"hostile/tokenizer.json", "pre_tokenizer.pattern", `"(a+)+$"`, "backtracks"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if te.Pattern != expr {
		t.Errorf("pattern %q, want %q", te.Pattern, expr)
	}
	if took > 2*time.Second {
		t.Errorf("took %v with a %v bound", took, regexTimeout)
	}
	if ids := tok.Encode(text, EncodeOptions{}); ids != nil {
		t.Errorf("Encode gave %v, want nil", ids)
	}
	// The same pattern on text it handles quickly still encodes.
	if _, err := tok.EncodeContext(context.Background(), "aaab", EncodeOptions{}); err != nil {
		t.Errorf("short text: %v", err)
	}
}

// EncodeContext stops on a cancelled context and otherwise equals Encode.
func TestEncodeContext(t *testing.T) {
	tok, err := Load(storiesJSON)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("Once upon a time there was a little girl. ", 2000)
	want := tok.Encode(text, EncodeOptions{AddSpecial: true})
	got, err := tok.EncodeContext(context.Background(), text, EncodeOptions{AddSpecial: true})
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d ids, err %v; Encode gives %d", len(got), err, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("id %d: %d, Encode %d", i, got[i], want[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tok.EncodeContext(ctx, text, EncodeOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

// doneAfter is a context whose Err turns to Canceled after its first call:
// EncodeContext must look again while it works through the words.
type doneAfter struct {
	context.Context
	calls int
}

func (c *doneAfter) Err() error {
	if c.calls++; c.calls > 1 {
		return context.Canceled
	}
	return nil
}

func TestEncodeContextStopsBetweenWords(t *testing.T) {
	tok, err := Load(smolTokenizerPath(t))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("Once upon a time there was a little girl. ", 2000) // 18 000 words
	_, err = tok.EncodeContext(&doneAfter{Context: context.Background()}, text, EncodeOptions{})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "encoding stopped at byte") {
		t.Fatalf("err = %v, want a stop between words", err)
	}
}

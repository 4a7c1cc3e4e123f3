package ruler

import (
	"sync"
	"testing"

	"starc/internal/testenv"
	"starc/tokenizer"
)

// smolTokenizer adapts the SmolLM2 tokenizer to Tokenizer: HF's tokenize,
// no special tokens added, special tokens in the text parsed.
type smolTokenizer struct{ t *tokenizer.Tokenizer }

func (s smolTokenizer) Count(text string) int {
	return len(s.t.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true}))
}

var (
	smolOnce sync.Once
	smol     *tokenizer.Tokenizer
	smolErr  error
)

func smolLM2(t testing.TB) smolTokenizer {
	t.Helper()
	path := testenv.Shared(t, "models/smollm2-135m-instruct/tokenizer.json")
	smolOnce.Do(func() { smol, smolErr = tokenizer.Load(path) })
	if smolErr != nil {
		t.Fatal(smolErr)
	}
	return smolTokenizer{smol}
}

package tokenizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Tokenizer converts text to ids and back as one tokenizer.json specifies.
type Tokenizer struct {
	name  string
	added addedVocab
	norm  normalizer   // nil: identity
	pre   preTokenizer // nil: the whole segment is one word
	model *bpeModel
	post  []template // applied in order when EncodeOptions.AddSpecial
	dec   decoder    // nil: tokens joined with " " (HF's behaviour without a decoder)

	pieces  []string // id -> token string (added tokens override the model vocab)
	special []bool   // id -> added token marked special
	lookup  map[string]int
	bos     int // -1 if unknown
	eos     int
}

// EncodeOptions selects the HF encode flags.
type EncodeOptions struct {
	// AddSpecial applies the post-processor template (BOS/EOS), like HF's
	// add_special_tokens=true.
	AddSpecial bool
	// ParseSpecial cuts added special tokens such as "<s>" out of the text and emits their
	// ids. HF does this by default; false corresponds to encode_special_tokens=true there
	// and to llama.cpp's --no-parse-special. Non-special added tokens are always parsed.
	ParseSpecial bool
}

// template is a TemplateProcessing single template: ids before and after the sequence.
type template struct {
	before, after []int
}

// Load reads a tokenizer.json. If a tokenizer_config.json lies next to it, its bos_token and
// eos_token settle BOS/EOS when the post-processor does not (see the package doc).
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	cfg, err := os.ReadFile(cfgPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("tokenizer: %w", err)
	default:
		if err := t.applyConfig(cfg); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", cfgPath, err)
		}
	}
	return t, nil
}

// applyConfig takes bos_token/eos_token from a tokenizer_config.json, unless the
// post-processor template already fixed them. The fields are either a string or an
// AddedToken object with a "content" field.
func (t *Tokenizer) applyConfig(data []byte) error {
	var cfg struct {
		BOS json.RawMessage `json:"bos_token"`
		EOS json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return err
	}
	for _, f := range []struct {
		field string
		raw   json.RawMessage
		dst   *int
		fixed bool
	}{
		{"bos_token", cfg.BOS, &t.bos, t.templateBOS()},
		{"eos_token", cfg.EOS, &t.eos, t.templateEOS()},
	} {
		if isNull(f.raw) || f.fixed {
			continue
		}
		var content string
		if err := json.Unmarshal(f.raw, &content); err != nil {
			var obj struct {
				Content string `json:"content"`
			}
			if err := json.Unmarshal(f.raw, &obj); err != nil {
				return fmt.Errorf("%s: %w", f.field, err)
			}
			content = obj.Content
		}
		id, ok := t.TokenID(content)
		if !ok {
			return fmt.Errorf("%s: %q is not a token", f.field, content)
		}
		*f.dst = id
	}
	return nil
}

func (t *Tokenizer) templateBOS() bool { return len(t.post) > 0 && len(t.post[0].before) > 0 }
func (t *Tokenizer) templateEOS() bool { return len(t.post) > 0 && len(t.post[0].after) > 0 }

var (
	wellKnownBOS = []string{"<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>"}
	wellKnownEOS = []string{"</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"}
)

// finish builds the id tables and decides BOS/EOS.
func (t *Tokenizer) finish() error {
	n := len(t.model.pieces)
	for _, a := range t.added.tokens {
		n = max(n, a.id+1)
	}
	t.pieces = make([]string, n)
	t.special = make([]bool, n)
	copy(t.pieces, t.model.pieces)
	t.lookup = make(map[string]int, len(t.added.tokens))
	for _, a := range t.added.tokens {
		t.pieces[a.id] = a.content
		t.special[a.id] = a.special
		t.lookup[a.content] = a.id
	}
	for _, tpl := range t.post {
		for _, id := range append(append([]int(nil), tpl.before...), tpl.after...) {
			if id >= n {
				return fmt.Errorf("post_processor: special token id %d outside the vocabulary (size %d)", id, n)
			}
		}
	}
	if t.templateBOS() {
		t.bos = t.post[0].before[0]
	} else {
		t.bos = t.findSpecial(wellKnownBOS)
	}
	if t.templateEOS() {
		t.eos = t.post[0].after[len(t.post[0].after)-1]
	} else {
		t.eos = t.findSpecial(wellKnownEOS)
	}
	return nil
}

func (t *Tokenizer) findSpecial(names []string) int {
	for _, name := range names {
		for _, a := range t.added.tokens {
			if a.special && a.content == name {
				return a.id
			}
		}
	}
	return -1
}

// Name is the name given to Parse (the path for Load).
func (t *Tokenizer) Name() string { return t.name }

// VocabSize is one more than the largest id of the model vocab and the added tokens.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// TokenID looks a token string up, added tokens first, then the model vocab.
func (t *Tokenizer) TokenID(s string) (int, bool) {
	if id, ok := t.lookup[s]; ok {
		return id, true
	}
	id, ok := t.model.vocab[s]
	return id, ok
}

// Piece returns the token string of id ("" if id is out of range or unused).
func (t *Tokenizer) Piece(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int) bool { return id >= 0 && id < len(t.special) && t.special[id] }

// BOS returns the beginning-of-sequence id (see the package doc for the rule).
func (t *Tokenizer) BOS() (int, bool) { return t.bos, t.bos >= 0 }

// EOS returns the end-of-sequence id (see the package doc for the rule).
func (t *Tokenizer) EOS() (int, bool) { return t.eos, t.eos >= 0 }

// Encode converts text to ids. It returns nil when a tokenizer.json regex runs out
// of time on the text (see EncodeContext, which says so).
func (t *Tokenizer) Encode(text string, opt EncodeOptions) []int {
	ids, err := t.encode(nil, text, opt)
	if err != nil {
		return nil
	}
	return ids
}

// EncodeContext is Encode for long or untrusted input: it stops with ctx's error when
// ctx is done (looked at every ctxCheckWords words, so a few milliseconds apart), and
// a tokenizer.json regex that backtracks past its time bound on the text is an error
// wrapping *MatchTimeoutError that names the file and the pattern.
func (t *Tokenizer) EncodeContext(ctx context.Context, text string, opt EncodeOptions) ([]int, error) {
	return t.encode(ctx, text, opt)
}

// ctxCheckWords is how many pre-tokenized words EncodeContext goes between two looks
// at its context.
const ctxCheckWords = 1024

// encode is Encode; a nil ctx is never looked at.
func (t *Tokenizer) encode(ctx context.Context, text string, opt EncodeOptions) (ids []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			te, ok := r.(*MatchTimeoutError)
			if !ok {
				panic(r)
			}
			ids, err = nil, fmt.Errorf("tokenizer: %s: %w", t.name, te)
		}
	}()
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("tokenizer: encoding not started: %w", err)
		}
	}
	text = lossyText(text)
	ids = make([]int, 0, len(text)/3+4)
	segs := t.added.split(&t.added.raw, text, opt.ParseSpecial, nil)
	var sub []segment
	nwords := 0
	for _, seg := range segs {
		if seg.id >= 0 {
			ids = append(ids, seg.id)
			continue
		}
		normalized := seg.text
		if t.norm != nil {
			normalized = t.norm.normalize(normalized)
		}
		sub = t.added.split(&t.added.norm, normalized, opt.ParseSpecial, sub[:0])
		for _, s := range sub {
			if s.id >= 0 {
				ids = append(ids, s.id)
				continue
			}
			words := []word{{text: s.text, first: seg.start == 0 && s.start == 0}}
			if t.pre != nil {
				words = t.pre.preTokenize(words)
			}
			for _, w := range words {
				if nwords++; ctx != nil && nwords%ctxCheckWords == 0 {
					if err := ctx.Err(); err != nil {
						return nil, fmt.Errorf("tokenizer: encoding stopped at byte %d of %d: %w", seg.start, len(text), err)
					}
				}
				ids = t.model.tokenize(w.text, ids)
			}
		}
	}
	if opt.AddSpecial {
		for _, tpl := range t.post {
			if len(tpl.before) == 0 && len(tpl.after) == 0 {
				continue
			}
			out := make([]int, 0, len(tpl.before)+len(ids)+len(tpl.after))
			out = append(out, tpl.before...)
			out = append(out, ids...)
			ids = append(out, tpl.after...)
		}
	}
	return ids, nil
}

// DecodeOptions selects the HF decode flags.
type DecodeOptions struct {
	// SkipSpecial leaves out added tokens marked special (HF skip_special_tokens).
	SkipSpecial bool
}

// Decode converts ids to text, keeping special tokens (transformers' default). Ids that name
// no token are skipped, as HF does.
func (t *Tokenizer) Decode(ids []int) string { return t.DecodeWith(ids, DecodeOptions{}) }

// DecodeWith converts ids to text.
func (t *Tokenizer) DecodeWith(ids []int, opt DecodeOptions) string {
	tokens := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) || t.pieces[id] == "" || (opt.SkipSpecial && t.special[id]) {
			continue
		}
		tokens = append(tokens, t.pieces[id])
	}
	if t.dec == nil {
		return strings.Join(tokens, " ")
	}
	return strings.Join(t.dec.decodeChain(tokens), "")
}

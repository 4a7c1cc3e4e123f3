package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dlclark/regexp2"
)

// ErrUnsupported is wrapped by every error about a tokenizer.json component, option or
// GGUF tokenizer kind that this package does not implement (errors.Is works).
var ErrUnsupported = errors.New("not supported")

// fileJSON is the top level of tokenizer.json. Polymorphic parts stay raw until their
// "type" is known.
type fileJSON struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []addedJSON     `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
}

type addedJSON struct {
	ID         *int   `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

// patternJSON is HF's {"String": "..."} or {"Regex": "..."}.
type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// typed reads just the "type" field of a component.
type typed struct {
	Type string `json:"type"`
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// decodeStrict unmarshals raw into v, wrapping errors with the component path.
func decodeStrict(path string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func typeOf(path string, raw json.RawMessage) (string, error) {
	var t typed
	if err := decodeStrict(path, raw, &t); err != nil {
		return "", err
	}
	return t.Type, nil
}

// Parse builds a Tokenizer from the contents of a tokenizer.json. name is used in error
// messages (usually the file path).
func Parse(name string, data []byte) (*Tokenizer, error) {
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	t.name = name
	return t, nil
}

func parse(data []byte) (*Tokenizer, error) {
	if bytes.HasPrefix(data, []byte("\uFEFF")) {
		return nil, errors.New("starts with a UTF-8 byte order mark (bytes EF BB BF), which JSON does not allow: save the file without it")
	}
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	if !isNull(f.Truncation) {
		return nil, fmt.Errorf("truncation: %w (must be null)", ErrUnsupported)
	}
	if !isNull(f.Padding) {
		return nil, fmt.Errorf("padding: %w (must be null)", ErrUnsupported)
	}
	t := &Tokenizer{bos: -1, eos: -1}
	var err error
	if isNull(f.Model) {
		return nil, errors.New("model: missing")
	}
	if t.model, err = parseModel("model", f.Model); err != nil {
		return nil, err
	}
	if t.added, err = newAddedVocab(f.AddedTokens, t.model); err != nil {
		return nil, err
	}
	if t.norm, err = parseNormalizer("normalizer", f.Normalizer); err != nil {
		return nil, err
	}
	if t.pre, err = parsePreTokenizer("pre_tokenizer", f.PreTokenizer); err != nil {
		return nil, err
	}
	if t.post, err = parsePostProcessor("post_processor", f.PostProcessor); err != nil {
		return nil, err
	}
	if t.dec, err = parseDecoder("decoder", f.Decoder); err != nil {
		return nil, err
	}
	if err := t.finish(); err != nil {
		return nil, err
	}
	return t, nil
}

func parsePattern(path string, p patternJSON) (pattern, error) {
	switch {
	case p.String != nil && p.Regex == nil:
		return literalPattern(*p.String), nil
	case p.Regex != nil && p.String == nil:
		re, err := compileRegex(*p.Regex)
		if err != nil {
			return nil, fmt.Errorf("%s: regex %q: %w", path, *p.Regex, err)
		}
		re.path = path
		return re, nil
	default:
		return nil, fmt.Errorf("%s: want exactly one of String or Regex", path)
	}
}

func compileRegex(expr string) (*regexPattern, error) {
	re, err := regexp2.Compile(expr, regexp2.Unicode)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = regexTimeout
	return &regexPattern{re: re, expr: expr}, nil
}

// ---- normalizers ----

func parseNormalizer(path string, raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := typeOf(path, raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		var s struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		var seq seqNormalizer
		for i, r := range s.Normalizers {
			n, err := parseNormalizer(fmt.Sprintf("%s.normalizers[%d]", path, i), r)
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	case "Prepend":
		var s struct {
			Prepend *string `json:"prepend"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		if s.Prepend == nil {
			return nil, fmt.Errorf("%s: Prepend: missing field prepend", path)
		}
		return prependNormalizer(*s.Prepend), nil
	case "Replace":
		var s struct {
			Pattern patternJSON `json:"pattern"`
			Content string      `json:"content"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		p, err := parsePattern(path+".pattern", s.Pattern)
		if err != nil {
			return nil, err
		}
		return replaceNormalizer{pat: p, content: s.Content}, nil
	case "NFC", "NFD", "NFKC", "NFKD":
		return unicodeNormalizer(typ), nil
	case "":
		return nil, fmt.Errorf("%s: missing type", path)
	default:
		return nil, fmt.Errorf("%s: type %q %w", path, typ, ErrUnsupported)
	}
}

// ---- pre-tokenizers ----

func parsePreTokenizer(path string, raw json.RawMessage) (preTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := typeOf(path, raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		var s struct {
			PreTokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		var seq seqPreTokenizer
		for i, r := range s.PreTokenizers {
			p, err := parsePreTokenizer(fmt.Sprintf("%s.pretokenizers[%d]", path, i), r)
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	case "ByteLevel":
		s := struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		useRegex := s.UseRegex == nil || *s.UseRegex
		return byteLevelPreTokenizer{addPrefixSpace: s.AddPrefixSpace, useRegex: useRegex}, nil
	case "Split":
		var s struct {
			Pattern  patternJSON `json:"pattern"`
			Behavior string      `json:"behavior"`
			Invert   bool        `json:"invert"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		p, err := parsePattern(path+".pattern", s.Pattern)
		if err != nil {
			return nil, err
		}
		b, err := parseBehavior(path, s.Behavior)
		if err != nil {
			return nil, err
		}
		return splitPreTokenizer{pat: p, behavior: b, invert: s.Invert}, nil
	case "Digits":
		var s struct {
			IndividualDigits bool `json:"individual_digits"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		return digitsPreTokenizer{individual: s.IndividualDigits}, nil
	case "Metaspace":
		m, err := parseMetaspace(path, raw)
		if err != nil {
			return nil, err
		}
		return metaspacePreTokenizer{m}, nil
	case "":
		return nil, fmt.Errorf("%s: missing type", path)
	default:
		return nil, fmt.Errorf("%s: type %q %w", path, typ, ErrUnsupported)
	}
}

func parseBehavior(path, s string) (splitBehavior, error) {
	switch s {
	case "Removed":
		return behaviorRemoved, nil
	case "Isolated":
		return behaviorIsolated, nil
	case "MergedWithPrevious":
		return behaviorMergedWithPrevious, nil
	case "MergedWithNext":
		return behaviorMergedWithNext, nil
	case "Contiguous":
		return behaviorContiguous, nil
	default:
		return 0, fmt.Errorf("%s: behavior %q %w", path, s, ErrUnsupported)
	}
}

// metaspace holds the settings shared by the Metaspace pre-tokenizer and decoder.
type metaspace struct {
	replacement rune
	prepend     prependScheme
	split       bool
}

type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

func parseMetaspace(path string, raw json.RawMessage) (metaspace, error) {
	var s struct {
		Replacement    *string `json:"replacement"`
		PrependScheme  *string `json:"prepend_scheme"`
		AddPrefixSpace *bool   `json:"add_prefix_space"`
		Split          *bool   `json:"split"`
	}
	if err := decodeStrict(path, raw, &s); err != nil {
		return metaspace{}, err
	}
	m := metaspace{replacement: '▁', prepend: prependAlways, split: true}
	if s.Replacement != nil {
		rs := []rune(*s.Replacement)
		if len(rs) != 1 {
			return m, fmt.Errorf("%s: Metaspace: replacement %q must be one character", path, *s.Replacement)
		}
		m.replacement = rs[0]
	}
	if s.Split != nil {
		m.split = *s.Split
	}
	switch {
	case s.PrependScheme != nil:
		switch *s.PrependScheme {
		case "always":
			m.prepend = prependAlways
		case "first":
			m.prepend = prependFirst
		case "never":
			m.prepend = prependNever
		default:
			return m, fmt.Errorf("%s: Metaspace: prepend_scheme %q %w", path, *s.PrependScheme, ErrUnsupported)
		}
	case s.AddPrefixSpace != nil && !*s.AddPrefixSpace:
		m.prepend = prependNever
	}
	return m, nil
}

// ---- model ----

type bpeJSON struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

func parseModel(path string, raw json.RawMessage) (*bpeModel, error) {
	typ, err := typeOf(path, raw)
	if err != nil {
		return nil, err
	}
	if typ != "" && typ != "BPE" {
		return nil, fmt.Errorf("%s: type %q %w", path, typ, ErrUnsupported)
	}
	var m bpeJSON
	if err := decodeStrict(path, raw, &m); err != nil {
		return nil, err
	}
	if m.Type == "" && m.Vocab != nil && !isNull(m.Merges) {
		m.Type = "BPE" // HF accepts an untagged BPE model
	}
	if m.Type != "BPE" {
		return nil, fmt.Errorf("%s: type %q %w", path, m.Type, ErrUnsupported)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("%s: dropout %v %w", path, *m.Dropout, ErrUnsupported)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, fmt.Errorf("%s: continuing_subword_prefix %q %w", path, *m.ContinuingSubwordPrefix, ErrUnsupported)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, fmt.Errorf("%s: end_of_word_suffix %q %w", path, *m.EndOfWordSuffix, ErrUnsupported)
	}
	var merges [][2]string
	if !isNull(m.Merges) {
		var err error
		if merges, err = parseMerges(path+".merges", m.Merges); err != nil {
			return nil, err
		}
	}
	unk := ""
	if m.UnkToken != nil {
		unk = *m.UnkToken
	}
	return newBPE(path, m.Vocab, merges, bpeOptions{
		unkToken:     unk,
		hasUnk:       m.UnkToken != nil,
		fuseUnk:      m.FuseUnk,
		byteFallback: m.ByteFallback,
		ignoreMerges: m.IgnoreMerges,
	})
}

// parseMerges accepts both the "a b" string form and the ["a", "b"] pair form.
func parseMerges(path string, raw json.RawMessage) ([][2]string, error) {
	var items []json.RawMessage
	if err := decodeStrict(path, raw, &items); err != nil {
		return nil, err
	}
	out := make([][2]string, len(items))
	for i, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 0 && it[0] == '"' {
			var s string
			if err := json.Unmarshal(it, &s); err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", path, i, err)
			}
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("%s[%d]: merge %q has no space between its two parts", path, i, s)
			}
			out[i] = [2]string{a, b}
			continue
		}
		var pair []string
		if err := json.Unmarshal(it, &pair); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", path, i, err)
		}
		if len(pair) != 2 {
			return nil, fmt.Errorf("%s[%d]: merge has %d parts, want 2", path, i, len(pair))
		}
		out[i] = [2]string{pair[0], pair[1]}
	}
	return out, nil
}

// ---- post-processors ----

type templatePieceJSON struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

func parsePostProcessor(path string, raw json.RawMessage) ([]template, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := typeOf(path, raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		var s struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		var out []template
		for i, r := range s.Processors {
			p, err := parsePostProcessor(fmt.Sprintf("%s.processors[%d]", path, i), r)
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		}
		return out, nil
	case "ByteLevel":
		return nil, nil // only adjusts offsets; ids are unchanged
	case "TemplateProcessing":
		var s struct {
			Single        []templatePieceJSON `json:"single"`
			SpecialTokens map[string]struct {
				ID  string `json:"id"`
				IDs []int  `json:"ids"`
			} `json:"special_tokens"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		var tpl template
		seen := false
		for i, p := range s.Single {
			switch {
			case p.Sequence != nil && p.SpecialToken == nil:
				if p.Sequence.ID != "A" {
					return nil, fmt.Errorf("%s.single[%d]: sequence %q in a single template %w", path, i, p.Sequence.ID, ErrUnsupported)
				}
				if seen {
					return nil, fmt.Errorf("%s.single[%d]: sequence $A appears twice", path, i)
				}
				seen = true
			case p.SpecialToken != nil && p.Sequence == nil:
				st, ok := s.SpecialTokens[p.SpecialToken.ID]
				if !ok {
					return nil, fmt.Errorf("%s.single[%d]: special token %q missing from special_tokens", path, i, p.SpecialToken.ID)
				}
				for _, id := range st.IDs {
					if id < 0 {
						return nil, fmt.Errorf("%s.special_tokens[%q]: negative id %d", path, p.SpecialToken.ID, id)
					}
				}
				if seen {
					tpl.after = append(tpl.after, st.IDs...)
				} else {
					tpl.before = append(tpl.before, st.IDs...)
				}
			default:
				return nil, fmt.Errorf("%s.single[%d]: want exactly one of SpecialToken or Sequence", path, i)
			}
		}
		if !seen {
			return nil, fmt.Errorf("%s.single: no $A sequence", path)
		}
		return []template{tpl}, nil
	case "":
		return nil, fmt.Errorf("%s: missing type", path)
	default:
		return nil, fmt.Errorf("%s: type %q %w", path, typ, ErrUnsupported)
	}
}

// ---- decoders ----

func parseDecoder(path string, raw json.RawMessage) (decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := typeOf(path, raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		var s struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		var seq seqDecoder
		for i, r := range s.Decoders {
			d, err := parseDecoder(fmt.Sprintf("%s.decoders[%d]", path, i), r)
			if err != nil {
				return nil, err
			}
			if d != nil {
				seq = append(seq, d)
			}
		}
		return seq, nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "Metaspace":
		m, err := parseMetaspace(path, raw)
		if err != nil {
			return nil, err
		}
		return metaspaceDecoder{m}, nil
	case "Replace":
		var s struct {
			Pattern patternJSON `json:"pattern"`
			Content string      `json:"content"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		if s.Pattern.Regex != nil {
			// Decode returns no error, so a regex here could neither be bounded in time
			// nor report running out of it; HF's tokenizers replace Strings here.
			return nil, fmt.Errorf("%s.pattern: a Regex pattern in a Replace decoder is %w (use String)", path, ErrUnsupported)
		}
		p, err := parsePattern(path+".pattern", s.Pattern)
		if err != nil {
			return nil, err
		}
		return replaceDecoder{pat: p, content: s.Content}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		var s struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := decodeStrict(path, raw, &s); err != nil {
			return nil, err
		}
		rs := []rune(s.Content)
		if len(rs) != 1 {
			return nil, fmt.Errorf("%s: Strip: content %q must be one character", path, s.Content)
		}
		if s.Start < 0 || s.Stop < 0 {
			return nil, fmt.Errorf("%s: Strip: negative start %d or stop %d", path, s.Start, s.Stop)
		}
		return stripDecoder{content: rs[0], start: s.Start, stop: s.Stop}, nil
	case "":
		return nil, fmt.Errorf("%s: missing type", path)
	default:
		return nil, fmt.Errorf("%s: type %q %w", path, typ, ErrUnsupported)
	}
}

package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's "added_tokens".
type addedToken struct {
	id         int
	content    string
	special    bool
	lstrip     bool
	rstrip     bool
	normalized bool
	singleWord bool
}

// addedVocab finds added tokens in text. raw holds the tokens matched before normalization
// (normalized=false), norm those matched in the normalized text.
type addedVocab struct {
	tokens []addedToken
	raw    tokenMatcher
	norm   tokenMatcher
}

// tokenMatcher finds leftmost-longest, non-overlapping occurrences of a token set (what HF
// does with an Aho-Corasick automaton in LeftmostLongest mode).
type tokenMatcher struct {
	byFirst [256][]int // first byte -> indices into addedVocab.tokens, longest content first
	any     bool
}

// newAddedVocab reads "added_tokens". Like HF, it does not trust the ids in the file: a
// token whose content is in the model vocab gets that id, any other token the next id after
// the model vocab (the number of vocab entries) and the added tokens so far, in list order.
func newAddedVocab(list []addedJSON, model *bpeModel) (addedVocab, error) {
	var v addedVocab
	assigned := map[string]int{}
	maxAdded := -1
	for i, a := range list {
		if a.ID == nil {
			return v, fmt.Errorf("added_tokens[%d]: missing id", i)
		}
		if a.Content == "" {
			return v, fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		normalized := !a.Special // HF's default when the field is absent
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		id, ok := assigned[a.Content]
		if !ok {
			id, ok = model.vocab[a.Content]
		}
		if !ok {
			id = len(model.vocab)
			if maxAdded >= len(model.vocab) || len(model.vocab) == 0 {
				id = maxAdded + 1
			}
		}
		assigned[a.Content] = id
		maxAdded = max(maxAdded, id)
		v.tokens = append(v.tokens, addedToken{
			id: id, content: a.Content, special: a.Special, lstrip: a.LStrip,
			rstrip: a.RStrip, normalized: normalized, singleWord: a.SingleWord,
		})
	}
	for i, t := range v.tokens {
		mt := &v.raw
		if t.normalized {
			mt = &v.norm
		}
		mt.byFirst[t.content[0]] = append(mt.byFirst[t.content[0]], i)
		mt.any = true
	}
	for _, mt := range []*tokenMatcher{&v.raw, &v.norm} {
		for b := range mt.byFirst {
			idx := mt.byFirst[b]
			sort.SliceStable(idx, func(x, y int) bool {
				return len(v.tokens[idx[x]].content) > len(v.tokens[idx[y]].content)
			})
		}
	}
	return v, nil
}

// segment is a piece of input text: either an added token (id >= 0) or text to tokenize.
// start is its byte offset in the string it was cut from.
type segment struct {
	text  string
	id    int
	start int
}

// isWordChar is HF's notion of a word character for single_word tokens.
func isWordChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// split cuts the added tokens of mt out of s. Special tokens are skipped when parseSpecial
// is false. Text segments are never empty.
func (v *addedVocab) split(mt *tokenMatcher, s string, parseSpecial bool, dst []segment) []segment {
	if !mt.any {
		if s != "" {
			dst = append(dst, segment{text: s, id: -1})
		}
		return dst
	}
	startOffset := 0 // end of the last emitted piece
	for i := 0; i < len(s); {
		best := -1
		for _, k := range mt.byFirst[s[i]] {
			t := &v.tokens[k]
			if t.special && !parseSpecial {
				continue
			}
			if strings.HasPrefix(s[i:], t.content) {
				best = k // candidates are sorted longest first
				break
			}
		}
		if best < 0 {
			i++
			continue
		}
		t := &v.tokens[best]
		start, stop := i, i+len(t.content)
		i = stop // the matcher moves past this match even if single_word discards it
		if t.singleWord {
			r, _ := utf8.DecodeLastRuneInString(s[:start])
			before := start > 0 && isWordChar(r)
			r, _ = utf8.DecodeRuneInString(s[stop:])
			after := stop < len(s) && isWordChar(r)
			if before || after {
				continue
			}
		}
		if t.lstrip {
			ns := len(strings.TrimRightFunc(s[:start], unicode.IsSpace))
			start = max(ns, startOffset)
		}
		if t.rstrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
			i = stop
		}
		if startOffset < start {
			dst = append(dst, segment{text: s[startOffset:start], id: -1, start: startOffset})
		}
		dst = append(dst, segment{text: s[start:stop], id: t.id, start: start})
		startOffset = stop
	}
	if startOffset < len(s) {
		dst = append(dst, segment{text: s[startOffset:], id: -1, start: startOffset})
	}
	return dst
}

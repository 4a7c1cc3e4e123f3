package tokenizer

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// span is a byte range [start, end) of a string; match tells whether a pattern matched it.
type span struct {
	start, end int
	match      bool
}

// pattern finds the non-overlapping matches of a String or Regex pattern, left to right,
// and returns spans covering the whole input (matches and the gaps between them), as HF's
// Pattern::find_matches does. An empty input gives one empty non-match span.
type pattern interface {
	findMatches(s string, dst []span) []span
	replaceAll(s, with string) string
}

// literalPattern matches an exact string. The empty literal never matches.
type literalPattern string

func (p literalPattern) findMatches(s string, dst []span) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	if p == "" {
		return append(dst, span{0, len(s), false})
	}
	prev := 0
	for {
		i := strings.Index(s[prev:], string(p))
		if i < 0 {
			break
		}
		start := prev + i
		if start > prev {
			dst = append(dst, span{prev, start, false})
		}
		dst = append(dst, span{start, start + len(p), true})
		prev = start + len(p)
	}
	if prev < len(s) {
		dst = append(dst, span{prev, len(s), false})
	}
	return dst
}

func (p literalPattern) replaceAll(s, with string) string {
	if p == "" {
		return s
	}
	return strings.ReplaceAll(s, string(p), with)
}

// regexPattern is a backtracking regex (lookahead, \p{L}, ...), compatible with the
// Oniguruma patterns HF uses. regexp2 indexes by rune, so matches are converted to bytes.
// A backtracking regex can take exponential time ((a+)+$ on a run of a's), so each
// match is bounded by regexTimeout; running out panics with a *MatchTimeoutError,
// which Encode and EncodeContext recover into an error.
type regexPattern struct {
	re   *regexp2.Regexp
	expr string
	path string // where the pattern sits in tokenizer.json, for messages
}

// regexTimeout bounds one regex match. HF's patterns match a piece of ordinary text
// in microseconds; seconds are only ever reached by catastrophic backtracking. The
// bound is wall time: at 1 s it once fired on ordinary text while the process was
// starved on a 2-core machine at load 15, so it leaves room for a scheduler stall.
var regexTimeout = 5 * time.Second

// MatchTimeoutError is the error of a regex match that ran out of time: the
// tokenizer.json pattern backtracks catastrophically on the text.
type MatchTimeoutError struct {
	Path, Pattern string // the component path in tokenizer.json and the pattern
	Runes         int    // length of the piece being matched
	Timeout       time.Duration
}

func (e *MatchTimeoutError) Error() string {
	return fmt.Sprintf("%s: regex %q: a match ran past %v on a %d-character piece of the text (the pattern backtracks catastrophically)",
		e.Path, e.Pattern, e.Timeout, e.Runes)
}

func (p *regexPattern) findMatches(s string, dst []span) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	runes := []rune(s)
	// byteAt[i] is the byte offset of rune i; byteAt[len(runes)] == len(s).
	byteAt := make([]int, 0, len(runes)+1)
	for i := range s {
		byteAt = append(byteAt, i)
	}
	byteAt = append(byteAt, len(s))
	prev := 0
	m, err := p.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		start, end := byteAt[m.Index], byteAt[m.Index+m.Length]
		if start > prev {
			dst = append(dst, span{prev, start, false})
		}
		dst = append(dst, span{start, end, true})
		prev = end
		m, err = p.re.FindNextMatch(m)
	}
	if err != nil { // regexp2's only match error is its timeout
		panic(&MatchTimeoutError{Path: p.path, Pattern: p.expr, Runes: len(runes), Timeout: p.re.MatchTimeout})
	}
	if prev < len(s) {
		dst = append(dst, span{prev, len(s), false})
	}
	return dst
}

func (p *regexPattern) replaceAll(s, with string) string {
	var b strings.Builder
	prev := 0
	for _, sp := range p.findMatches(s, nil) {
		if sp.match {
			b.WriteString(s[prev:sp.start])
			b.WriteString(with)
			prev = sp.end
		}
	}
	b.WriteString(s[prev:])
	return b.String()
}

// splitBehavior is HF's SplitDelimiterBehavior: what happens to the matched delimiters.
type splitBehavior int

const (
	behaviorRemoved splitBehavior = iota
	behaviorIsolated
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

// applyBehavior turns the spans of one string into the pieces to keep, following HF's
// NormalizedString::split exactly (including its treatment of consecutive matches).
// Empty pieces are dropped. The result reuses spans' storage.
func applyBehavior(spans []span, b splitBehavior) []span {
	out := spans[:0]
	switch b {
	case behaviorIsolated:
		for _, s := range spans {
			s.match = false
			out = append(out, s)
		}
	case behaviorRemoved:
		for _, s := range spans {
			if !s.match {
				out = append(out, s)
			}
		}
	case behaviorContiguous:
		prevMatch := false
		for _, s := range spans {
			if s.match == prevMatch && len(out) > 0 {
				out[len(out)-1].end = s.end
			} else {
				out = append(out, span{s.start, s.end, false})
			}
			prevMatch = s.match
		}
	case behaviorMergedWithPrevious:
		prevMatch := false
		for _, s := range spans {
			if s.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = s.end
			} else {
				out = append(out, span{s.start, s.end, false})
			}
			prevMatch = s.match
		}
	case behaviorMergedWithNext:
		// Walk backwards, merging each match into the piece that follows it.
		prevMatch := false
		rev := make([]span, 0, len(spans))
		for i := len(spans) - 1; i >= 0; i-- {
			s := spans[i]
			if s.match && !prevMatch && len(rev) > 0 {
				rev[len(rev)-1].start = s.start
			} else {
				rev = append(rev, span{s.start, s.end, false})
			}
			prevMatch = s.match
		}
		for i := len(rev) - 1; i >= 0; i-- {
			out = append(out, rev[i])
		}
	}
	kept := out[:0]
	for _, s := range out {
		if s.end > s.start {
			kept = append(kept, s)
		}
	}
	return kept
}

// runeMatches returns spans where every rune for which f is true is its own match.
func runeMatches(s string, f func(rune) bool, dst []span) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	last := 0
	for i, r := range s {
		if f(r) {
			if last < i {
				dst = append(dst, span{last, i, false})
			}
			n := utf8.RuneLen(r) // input is valid UTF-8, so U+FFFD is a real 3-byte rune
			dst = append(dst, span{i, i + n, true})
			last = i + n
		}
	}
	if last < len(s) {
		dst = append(dst, span{last, len(s), false})
	}
	return dst
}

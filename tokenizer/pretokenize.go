package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// word is one pre-token on its way to the model. first tells whether it starts at offset 0
// of the original input (HF's offsets_original().0 == 0), which Metaspace "first" needs.
type word struct {
	text  string
	first bool
}

// preTokenizer splits (and may rewrite) words into smaller words.
type preTokenizer interface {
	preTokenize(in []word) []word
}

type seqPreTokenizer []preTokenizer

func (q seqPreTokenizer) preTokenize(in []word) []word {
	for _, p := range q {
		in = p.preTokenize(in)
	}
	return in
}

// splitWords cuts every word at the kept spans that split(text) returns.
func splitWords(in []word, split func(s string, dst []span) []span) []word {
	out := make([]word, 0, len(in))
	var spans []span
	for _, w := range in {
		spans = split(w.text, spans[:0])
		for _, s := range spans {
			out = append(out, word{text: w.text[s.start:s.end], first: w.first && s.start == 0})
		}
	}
	return out
}

// ---- ByteLevel ----

// byteToRune is GPT-2's bytes_to_unicode table: printable Latin-1 bytes map to themselves,
// the other 68 bytes to U+0100.. in byte order, so every byte becomes a visible character.
var byteToRune, runeToByte = buildByteTables()

// byteToString[b] is string(byteToRune[b]), precomputed for the hot path.
var byteToString = func() (t [256]string) {
	for b := range t {
		t[b] = string(byteToRune[b])
	}
	return t
}()

func buildByteTables() (b2r [256]rune, r2b map[rune]byte) {
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	r2b = make(map[rune]byte, 256)
	for b := 0; b < 256; b++ {
		if printable(b) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}

// byteLevelEncode maps every byte of s to its byte-level character.
func byteLevelEncode(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		b.WriteString(byteToString[s[i]])
	}
	return b.String()
}

type byteLevelPreTokenizer struct {
	addPrefixSpace bool
	useRegex       bool
}

func (p byteLevelPreTokenizer) preTokenize(in []word) []word {
	if p.addPrefixSpace {
		for i := range in {
			if !strings.HasPrefix(in[i].text, " ") {
				in[i].text = " " + in[i].text
			}
		}
	}
	if p.useRegex {
		in = splitWords(in, gpt2Split)
	}
	out := in[:0]
	for _, w := range in {
		if w.text == "" {
			continue
		}
		w.text = byteLevelEncode(w.text)
		out = append(out, w)
	}
	return out
}

// isSpace is the regex class \s (the Unicode White_Space property, as in Oniguruma).
func isSpace(r rune) bool { return unicode.IsSpace(r) }

// gpt2Split implements the GPT-2 pre-tokenizer regex used by HF's ByteLevel
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// by hand (a regex engine is several times slower). Every position starts a match, so the
// spans are all matches, back to back. TestGPT2SplitMatchesRegex checks it against regexp2.
//
// Hot path: it runs over every byte of the input.
func gpt2Split(s string, dst []span) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	i := 0
	for i < len(s) {
		end := gpt2MatchAt(s, i)
		dst = append(dst, span{i, end, true})
		i = end
	}
	return dst
}

// runeAt decodes the rune at byte offset i (s is valid UTF-8).
func runeAt(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func isOther(r rune) bool { return !isSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r) }

// gpt2MatchAt returns the end of the GPT-2 regex match that starts at byte i.
func gpt2MatchAt(s string, i int) int {
	c := s[i]
	// 's|'t|'re|'ve|'m|'ll|'d
	if c == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	// ` ?X+` for X in \p{L}, \p{N}, [^\s\p{L}\p{N}]
	j := i
	if c == ' ' {
		j++
	}
	if j < len(s) {
		r, n := runeAt(s, j)
		var class func(rune) bool
		switch {
		case unicode.IsLetter(r):
			class = unicode.IsLetter
		case unicode.IsNumber(r):
			class = unicode.IsNumber
		case !isSpace(r):
			class = isOther
		}
		if class != nil {
			j += n
			for j < len(s) {
				r, n = runeAt(s, j)
				if !class(r) {
					break
				}
				j += n
			}
			return j
		}
	}
	// \s+(?!\S) | \s+ : here s[i] starts a whitespace run (everything else matched above).
	j = i
	lastStart := i
	for j < len(s) {
		r, n := runeAt(s, j)
		if !isSpace(r) {
			break
		}
		lastStart = j
		j += n
	}
	if j == len(s) || lastStart == i {
		return j // run reaches the end, or a single whitespace char (\s+ alone)
	}
	return lastStart // leave the last whitespace char to prefix the next word
}

// ---- Split ----

type splitPreTokenizer struct {
	pat      pattern
	behavior splitBehavior
	invert   bool
}

func (p splitPreTokenizer) preTokenize(in []word) []word {
	return splitWords(in, func(s string, dst []span) []span {
		dst = p.pat.findMatches(s, dst)
		if p.invert {
			for i := range dst {
				dst[i].match = !dst[i].match
			}
		}
		return applyBehavior(dst, p.behavior)
	})
}

// ---- Digits ----

type digitsPreTokenizer struct{ individual bool }

func (p digitsPreTokenizer) preTokenize(in []word) []word {
	b := behaviorContiguous
	if p.individual {
		b = behaviorIsolated
	}
	return splitWords(in, func(s string, dst []span) []span {
		return applyBehavior(runeMatches(s, unicode.IsNumber, dst), b)
	})
}

// ---- Metaspace ----

type metaspacePreTokenizer struct{ m metaspace }

func (p metaspacePreTokenizer) preTokenize(in []word) []word {
	rep := string(p.m.replacement)
	for i := range in {
		w := &in[i]
		w.text = strings.ReplaceAll(w.text, " ", rep)
		switch p.m.prepend {
		case prependAlways:
			if !strings.HasPrefix(w.text, rep) {
				w.text = rep + w.text
			}
		case prependFirst:
			if !strings.HasPrefix(w.text, rep) && w.first {
				w.text = rep + w.text
			}
		}
	}
	if !p.m.split {
		return in
	}
	isRep := func(r rune) bool { return r == p.m.replacement }
	return splitWords(in, func(s string, dst []span) []span {
		return applyBehavior(runeMatches(s, isRep, dst), behaviorMergedWithNext)
	})
}

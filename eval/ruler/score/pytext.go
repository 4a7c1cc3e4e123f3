package score

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the Python 3 string semantics both scorers depend on:
// str.lower, str.isspace (strip, split), and the re module's \w and \d for
// str patterns. Go's unicode tables stand in for Python's unicodedata; the
// two agree on every code point Python 3.11 (Unicode 14) assigns (tested
// against a table Python wrote, testdata/pylower.json).

// pyIsSpace is str.isspace for one rune: Unicode White_Space plus the
// information separators U+001C..U+001F, which Python counts as whitespace.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// pyStrip is str.strip() with no argument.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pySplit is str.split() with no argument.
func pySplit(s string) []string { return strings.FieldsFunc(s, pyIsSpace) }

// pyIsWord is the re module's \w for str patterns: str.isalnum() or '_'.
func pyIsWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// pyIsDigit is the re module's \d for str patterns: a Unicode decimal digit.
func pyIsDigit(r rune) bool { return unicode.IsDigit(r) }

// pyCased is Unicode's Cased property (Lowercase, Uppercase or Lt).
func pyCased(r rune) bool {
	return unicode.IsLower(r) || unicode.IsUpper(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// pyCaseIgnorable is Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk,
// or Word_Break MidLetter, MidNumLet or Single_Quote (listed here, as Go's
// unicode package has no Word_Break tables).
func pyCaseIgnorable(r rune) bool {
	switch r {
	case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// pyLower is Python's str.lower(): the full lowercase mapping (U+0130
// becomes "i" + U+0307), and capital sigma becomes final sigma (U+03C2) when
// it ends a word (Unicode's Final_Sigma context, which Python applies).
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3A3:
			if finalSigma(rs, i) {
				b.WriteRune(0x3C2)
			} else {
				b.WriteRune(0x3C3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma: rs[i] is preceded by a cased letter (skipping case-ignorable
// ones) and not followed by one.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && pyCaseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !pyCased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && pyCaseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !pyCased(rs[j])
}

package ruler

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// The essay haystack: Pride and Prejudice (Project Gutenberg #1342), header
// and footer stripped, line ends made LF. Source: assets/SOURCES.md.
//
//go:embed assets/pride_and_prejudice.txt
var essayText string

// wonderwords 3.0.1's English word lists (MIT). Source: assets/SOURCES.md.
var (
	//go:embed assets/wonderwords/nounlist.txt
	nounList string
	//go:embed assets/wonderwords/adjectivelist.txt
	adjectiveList string
	//go:embed assets/wonderwords/verblist.txt
	verbList string
)

// lines reads a word list as wonderwords does (readlines, rstrip each).
func lines(text string) []string {
	text = strings.TrimSuffix(text, "\n")
	out := strings.Split(text, "\n")
	for i, w := range out {
		out[i] = strings.TrimRight(w, " \t\r\n\v\f")
	}
	return out
}

// sortedSet returns the sorted distinct strings of lists (Python's
// sorted(set(...))).
func sortedSet(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// vocabulary holds the word lists RULER draws from.
type vocabulary struct {
	nouns, adjectives []string // distinct, sorted: keys are "adjective-noun"
	cwe               []string // distinct nouns, adjectives and verbs, sorted
}

var vocab = sync.OnceValue(func() *vocabulary {
	nouns, adjs, verbs := lines(nounList), lines(adjectiveList), lines(verbList)
	return &vocabulary{nouns: sortedSet(nouns), adjectives: sortedSet(adjs), cwe: sortedSet(nouns, adjs, verbs)}
})

// essay is the essay haystack as RULER cuts it: the text split into words
// at runs of white space (re.sub(r'\s+', ' ', essay).split(' ')), and for
// each word whether a sentence ends after it.
type essayWords struct {
	words []string
	ends  []bool
}

var essay = sync.OnceValue(func() *essayWords {
	w := strings.Fields(essayText)
	e := &essayWords{words: w, ends: make([]bool, len(w))}
	for i, word := range w {
		e.ends[i] = endsSentence(word)
	}
	return e
})

// abbreviations are the words whose final period does not end a sentence
// (lower case, without the period), as Punkt's English model treats them.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "messrs": true, "dr": true, "st": true, "esq": true,
	"jr": true, "sr": true, "rev": true, "col": true, "capt": true, "gen": true, "lt": true,
	"viz": true, "vs": true,
}

// endsSentence is a small Punkt-like rule (NLTK's sent_tokenize, which
// RULER uses, is not available to a Go program): a word ends a sentence if
// it ends in '.', '?' or '!' (closing quotes, brackets or underscores may
// follow), unless it is an abbreviation or a single-letter initial.
func endsSentence(word string) bool {
	core := strings.TrimRight(word, "\"')]_")
	if core == "" {
		return false
	}
	switch core[len(core)-1] {
	case '?', '!':
		return true
	case '.':
	default:
		return false
	}
	stem := strings.ToLower(strings.TrimLeft(strings.TrimSuffix(core, "."), "\"'(_["))
	if abbreviations[stem] {
		return false
	}
	if len(stem) == 1 && stem[0] >= 'a' && stem[0] <= 'z' {
		return false // an initial: "F." "W."
	}
	return true
}

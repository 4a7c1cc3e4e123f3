package ruler

import (
	"crypto/sha256"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"starc/internal/testenv"
)

// TestAssetsMatchTheirRecordedSources: every embedded file has the
// checksum SOURCES.md records for it.
func TestAssetsMatchTheirRecordedSources(t *testing.T) {
	src, err := os.ReadFile("assets/SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	rowRe := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|.*\\b([0-9a-f]{64}) \\|$")
	rows := rowRe.FindAllStringSubmatch(string(src), -1)
	if len(rows) != 5 {
		t.Fatalf("SOURCES.md lists %d files with a checksum, want 5", len(rows))
	}
	for _, r := range rows {
		b, err := os.ReadFile("assets/" + r[1])
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != r[2] {
			t.Errorf("%s: sha256 %s, SOURCES.md says %s", r[1], got, r[2])
		}
	}
	embedded := map[string]string{"pride_and_prejudice.txt": essayText, "wonderwords/nounlist.txt": nounList,
		"wonderwords/adjectivelist.txt": adjectiveList, "wonderwords/verblist.txt": verbList}
	for name, text := range embedded {
		if b, _ := os.ReadFile("assets/" + name); string(b) != text {
			t.Errorf("the embedded %s differs from the file", name)
		}
	}
}

// TestEssayIsTheSharedNovelWithoutGutenbergMatter: the essay is the shared
// Pride and Prejudice with only line ends and outer white space changed.
func TestEssayIsTheSharedNovelWithoutGutenbergMatter(t *testing.T) {
	b, err := os.ReadFile(testenv.Shared(t, "data/pg1342_pride_and_prejudice.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(strings.ReplaceAll(string(b), "\r\n", "\n")) + "\n"
	if essayText != want {
		t.Error("the embedded essay is not the shared text with LF line ends, trimmed")
	}
	for _, s := range []string{"Project Gutenberg", "*** START", "*** END", "\r"} {
		if strings.Contains(essayText, s) {
			t.Errorf("the essay still holds %q", s)
		}
	}
	if !strings.HasPrefix(essayText, "It is a truth universally acknowledged") {
		t.Errorf("the essay starts %q", essayText[:60])
	}
	if n := len(essay().words); n < 120000 {
		t.Errorf("the essay has %d words, want Pride and Prejudice's 120000+", n)
	}
}

func TestWordListsAreWonderwords(t *testing.T) {
	v := vocab()
	// Line counts of wonderwords 3.0.1's lists (wc -l), without duplicates.
	if len(v.nouns) < 6700 || len(v.adjectives) < 900 || len(v.cwe) < 8000 {
		t.Errorf("%d nouns, %d adjectives, %d cwe words; want wonderwords' 6782, 912 and their union with 1042 verbs (8168 distinct)", len(v.nouns), len(v.adjectives), len(v.cwe))
	}
	for _, w := range []string{"ATM", "zucchini", "contact lens", "jalapeño"} {
		if !contains(v.nouns, w) {
			t.Errorf("noun %q missing", w)
		}
	}
	for _, w := range v.cwe {
		if w == "" || strings.TrimSpace(w) != w {
			t.Errorf("word %q is empty or padded", w)
		}
	}
}

func contains(s []string, w string) bool {
	for _, x := range s {
		if x == w {
			return true
		}
	}
	return false
}

// TestSentenceEnds: the Punkt-like rule on the cases Pride and Prejudice
// holds (titles, initials, dialogue).
func TestSentenceEnds(t *testing.T) {
	cases := []struct {
		word string
		want bool
	}{
		{"wife.", true},
		{"Mr.", false},
		{"Mrs.", false},
		{"\"Mr.", false},
		{"St.", false},
		{"F.", false}, // an initial
		{"Esq.", false},
		{"Oh!", true},
		{"\"Bingley.\"", true},
		{"it?\"", true},
		{"_You_", false},
		{"_Pemberley._", true},
		{"said,", false},
		{"affection;", false},
		{"(etc.)", true},
		{"", false},
	}
	for _, c := range cases {
		if got := endsSentence(c.word); got != c.want {
			t.Errorf("endsSentence(%q) = %v, want %v", c.word, got, c.want)
		}
	}
}

package ruler

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"starc/eval/ruler/jsonl"
)

// prepareDir holds files RULER's own prepare.py wrote (NVIDIA/RULER
// c3f5e3b, SmolLM2's tokenizer, max_seq_length 1024, seed 42, 2 samples per
// essay-free task), kept by the jsonl package for its reader tests.
const prepareDir = "jsonl/testdata/prepare/1024/data"

var (
	maskUUID   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	maskNumber = regexp.MustCompile(`\b[0-9]+\b`)
	maskVar    = regexp.MustCompile(`\b[A-Z]{3,5}\b`)
	maskKey    = regexp.MustCompile(`for [^\n]+? (is:|mentioned)`)
	maskCoded  = regexp.MustCompile(`\b[a-z]{6}\b`)
	maskItem   = regexp.MustCompile("<N>\\. [^\x01\n]*")
	runList    = regexp.MustCompile(`<N>\. <W>(?: <N>\. <W>)*`)
	runWords   = regexp.MustCompile(`(?:<W>|\.\.\.)(?: (?:<W>|\.\.\.))*`)
	runLines   = regexp.MustCompile(`<L>(?:\n<L>)*`)
)

// shapeOf is a prompt with its random parts masked and its runs of
// haystack lines, list items and coded words collapsed: what must be the
// same, byte for byte, between RULER's samples and ours.
func shapeOf(task string, s *jsonl.Sample) string {
	x := s.Input + "\x00" + s.AnswerPrefix
	x = maskUUID.ReplaceAllString(x, "<U>")
	x = maskNumber.ReplaceAllString(x, "<N>")
	switch task {
	case "vt":
		x = maskVar.ReplaceAllString(x, "<V>")
	case "fwe": // the coded text, between the task's first sentence and the question
		head, rest, _ := strings.Cut(x, "coded words. ")
		text, tail, _ := strings.Cut(rest, "\nQuestion")
		x = head + "coded words. " + runWords.ReplaceAllString(maskCoded.ReplaceAllString(text, "<W>"), "<WORDS>") + "\nQuestion" + tail
	case "cwe":
		// Mark where each item starts, then mask what follows "N. " up to
		// the next mark (words may hold spaces: "contact lens").
		x = maskItem.ReplaceAllString(strings.ReplaceAll(x, " <N>. ", "\x01<N>. "), "<N>. <W>")
		x = strings.ReplaceAll(x, "\x01", " ")
		x = runList.ReplaceAllString(x, "<LIST>")
	default:
		x = maskKey.ReplaceAllString(x, "for <K> $1")
	}
	// Haystack and planted lines become <L>, and runs of them one <L>.
	lines := strings.Split(x, "\n")
	for i, l := range lines {
		if l == noiseLine || strings.HasPrefix(l, "One of the special magic ") || strings.HasPrefix(l, "<V> <V> = ") {
			lines[i] = "<L>"
		}
	}
	return runLines.ReplaceAllString(strings.Join(lines, "\n"), "<L>")
}

// TestSameShapeAsRULERsPrepare compares samples with RULER's own: the
// same prompt bytes outside the random parts, and a haystack the same size
// as the one RULER's search found for the same tokenizer and length.
func TestSameShapeAsRULERsPrepare(t *testing.T) {
	tok := smolLM2(t)
	type size func(s *jsonl.Sample) int
	lineCount := func(s *jsonl.Sample) int {
		return strings.Count(s.Input, noiseLine) + strings.Count(s.Input, "One of the special magic ") - 1
	}
	vtMain := func(s *jsonl.Sample) int {
		parts := strings.Split(s.Input, vtTemplate[:20])
		return strings.Count(parts[len(parts)-1], noiseLine)
	}
	vtExample := func(s *jsonl.Sample) int { return strings.Count(strings.Split(s.Input, vtTemplate[:20])[1], noiseLine) }
	cweWords := func(s *jsonl.Sample) int {
		list := s.Input[strings.LastIndex(s.Input, "\n1. ")+1:]
		list = list[:strings.Index(list, "\n")]
		return len(counts(regexp.MustCompile(`(?:^| )[0-9]+\. `).Split(list, -1)[1:]))
	}
	fweWords := func(s *jsonl.Sample) int {
		text := s.Input[strings.Index(s.Input, "coded words. ")+len("coded words. ") : strings.Index(s.Input, "\nQuestion")]
		return len(strings.Split(text, " "))
	}
	cases := []struct {
		task  string
		sizes []size
		tol   float64 // relative, on the largest size seen
	}{
		{"niah_single_1", []size{lineCount}, 0},
		{"niah_multikey_2", []size{lineCount}, 0.03},
		{"niah_multikey_3", []size{lineCount}, 0.15}, // 8 lines of two UUIDs each
		{"vt", []size{vtExample, vtMain}, 0.1},
		{"cwe", []size{cweWords}, 0.2},
		{"fwe", []size{fweWords}, 0.2},
	}
	for _, c := range cases {
		t.Run(c.task, func(t *testing.T) {
			theirs, err := jsonl.ReadSamples(filepath.Join(prepareDir, c.task, "validation.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			ours, err := Generate(context.Background(), tok, Options{Task: c.task, Length: 1024, Samples: 4, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			var ourShapes []string
			for i := range ours {
				ourShapes = append(ourShapes, shapeOf(c.task, &ours[i].Sample))
			}
			for i := range theirs {
				if s := shapeOf(c.task, &theirs[i]); !slices.Contains(ourShapes, s) {
					t.Errorf("RULER's sample %d has a shape none of ours has:\n%q\nours:\n%q", i, s, ourShapes[0])
				}
			}
			for k, sz := range c.sizes {
				largest := func(ss []jsonl.Sample) int {
					m := 0
					for i := range ss {
						m = max(m, sz(&ss[i]))
					}
					return m
				}
				var ourSamples []jsonl.Sample
				for _, g := range ours {
					ourSamples = append(ourSamples, g.Sample)
				}
				a, b := largest(theirs), largest(ourSamples)
				if d := float64(max(a-b, b-a)); d > c.tol*float64(a)+0.5 {
					t.Errorf("haystack size %d: RULER's %d, ours %d", k, a, b)
				} else {
					t.Logf("haystack size %d: RULER's %d, ours %d", k, a, b)
				}
			}
		})
	}
}

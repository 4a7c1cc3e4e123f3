package score

import (
	"strings"
)

// The STARC artifact's RULER scorer (EPIC-RPI/STARC 30d4ce9,
// evaluation/LongBench/ruler_eval.py): per-sample scores in [0, 1], chosen
// by task name, averaged as a float32 NumPy mean.

// starcMetric scores one prediction against a sample's references.
type starcMetric func(pred string, refs []string) float64

// starcMetricFor picks the metric as ruler_eval.py does, by substring of
// the dataset name "ruler/<task>": multiquery/multivalue → number hits,
// niah → needle (first reference only), vt/cwe/fwe → word hits, qa → any
// reference as a substring.
func starcMetricFor(task string) (starcMetric, bool) {
	name := "ruler/" + task
	switch {
	case strings.Contains(name, "multiquery") || strings.Contains(name, "multivalue"):
		return starcMultiNumber, true
	case strings.Contains(name, "niah"):
		return func(pred string, refs []string) float64 { return starcNeedle(pred, refs[0]) }, true
	case strings.Contains(name, "vt") || strings.Contains(name, "cwe") || strings.Contains(name, "fwe"):
		return starcMultiWords, true
	case strings.Contains(name, "qa"):
		return starcPart, true
	}
	return nil, false
}

// starcPostprocess strips whitespace and removes Llama-3's end-of-turn text.
func starcPostprocess(s string) string {
	return strings.ReplaceAll(pyStrip(s), "<|eot_id|>", "")
}

// starcNormalize is the SQuAD-style normalisation ruler_eval.py applies:
// lower-case, drop ASCII punctuation, replace the words a, an, the by a
// space, collapse whitespace.
func starcNormalize(s string) string {
	s = pyLower(s)
	s = strings.Map(func(r rune) rune {
		if r < 0x80 && strings.ContainsRune(asciiPunctuation, r) {
			return -1
		}
		return r
	}, s)
	s = replaceArticles(s)
	return strings.Join(pySplit(s), " ")
}

// asciiPunctuation is Python's string.punctuation.
const asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// replaceArticles is re.sub(r"\b(a|an|the)\b", " ", s): a match is a whole
// run of \w characters equal to an article.
func replaceArticles(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, run := range wordRuns(s) {
		w := s[run[0]:run[1]]
		if run[2] == 1 && (w == "a" || w == "an" || w == "the") {
			b.WriteByte(' ')
		} else {
			b.WriteString(w)
		}
	}
	return b.String()
}

// wordRuns splits s into maximal runs of \w (flag 1) and non-\w (flag 0)
// characters, as byte ranges [start, end, flag].
func wordRuns(s string) [][3]int {
	var out [][3]int
	start, cur := 0, -1
	for i, r := range s {
		f := 0
		if pyIsWord(r) {
			f = 1
		}
		if f != cur {
			if cur >= 0 {
				out = append(out, [3]int{start, i, cur})
			}
			start, cur = i, f
		}
	}
	if cur >= 0 {
		out = append(out, [3]int{start, len(s), cur})
	}
	return out
}

// findAll is re.findall for a pattern of one character class repeated
// (\d+ or \b\w+\b): the maximal runs of characters in the class.
func findAll(s string, in func(rune) bool) []string {
	var out []string
	start := -1
	for i, r := range s {
		switch {
		case in(r) && start < 0:
			start = i
		case !in(r) && start >= 0:
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// starcMultiNumber: the fraction of references found among the digit runs
// of the normalised prediction (references are compared as written).
func starcMultiNumber(pred string, refs []string) float64 {
	nums := findAll(starcNormalize(starcPostprocess(pred)), pyIsDigit)
	hits := 0
	for _, r := range refs {
		if contains(nums, r) {
			hits++
		}
	}
	if len(refs) == 0 {
		return 0
	}
	return float64(hits) / float64(len(refs))
}

// starcMultiWords: the fraction of lower-cased references found among the
// word runs of the lower-cased prediction (no other normalisation).
func starcMultiWords(pred string, refs []string) float64 {
	words := findAll(pyLower(pred), pyIsWord)
	hits := 0
	for _, r := range refs {
		if contains(words, pyLower(r)) {
			hits++
		}
	}
	if len(refs) == 0 {
		return 0
	}
	return float64(hits) / float64(len(refs))
}

// starcNeedle: 1 when the normalised prediction starts with the normalised
// reference or holds it as a whole whitespace-separated word, else 0.
func starcNeedle(pred, ref string) float64 {
	p := starcNormalize(starcPostprocess(pred))
	r := starcNormalize(ref)
	if r == "" {
		return 0
	}
	if strings.HasPrefix(p, r) || contains(pySplit(p), r) {
		return 1
	}
	return 0
}

// starcPart: 1 when any non-empty normalised reference is a substring of
// the normalised prediction.
func starcPart(pred string, refs []string) float64 {
	p := starcNormalize(starcPostprocess(pred))
	for _, r := range refs {
		if n := starcNormalize(r); n != "" && strings.Contains(p, n) {
			return 1
		}
	}
	return 0
}

// float32Mean is np.array(xs, dtype=np.float32).mean(): the values rounded
// to float32, summed by NumPy's pairwise summation in float32, divided by
// the count in float32.
func float32Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	v := make([]float32, len(xs))
	for i, x := range xs {
		v[i] = float32(x)
	}
	return float64(pairwiseSum32(v) / float32(len(v)))
}

// pairwiseSum32 is NumPy's pairwise_sum for float32: below 8 values a plain
// loop; up to 128, eight interleaved partial sums combined as
// ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the remainder added in order;
// above, the two halves (the first a multiple of 8) summed recursively.
func pairwiseSum32(a []float32) float32 {
	n := len(a)
	switch {
	case n < 8:
		var res float32
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float32
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum32(a[:n2]) + pairwiseSum32(a[n2:])
	}
}

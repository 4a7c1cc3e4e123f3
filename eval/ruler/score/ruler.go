package score

import (
	"fmt"
	"strconv"
	"strings"
)

// Clean is RULER's postprocess_pred (scripts/eval/evaluate.py): strip
// whitespace, turn every character U+0000..U+001F into "\n", strip again.
func Clean(pred string) string {
	s := pyStrip(pred)
	if strings.IndexFunc(s, isControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if isControl(r) {
				return '\n'
			}
			return r
		}, s)
	}
	return pyStrip(s)
}

func isControl(r rune) bool { return r <= 0x1f }

// Round2 is Python's round(x, 2) on a float: x's exact binary value rounded
// to 2 decimals, ties to even, read back as the nearest float.
func Round2(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 2, 64), 64)
	return v
}

// StringMatchAll is RULER's string_match_all (niah, vt, cwe, fwe): per
// sample, the fraction of references found, case-insensitively, as
// substrings of the prediction; the mean over samples × 100, rounded to 2
// decimals. Sums run left to right in float64, as Python ≤ 3.11's sum
// does (3.12 compensates; see package doc). preds are compared as given:
// clean them first, as evaluate.py does.
func StringMatchAll(preds []string, refs [][]string) (float64, error) {
	if err := checkShapes(preds, refs); err != nil {
		return 0, err
	}
	sum := 0.0
	for i, pred := range preds {
		p := pyLower(pred)
		hits := 0.0
		for _, r := range refs[i] {
			if strings.Contains(p, pyLower(r)) {
				hits += 1.0
			}
		}
		sum += hits / float64(len(refs[i]))
	}
	return Round2(sum / float64(len(preds)) * 100), nil
}

// StringMatchPart is RULER's string_match_part (qa): 1 for a sample when
// any reference is found, case-insensitively, in the prediction; the mean ×
// 100, rounded to 2 decimals.
func StringMatchPart(preds []string, refs [][]string) (float64, error) {
	if err := checkShapes(preds, refs); err != nil {
		return 0, err
	}
	sum := 0.0
	for i, pred := range preds {
		p := pyLower(pred)
		best := 0.0
		for _, r := range refs[i] {
			if strings.Contains(p, pyLower(r)) {
				best = 1.0
				break
			}
		}
		sum += best
	}
	return Round2(sum / float64(len(preds)) * 100), nil
}

// checkShapes refuses what makes RULER's metric functions raise: no
// predictions (ZeroDivisionError) and a sample without references.
func checkShapes(preds []string, refs [][]string) error {
	if len(preds) != len(refs) {
		return fmt.Errorf("score: %d predictions but %d reference lists", len(preds), len(refs))
	}
	if len(preds) == 0 {
		return fmt.Errorf("score: no predictions")
	}
	for i, r := range refs {
		if len(r) == 0 {
			return fmt.Errorf("score: sample %d has no reference answers", i)
		}
	}
	return nil
}

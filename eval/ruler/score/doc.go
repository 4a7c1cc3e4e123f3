// Package score scores RULER predictions: RULER's own protocol
// (scripts/eval/evaluate.py and eval/synthetic/constants.py at NVIDIA/RULER
// c3f5e3b) and, as an option, the STARC artifact's ruler_eval.py, the
// scorer behind the STARC paper's Table 3.
//
// RULER: a prediction is cleaned (strip; U+0000..U+001F → "\n"; strip), then
// string_match_all (niah, vt, cwe, fwe: the fraction of references found as
// case-insensitive substrings) or string_match_part (qa: 1 if any is found)
// is averaged over the task's samples, × 100, and rounded to 2 decimals with
// Python's round (exact binary value, ties to even). "Case-insensitive" is
// Python's str.lower, reproduced here (full mapping of U+0130, final sigma),
// and sums run left to right as Python ≤ 3.11's sum() does (RULER's image
// runs Python 3.10). Python 3.12+ sums floats with Neumaier compensation; a
// score can then differ in its last bit before rounding, which changes the
// 2-decimal result only when the mean sits on a rounding boundary.
// Nulls are the predictions empty after cleaning, printed "k/n".
//
// STARC (EPIC-RPI/STARC 30d4ce9, evaluation/LongBench/ruler_eval.py): per
// sample, by task name, multiquery/multivalue → the fraction of references
// among the digit runs of the normalised prediction; other niah → 1 if the
// normalised prediction starts with the normalised first reference or holds
// it as a word; vt/cwe/fwe → the fraction of lower-cased references among the
// prediction's lower-cased \w runs; qa → 1 if a normalised reference is a
// substring. Normalisation is SQuAD's (lower-case, drop ASCII punctuation,
// drop a/an/the, collapse whitespace) after stripping and removing
// "<|eot_id|>". The task score is the float32 NumPy mean of the per-sample
// scores, a fraction 0–1, unrounded (the paper prints 4 decimals). The
// artifact applies its metrics to the decoded text directly, without
// RULER's cleaning; so does this package. Where ruler.md §6 left details
// open, the artifact's code settled them; nothing here is a guess.
//
// Both protocols are proven against the Python functions themselves on
// hand-made cases (testdata/goldens.json, written by
// bench/ruler/goldens.py).
package score

// Package jsonl reads and writes RULER's file formats: the data JSONL that
// RULER's prepare.py writes (one sample a line, under
// <length>/data/<task>/validation.jsonl) and the prediction JSONL its
// evaluate.py scores (one line per answered sample, appended as samples
// finish, so an interrupted run resumes by skipping the indices present).
//
// Conventions, checked against RULER's scripts (NVIDIA/RULER c3f5e3b):
//
//   - Lines are JSON objects; blank lines are skipped (RULER reads both files
//     with NeMo's read_manifest, which strips each line and skips empty ones).
//     Field names match exactly and case-sensitively, as Python's json does;
//     fields RULER may add later are ignored.
//   - A data line needs index (integer ≥ 0, unique in the file), input
//     (string) and outputs (non-empty array of strings). The other fields are
//     optional and default as RULER's call_api.py defaults them (length and
//     truncation -1, others empty).
//   - RULER's niah.py writes the character offset of the first answer in the
//     input as "index" (its sample counter is shadowed), so indices of niah
//     files are unique only by chance; a duplicate is reported as an error,
//     because resuming a run by index would silently skip a sample (which is
//     what RULER's own call_api.py does with such a file).
//   - Every error names the file, the 1-based line and, where one is at
//     fault, the field.
//
// Prediction files are written one whole line per Write call and never
// buffered in the process, so a kill between samples loses nothing. Bytes
// after the last newline are a torn write; Resume truncates them.
package jsonl

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
//   - A data line needs index (integer ≥ 0), input (string) and outputs
//     (non-empty array of strings). The other fields are optional and default
//     as RULER's call_api.py defaults them (length and truncation -1, others
//     empty).
//   - Indices are not unique. RULER's niah.py writes the character offset of
//     the first answer in the input as "index" (its sample counter is
//     shadowed), so two samples whose needle sits at the same offset share
//     one: 2 of the 10 niah_multikey_3 samples prepare.py made at 4096 for
//     SmolLM2 do. RULER's call_api.py then resumes by index and silently
//     skips the second sample; here the n-th prediction line with index X
//     answers the n-th sample with index X (see OpenPredictions).
//   - Every error names the file, the 1-based line and, where one is at
//     fault, the field.
//
// Prediction files are written one whole line per Write call and never
// buffered in the process, so a kill between samples loses nothing. Bytes
// after the last newline are a torn write; Resume truncates them.
package jsonl

// Package jsonl reads and writes RULER's file formats: the data JSONL that
// RULER's prepare.py writes (one sample a line, under
// <length>/data/<task>/validation.jsonl) and the prediction JSONL its
// evaluate.py scores (one line per answered sample, appended as samples
// finish, so an interrupted run resumes by skipping the indices present).
package jsonl

// Package taskrun runs long-context task evaluations (RULER's tasks, or any
// RULER-format data) for several attention cells into one output
// directory, and reads the directory back as a scored table.
//
// A run is a grid of (length, task, sample) × cell. Each sample is
// prefilled once and every cell answers it on a fork of that prefill
// (eval.Answerer). The directory is RULER's layout, so RULER's own
// evaluate.py can score it:
//
//	OUT/config.json                          the run's configuration (a rerun must match it)
//	OUT/<length>/data/<task>/validation.jsonl the samples (RULER data JSONL)
//	OUT/<length>/pred/<cell>/<task>.jsonl     one prediction line per answered sample
//	OUT/<length>/trace/<cell>/<task>/sample-NNNN.jsonl  with traces: the answer's pim access trace
//
// Predictions are appended one line per sample as it finishes; a rerun
// skips the samples every cell has already answered, so an interrupted run
// resumes where it stopped.
package taskrun

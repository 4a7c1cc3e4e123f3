// Package grid makes every starc evaluation a grid of independent cells:
// models × workloads (perplexity windows of a text, RULER tasks at a
// length and needle depth) × methods × budgets, under one set of attention
// knobs. A spec (JSON, strictly decoded) plans the cells in a fixed order,
// each with a stable ID: a hash of its full configuration, starc's version
// and the model's fingerprint. Cells are dealt to shards deterministically,
// so N processes (a Slurm array, a Kubernetes Indexed Job) each run a
// disjoint part of the grid into one shared directory.
//
// Directory layout (DIR, one per spec):
//
//	DIR/grid.json            the plan: spec hash, version, shard count, every cell ID
//	DIR/<id>/config.json     the cell's configuration (what its ID hashes)
//	DIR/<id>/samples.jsonl   one line per finished sample, appended as it finishes
//	DIR/<id>/result.json     the cell's scores, written last and atomically
//
// A cell with result.json is finished and never run again; a cell with
// samples is resumed from them (a line cut short by a kill is dropped, so
// every sample is counted exactly once). Merge reads every cell into one
// long table and lists the cells missing or partial, never dropping them.
package grid

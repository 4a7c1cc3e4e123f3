// Package attention decides what each query head reads at each decode step
// and where the keys and values it reads physically live.
//
// Two interfaces, one orchestrator:
//
//   - Store holds K/V vectors by (layer, KV head, slot). Dense keeps float32
//     in host memory (the reference, read in place); PIM keeps FP16 in the
//     rows of a simulated HBM-PIM device (package pim), which charges every
//     read, write and move.
//   - Method chooses, per (decode step, layer, query head), which cached
//     token positions to attend to under a token budget: full (the oracle),
//     starc (clusters of keys remapped contiguously into rows), quest
//     (16-token pages with min/max key bounds), quest-kernel (the same with
//     the current page always kept), topk (exact per-token top-B), sparq
//     (approximate scores from the largest query components) and streaming
//     (sinks plus a recent window). New reads the registry.
//   - Engine runs one sequence: it writes each new token's K/V to the Store,
//     asks the Method, reads the union of the selected slots of each KV
//     head once (GQA), and computes softmax(q·Kᵀ/√d)·V per query head over
//     exactly its selection, in position order.
//
// Positions and slots. Methods speak token positions (0..n-1, original
// order); stores speak physical slots. The Engine owns the map: token pos
// starts in slot pos, and a Method may permute the slots of tokens it has
// seen through Mover (STARC's cluster-contiguous layout). Because the
// attention sum always runs in position order, a method that selects every
// token gives exactly the full-attention output, remap or not.
//
// Layers below Config.DenseLayers, and all of prefill, attend densely, as
// the released STARC and Quest code do. Prefill attention is causal and
// blocked (two GEMMs per head); decode attention is one matrix-vector
// product, a softmax and one weighted row sum per head, parallel over heads.
//
// Sliding window (Mistral's sliding_window; Engine.SetSlidingWindow, set by
// model.NewState from config.json): the token at position p attends to
// positions p−W+1 … p only, in prefill (masked) and decode (dense layers
// read the window; topk, sparq, quest and starc rank only the window's
// tokens, pages or clusters; streaming's choices are cut to it). The store
// keeps the whole sequence; see window.go.
//
// Observers: OnRead sees each KV head's read (row counts, access traces for
// `starc hw --trace`); OnSelect sees each query head's selection (the
// paper's per-head row rule); EnableQuality measures every selection
// against full attention (top-10 recall, attention-mass recall).
//
// Ownership: an Engine allocates its scratch once (NewEngine) and Decode
// allocates nothing; it is not safe for concurrent use.
package attention

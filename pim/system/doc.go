// Package system is the analytic system model behind `starc hw`: the cost of
// one decode step of a decoder-only model on a DGX of GPUs with an AttAcc
// HBM-PIM device per GPU holding the KV cache (../shared/docs/attacc.md §3).
// The GPU side (FC layers by a tiling/roofline model, element-wise layers by
// fitted formulas, NVLink all-reduce), the GPU↔AttAcc link, the softmax unit,
// the pipeline and FF-parallel overlaps and the averaging over decode steps are
// closed-form arithmetic here; the attention of a step comes from package pim's
// closed-form cycle model (pim.ClosedFormAttention), or from any CyclesFunc.
//
// # Units
//
// Inside a step everything is per decoder layer in seconds and pJ. Columns are
// AttAcc's output units: ms for one decode step of the whole batch (all layers),
// nJ per decode step; Result.Columns averages them over the Lout-1 steps.
// Cycles are tCK of the PIM (0.769 ns). Budgets and contexts are in tokens;
// R = ceil(L_eff/16) is the number of 16-token groups per partition a channel
// reads (attacc.md §4.2).
//
// # Steps and budgets
//
// Decode step s = 1..Lout-1 attends over L = Lin+s tokens (AttAcc's
// convention). With a budget table, step s uses line s; a table shorter than
// the run is an error unless Config.PadTable repeats its last line, as the
// artifact pads it (Result.PaddedSteps counts those steps). R = min(ceil(B/16),
// ceil(L/16)) and L_eff = 16R: the selected tokens are assumed packed into
// whole rows (attacc.md §4.4, starc.md §6.2). The attention of a step depends
// only on R, so it is computed once per distinct R (Result.DistinctR); the rest
// of a step is a few hundred flops. Run keeps no per-step rows: memory is one
// memo entry per distinct R, and Result.EachStep recomputes the rows for the
// writers. Config fields are bounded (maxSteps decode steps, fieldLimits on
// the model shape, a batch of 2^16) so a run's memory and time are its steps'.
//
// # AttAccCompat versus the hardware as it is
//
// With Config.AttAccCompat the model reproduces AttAcc's choices, and its
// columns match the real simulator (TestSystemParityAttAcc, 3e-10 relative):
//   - No GQA: every query head has its own K/V. Heads per stack =
//     ceil(int(H/tp)·batch/stacks), one per channel; K/V bytes and commands
//     counted per query head; the qkv FC is 3·int(h/tp) wide.
//   - FFN from AttAcc's table: width ff_scale·int(h/tp) (LLaMA-7B 8/3, not
//     11008/4096), 3 matrices only for names containing "LLAMA" (Mistral-7B
//     gets 2 GELU matrices); head dim = int(h/H).
//   - Energy bookkeeping: the busiest stack's counts × all stacks (13 heads × 5
//     = 65 for Mistral's 64); the IO constants (interposer 0.3, TSV 0.5, GIO mux
//     1.23, BG mux 1.01 pJ/bit) applied per byte; PIM ALU energy for the score
//     MACs only, over the full L even when sparse; softmax over the full L.
//   - STARC clustering (method starc) is charged once, at the last step, on the
//     full context, with the command counts of AttAcc's trace generator
//     (attacc.md §4.5; exact against the L = 34047 Ramulator2 run).
//
// Without it, the hardware as it is:
//   - GQA: one KV head per channel; KV heads per GPU = ceil(KV/tp) (replicated
//     when fewer than the GPUs), so KV-head instances per AttAcc =
//     ceil(KV/tp)·batch. K/V cells are read once per KV head: MACs and cell
//     energy per KV head; the query-side commands (WRGB, MVSB, MVGB, SFM) once
//     per query head of the group. The qkv FC is (H+2·KV)·dh/tp wide.
//   - The model's own FFN: gate, up and down matrices of width
//     intermediate/tp, SwiGLU activation (Model.GELUFFN, GPT-13B: up and
//     down only, GELU).
//   - Energy for the exact instance count (no per-stack rounding), IO constants
//     per bit (8× AttAcc's), ALU energy for score and context MACs over the
//     tokens actually read (L_eff), softmax over L_eff.
//   - STARC clustering per recluster (starc.md §1.4): at step 1 the prompt plus
//     the current token in 64-token windows, then one window whenever the
//     buffer fills (steps 65, 129, ...), per KV head, with the STARC paper's
//     Table 1 command counts (K = ceil(n/16), 16 iterations, the cap) plus the
//     remap of the window's K and V rows.
//
// Common to both, and approximations to keep in mind:
//   - Time of one step's attention = one channel's cycles (every stack and
//     AttAcc in parallel). More heads per stack than channels run in
//     ceil(heads/16) rounds back to back; AttAcc software-pipelines paired
//     rounds, which this does not model (an upper bound).
//   - In GQA mode a channel's time is pim's closed form for one head at R: the
//     bank GEMV units are assumed to apply each column read to all queries of
//     the group; the extra query-side data-path commands are charged energy
//     but no time.
//   - Clustering cycles are an issue-bound estimate, nCCDAB per MAC slot plus
//     nBL per data-path command, nothing overlapped: -20 % and +5.5 % against
//     the two Ramulator2 clustering steps in attacc.md §4.5 (TestAttAccClusterStep);
//     the charge is 0.03 to 0.06 % of g_time there.
//   - All layers use the budget table (STARC and Quest keep layers 0 and 1
//     dense; neither the artifact nor this package does).
//   - pim's closed form models head dim 128 (AttAcc's trace layout); other head
//     dims need Config.Cycles.
//
// # Failure modes
//
// Unknown model names, malformed budget tables (file, line, field), configs
// whose KV cache (2 · layers · KV heads (heads in compat mode) · head dim · 2 B
// · (Lin+Lout-1) · batch) exceeds the PIM capacity computed from the
// organisation (AttAccs × stacks × channels × pCH × ranks × BG × banks × rows ×
// columns × column bytes), and hardware whose organisation does not add up to
// its stated density are errors prefixed "system: ", never panics.
//
// # Ownership
//
// Run owns nothing after it returns; Result is plain data (Steps holds one row
// per decode step, 32 000 at the paper's Lout). Nothing here keeps state
// between runs or is safe to mutate concurrently with Run.
package system

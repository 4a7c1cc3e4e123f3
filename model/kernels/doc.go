// Package kernels holds the float32 primitives of the decoder's hot path:
// matrix-vector and matrix-matrix products over weights kept in their
// on-disk type (F32, F16, BF16), RMSNorm, RoPE, softmax, SiLU·up, a float32
// exp, the weighted row sum of attention (Σ_j p_j·V_j), vector arithmetic
// and the 16-bit ⇄ float32 conversions. It imports nothing from starc.
//
// # Conventions
//
// Destination first: Kernel(dst, inputs...), as in gonum. In-place kernels
// (Softmax, Scale, RoPE*) take the slice they modify. Lengths must match
// exactly; a mismatch is a programming error and panics with a message
// starting "kernels: ". No kernel allocates: buffers belong to the caller
// (the model's preallocated run state), except MatMul's weight-panel
// scratch, which belongs to the Pool worker (or, for the package-level
// MatMul, to a sync.Pool) and is grown only when a larger shape appears.
//
// # Shapes
//
// A Matrix is row-major [Rows][Cols] exactly as a checkpoint stores an
// nn.Linear weight [out][in]: MatVec computes dst[r] = Σ_c W[r,c]·x[c]
// (len(x) = Cols, len(dst) = Rows), and MatMul computes the batched
// dst[i][r] = Σ_c x[i][c]·W[r,c] for n rows (x [n][Cols], dst [n][Rows]),
// i.e. dst = x·Wᵀ. MatVecBatch computes the same product with MatVec's
// numbers for every row (the batched decode step). RoPE kernels take one or more heads of d = 2·len(cos)
// elements and the cos/sin of one position.
//
// # Precision
//
// Accumulation is float32 with FMA and several partial sums; 16-bit weights
// are widened exactly to float32 before use. Fast paths sum in a different
// order from the plain-Go twins, so results agree to within a few float32
// ulps times √n relative to Σ|w·x| (the tests state the bound), not bit for
// bit. MatVecBatch is exact by design: its tile kernels are the
// matrix-vector kernels run for several vectors at once, so every row
// equals MatVec's, bit for bit, at every level (MatMul sums in another
// order). Exp, Softmax and SiLUMul share one float32 exponential (Cody–Waite
// reduction, degree-6 polynomial, exponent-bit scaling) accurate to 2 ulp
// (measured under 1 ulp on the SIMD paths); Softmax sums in float64 and is
// within 1e-6 relative of a float64 softmax per element.
//
// # Dispatch
//
// The implementation is picked once at start-up from the CPU features
// (golang.org/x/sys/cpu): AVX-512 (F, BW, VL) kernels for MatVec, MatMul,
// Exp, Softmax, SiLUMul and WeightedRowSum when present, else
// AVX2+FMA+F16C, else plain Go, which is also the only path on other
// architectures (build tag !amd64). ISA reports the choice. The assembly
// lives in *_amd64.s; each kernel handles the longest prefix that is a
// whole number of vectors and its Go wrapper finishes the rest, so the
// generic loops double as the reference ("twin") the tests compare with.
// (WeightedRowSum's kernels do every column, the last block under a lane
// mask; its twin is the generic level.) The group kernels (ScoreRows,
// WeightedRowSums and their F16 forms: the query heads of one KV group
// over the same rows) have AVX-512 paths for head dims of 64 (ScoreRows:
// any multiple of 16) and are specified as the single-query kernels
// applied query by query, bit for bit, at every level.
//
// # Hot path and parallelism
//
// A decode step is dominated by MatVec, which streams every weight from
// DRAM once: it is memory bound, and widening bf16/f16 in registers halves
// the bytes moved compared with float32 weights. The AVX-512 BF16 kernel
// reads the weights as 32-bit pairs against x split into even and odd
// elements (splitPairs, once per product), so that a shift and an AND widen
// 32 weights loaded at once. MatMul (prefill) is
// compute bound and uses a packed, register-blocked micro-kernel. Pool
// splits either across persistent worker goroutines (no goroutine per call)
// and exposes Run for callers' own per-head or per-row work; MatVecs hands
// several products over one x (q, k, v; gate, up) to the workers at once.
package kernels

// Package model is the Llama/Mistral/Qwen2 decoder: it reads an HF checkpoint's
// config.json and weights, and turns token ids into next-token logits. It
// speaks ids, never text (see package tokenizer).
//
// Shapes and units. Vectors are []float32. Weight matrices stay in their
// stored dtype (bf16, f16 or f32) as row-major [out][in] kernels.Matrix
// views of the checkpoint's mmap. RoPE rotates split halves of each head
// (element i with i+HeadDim/2), the HF convention; GGUF checkpoints are
// permuted into it by `starc convert`.
//
// Ownership. A Model is immutable and may serve several States. A State
// owns every activation buffer of one sequence (allocated once by NewState;
// Forward allocates nothing), its worker pool and its attention.Engine,
// which holds the KV store (dense, or the simulated PIM device) and the
// selection method (full, starc, quest, ...).
//
// The pass. Forward (one token, the decode hot path) and Prefill (a block of
// tokens through GEMMs, causal attention) compute the same function:
//
//	x = Embed[token]
//	for each layer:
//	    n = RMSNorm(x); q, k, v = Wq·n+bq, Wk·n+bk, Wv·n+bv; RoPE(q, k, pos)   (biases: Qwen2 only)
//	    x += Wo · Attention(q, K/V of the selected cached tokens)
//	    n = RMSNorm(x); x += Wdown · (silu(Wgate·n) ⊙ Wup·n)
//	logits = LMHead · RMSNorm(x)
package model

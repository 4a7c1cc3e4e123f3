// Package weights reads model checkpoints from disk: Hugging Face
// safetensors files and checkpoint directories, and GGUF files with their
// ggml quantized tensor types.
//
// # Formats
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON header (tensor name → dtype, shape, data_offsets; optional
// "__metadata__" string map), then the data buffer. Offsets are relative to
// the start of the data buffer, and the tensors must tile it exactly.
// WriteSafetensors writes such files.
//
// A GGUF file (versions 2 and 3) is a header, typed metadata key/value pairs,
// tensor infos, and an aligned data section. Shapes are given as ggml ne[]
// where ne[0] varies fastest: ne=[576,192] is 192 rows of 576 columns.
// Dequantize turns blocks of a ggml type (F32, F16, BF16, Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, Q2_K..Q8_K) into float32.
//
// # Units
//
// Shapes and element counts are in elements; offsets and sizes in bytes.
// All on-disk numbers are little-endian; the zero-copy views assume a
// little-endian host and fall back to copying otherwise.
//
// # Ownership
//
// OpenSafetensors, OpenCheckpoint and OpenGGUF map files read-only with
// mmap. Tensor.Data, the slices returned by Tensor.Float32s and
// Tensor.Uint16s when they are views, and GGUFFile.TensorData point into the
// mapping: they are valid until Close and must not be written to (the
// mapping is read-only; a write faults). Copy what must outlive Close.
// ParseSafetensors and ParseGGUF parse a caller-owned byte slice instead, and
// their views alias it. Metadata values, names and shapes are copies and stay
// valid after Close.
//
// Every error from malformed input is returned, never panicked, and names the
// file and the offending field, e.g.
// `weights: model.safetensors: tensor "lm_head.weight": ...`.
package weights

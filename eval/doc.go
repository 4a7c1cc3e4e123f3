// Package eval runs experiments on a loaded model: perplexity under
// llama.cpp's chunked protocol and under STARC's token-by-token stream
// protocol (where the sparse attention method is active for every
// prediction), with selection-quality and hardware figures attached.
//
// eval is the one package that sees model, attention, pim and tokenizer
// together; it takes token ids, so tokenisation stays with the caller.
package eval

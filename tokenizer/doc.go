// Package tokenizer converts text to token ids and back, exactly as a Hugging Face
// tokenizer.json specifies, in pure Go. It is a leaf package: it imports nothing from starc.
//
// # Scope
//
// The supported subset is what Llama-, Mistral-, SmolLM- and Qwen2-family tokenizers use: a BPE model
// (byte-level or SentencePiece-style with byte fallback), the normalizers Sequence, Prepend,
// Replace, NFC/NFD/NFKC/NFKD, the pre-tokenizers ByteLevel, Split, Digits, Metaspace and
// Sequence, the post-processors TemplateProcessing, ByteLevel and Sequence, and the decoders
// ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence. Anything else is
// rejected when the file is parsed, with an error naming the component, for example
//
//	tokenizer: tokenizer.json: pre_tokenizer: type "Whitespace" not supported
//
// Such errors wrap ErrUnsupported.
//
// The ids equal those of the HF `tokenizers` library: the tests run that library (PyPI wheel,
// through testdata/hf_oracle.py) as an oracle, and check the SentencePiece path against
// llama.cpp goldens. Known, deliberate differences: a character that is neither in the vocab
// nor covered by byte fallback or an unk_token is dropped (HF fails the whole call), and
// Unicode classes (\p{L}, \s, NFC tables) come from Go's tables, whose Unicode version may
// differ from Oniguruma's for recently assigned characters.
//
// # Encoding pipeline (as in HF)
//
//  1. Added tokens (tokenizer.json "added_tokens") are cut out of the raw text, longest match
//     first at the leftmost position. With EncodeOptions.ParseSpecial false, tokens marked
//     special are left in the text and only non-special added tokens are cut out.
//  2. Every remaining text segment is normalized on its own (so a Prepend("▁") normalizer puts
//     a "▁" in front of each fragment that follows a special token, as llama.cpp does), then
//     added tokens marked normalized=true are cut out of the normalized text.
//  3. The pre-tokenizer splits each segment into words; the BPE model turns each word into ids.
//  4. With EncodeOptions.AddSpecial the post-processor template adds BOS/EOS ids.
//
// Invalid UTF-8 in the input is first replaced by U+FFFD the way Rust's String::from_utf8_lossy
// does (one U+FFFD per maximal invalid subpart), since HF only ever sees valid strings.
//
// # Units and ownership
//
// Ids are int. Texts are Go strings (UTF-8). A *Tokenizer is immutable after Parse apart from
// its internal word cache, which is guarded by a mutex: it is safe for concurrent use. A
// *StreamDecoder belongs to one goroutine.
//
// # Hostile input
//
// Regex patterns from tokenizer.json run in a backtracking engine, so one match is bounded
// to five seconds: a pattern that backtracks catastrophically on the text makes EncodeContext
// fail with a *MatchTimeoutError naming the file and the pattern (Encode returns nil).
// EncodeContext also stops with its context's error, looking at it every 1024 words. A Regex
// in a Replace decoder is refused at Parse, since Decode has no error to report a timeout
// with; so is a file that starts with a byte order mark.
//
// # BOS and EOS
//
// BOS is, in this order of preference: (1) the special token placed before the sequence in the
// post-processor's single template; (2) the bos_token of a tokenizer_config.json lying next to
// the file given to Load; (3) the first added special token whose content is one of "<s>",
// "<|begin_of_text|>", "<bos>", "<|startoftext|>". EOS likewise: (1) the special token after
// the sequence in the template; (2) eos_token of tokenizer_config.json; (3) one of "</s>",
// "<|end_of_text|>", "<eos>", "<|endoftext|>". FromGGUFTokenizer instead takes both ids
// straight from the GGUF metadata.
//
// # GGUF
//
// FromGGUF writes the tokenizer.json that HF's converters would produce from a GGUF's
// tokenizer.ggml.* metadata: SentencePiece ("llama") vocabularies become a byte-fallback BPE
// with merges ordered by piece score, byte-level ("gpt2") vocabularies keep their merges and get
// the pre-tokenizer that tokenizer.ggml.pre names ("smollm", "llama-bpe", "qwen2" with its NFC
// normalizer and split regex, or GPT-2's default).
package tokenizer

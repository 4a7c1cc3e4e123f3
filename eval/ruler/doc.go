// Package ruler generates RULER's 11 synthetic long-context tasks
// (Hsieh et al., "RULER: What's the Real Context Size of Your Long-Context
// Language Models?", COLM 2024): niah_single_1/2/3, niah_multikey_1/2/3,
// niah_multivalue, niah_multiquery (needle in a haystack), vt (variable
// tracking), cwe (common words) and fwe (frequent words).
//
// What is RULER's, kept byte for byte: the task templates and answer
// prefixes, the needle line, the noise line, the singular rewrite, the
// worked examples of vt and cwe, the key and value types, the 40 essay
// depths, and the length control: tokens(prompt) + tokens to generate ≤
// Length, the prompt being Template(task text) + answer prefix, counted
// with the model's own tokenizer without special tokens; the largest
// haystack that fits is found once per task and length (binary search for
// niah, vt and cwe; fwe's upward scan), and a sample that still overflows
// shrinks by RULER's increment.
//
// What is ours: the random streams. Each sample draws from its own PCG
// stream seeded from (seed, task, length, index), and every bounded draw is
// computed here from the stream's 64-bit outputs, so the same seed,
// tokenizer and length give the same bytes on every machine and every Go
// release, and sample i does not depend on how many samples were asked for.
// They cannot reproduce RULER's Python samples, only their distribution
// (where RULER reshuffles with a fixed seed, making positions repeat from
// sample to sample, each sample here shuffles with its own stream). The
// essay haystack is Pride and Prejudice (Paul Graham's essays, RULER's
// choice, are not redistributable), split into sentences by a small
// Punkt-like rule set; word lists are wonderwords 3.0.1's. Sources and
// licences: assets/SOURCES.md.
//
// Units: Length and token counts are tokens; Needle and Answers offsets are
// byte offsets into Sample.Input; depths are percent of the haystack.
package ruler

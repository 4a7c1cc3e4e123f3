// Package ruler generates RULER's 11 synthetic long-context tasks
// (Hsieh et al., "RULER: What's the Real Context Size of Your Long-Context
// Language Models?", COLM 2024): niah_single_1/2/3, niah_multikey_1/2/3,
// niah_multivalue, niah_multiquery (needle in a haystack), vt (variable
// tracking), cwe (common words) and fwe (frequent words).
//
//	gs, err := ruler.Generate(ctx, tok, ruler.Options{Task: "niah_single_2", Length: 4096, Samples: 10, Seed: 42})
//
// What is RULER's, kept byte for byte: the task templates and answer
// prefixes, the needle line, the noise line, the singular rewrite (applied,
// as niah.py does, to the whole prompt template, model template included),
// the worked examples of vt and cwe, the key and value types, the 40 essay
// depths, fwe's Zipf counts and "..." noise word, and the length control:
// tokens(prompt) + tokens to generate ≤ Length, the prompt being
// Template(task text) + answer prefix, counted with the model's own
// tokenizer without special tokens; the largest haystack that fits is
// searched once per call (RULER's binary search and bounds for niah, vt and
// cwe; fwe's upward scan), and a sample that still overflows shrinks by
// RULER's increment (essay 500 words; lines 25, or 5 below 4096; vt 10, or
// 5; cwe 10; fwe (Length-50)/32). Options.Depth adds what RULER lacks: every
// needle at one depth, for a depth × length heatmap.
//
// What is ours:
//   - The random streams. Sample i draws from its own PCG stream seeded from
//     (seed, task, length, i), and every bounded draw is computed here from
//     the stream's 64-bit outputs, so the same seed, tokenizer and length
//     give the same bytes on every machine and Go release, and sample i does
//     not depend on how many samples were asked for. Each search candidate
//     is drawn from one fixed stream, so the search is a function of the
//     haystack size. They reproduce RULER's distributions, not its Python
//     samples; where RULER reshuffles with a fixed seed (needle order, cwe's
//     and fwe's word order), which repeats positions from sample to sample,
//     each sample here shuffles with its own stream.
//   - The essay: Pride and Prejudice (Paul Graham's essays, RULER's choice,
//     may not be redistributed), cut into sentences by a small Punkt-like
//     rule (NLTK's Punkt, which RULER uses, is not available in Go).
//   - Keys "adjective-noun" draw the adjective and the noun independently
//     (RULER: uniform over the set of all pairs; the same but for the rare
//     pair two splits spell alike); vt's names within a chain are distinct.
//   - Where RULER would loop for ever (a sample that overflows at its
//     smallest haystack) or switch to a word list not shipped (cwe past the
//     8168 wonderwords words, about 190K tokens), an error.
//
// Word lists are wonderwords 3.0.1's, as RULER's. Sources and licences of
// the embedded data: assets/SOURCES.md. Units: Length and token counts are
// tokens; Needle and Answers offsets are byte offsets into Sample.Input;
// depths are percent of the haystack.
package ruler

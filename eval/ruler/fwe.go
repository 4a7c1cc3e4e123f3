package ruler

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// fwe's configuration (freq_words_extraction.py): coded words of 6
// lower-case letters, counts Zipf with α = 2 (count_k = int(n·k^-α/ζ(α))),
// the rank-1 word replaced by "..." as noise, the answer ranks 2 to 4.
const (
	fweWordLen = 6
	fweAlpha   = 2.0
	fweZeta    = math.Pi * math.Pi / 6 // ζ(2) (scipy.special.zeta(2.0))
	fweNoise   = "..."                 // the code's noise word (the template says '....')
)

type fweBuilder struct {
	tmpl  string
	vocab int // vocabulary size: (Length - tokens to generate) / 50
}

// drawVocab is the coded vocabulary of one sample: distinct random words
// in random order, the first replaced by the noise word.
func (b *fweBuilder) drawVocab(r *stream) []string {
	seen := make(map[string]bool, b.vocab)
	words := make([]string, 0, b.vocab)
	for len(words) < b.vocab {
		w := r.letters(lowerLetters, fweWordLen)
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	words[0] = fweNoise
	return words
}

// text is gen_text(n): each word k (1-based rank) int(n·k^-α/ζ(α)) times,
// shuffled, joined by " ", in the template.
func (b *fweBuilder) text(r *stream, vocab []string, n int) draft {
	var words []string
	for k, w := range vocab {
		c := int(float64(n) * math.Pow(float64(k+1), -fweAlpha) / fweZeta)
		for range c {
			words = append(words, w)
		}
	}
	r.shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	answers := vocab[1:4]
	first := []int{-1, -1, -1}
	var sb strings.Builder
	for i, w := range words {
		if i > 0 {
			sb.WriteByte(' ')
		}
		for a, ans := range answers {
			if w == ans && first[a] < 0 {
				first[a] = sb.Len()
			}
		}
		sb.WriteString(w)
	}
	text, at := fillAt(b.tmpl, "context", "context", sb.String(), "query", "")
	d := draft{text: text, outputs: append([]string(nil), answers...)}
	for _, f := range first {
		if f < 0 {
			d.answers = append(d.answers, -1)
			continue
		}
		d.answers = append(d.answers, at+f)
	}
	return d
}

// searchFWE is sys_kwext's first call: from n = max/6 words, grow by
// max/32 while the prompt has fewer than max tokens (max = Length -
// tokens to generate), then step back once.
func (p *plan) searchFWE(ctx context.Context) error {
	tmpl := promptTemplate(p.opts.Template, fweTemplate, fweAnswerPrefix)
	if err := checkTemplate(p.task.Name, tmpl); err != nil {
		return err
	}
	p.prefix = fweAnswerPrefix[:10]
	p.fweMax = p.opts.Length - p.task.TokensToGenerate
	b := &fweBuilder{tmpl: tmpl, vocab: p.fweMax / 50}
	p.b = nil
	p.fwe = b
	p.step = p.fweMax / 32
	// Four words at least, so that ranks 2 to 4 exist.
	if b.vocab < 4 || p.step < 1 {
		return fmt.Errorf("ruler: fwe: length %d is too small: the vocabulary ((length - %d) / 50) needs 4 words, so length ≥ %d",
			p.opts.Length, p.task.TokensToGenerate, 200+p.task.TokensToGenerate)
	}
	vocab := b.drawVocab(p.searchStream("search"))
	count := func(n int) int { return p.tok.Count(b.text(p.searchStream("shuffle"), vocab, n).text) }
	n := p.fweMax / fweWordLen
	for count(n) < p.fweMax {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ruler: fwe at %d: %w", p.opts.Length, err)
		}
		// The coded text holds about n words (n less the vocabulary at most,
		// from the truncated counts), each at least one token.
		if n > 2*p.fweMax+b.vocab {
			return fmt.Errorf("ruler: fwe: %d coded words still count fewer than %d tokens: is the tokenizer counting?", n, p.fweMax)
		}
		n += p.step
	}
	p.found = n - p.step
	return nil
}

// fweMinWords is the smallest n for which rank 4 appears at least once.
var fweMinWords = int(math.Ceil(fweZeta * 16))

// sampleFWE draws sample i: a new vocabulary, n words, fewer by the step
// while the prompt exceeds max tokens.
func (p *plan) sampleFWE(ctx context.Context, i int) (Generated, error) {
	r := newStream(p.opts.Seed, p.task.Name, p.opts.Length, "sample", i)
	vocab := p.fwe.drawVocab(r)
	n := p.found
	for {
		if err := ctx.Err(); err != nil {
			return Generated{}, fmt.Errorf("ruler: fwe at %d: %w", p.opts.Length, err)
		}
		if n < fweMinWords {
			return Generated{}, fmt.Errorf("ruler: fwe: length %d leaves room for %d coded words, fewer than the %d that make the answer's ranks appear",
				p.opts.Length, n, fweMinWords)
		}
		d := p.fwe.text(r, vocab, n)
		promptTokens := p.tok.Count(d.text)
		if promptTokens <= p.fweMax {
			return p.finish(i, n, d, promptTokens)
		}
		n -= p.step
	}
}

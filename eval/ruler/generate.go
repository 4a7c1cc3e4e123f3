package ruler

import (
	"context"
	"fmt"
	"strings"

	"starc/eval/ruler/jsonl"
)

// Tokenizer counts the tokens of a text with the model's own tokenizer,
// without special tokens added (no BOS/EOS), special tokens written in the
// text counted as one token each (HF's tokenize, which RULER calls). For
// starc's tokenizer: len(t.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true})).
type Tokenizer interface {
	Count(text string) int
}

// MaxLength bounds Options.Length (4M tokens: RULER's lengths end at 128K,
// long-context models at a few million).
const MaxLength = 1 << 22

// Options selects what Generate makes.
type Options struct {
	Task string // one of Tasks()' names
	// Length is RULER's max_seq_length: tokens(prompt) + the task's tokens
	// to generate ≤ Length.
	Length  int
	Samples int   // how many samples (indices 0..Samples-1)
	Seed    int64 // RULER's default is 42
	// Depth, for the niah tasks only, puts every needle at this depth
	// (percent of the haystack, 0..100) instead of RULER's random depths:
	// the needle heatmap's axis. nil: RULER's placement.
	Depth *float64
	// Template is the model template applied to the task text (RULER's
	// model_template_type); nil is RULER's "base", the identity.
	Template func(taskText string) string
}

// Generated is one sample: RULER's data line (its Prompt method gives
// Input + AnswerPrefix, what the model reads) plus where things are.
// Sample.Index is the sample's ordinal; Length = PromptTokens +
// TokensToGenerate and LengthWithModelTemplate = Length, as RULER writes
// them; TokenPositionAnswer is set for niah only (-1 elsewhere, where RULER
// omits it); Truncation -1 and Others empty (RULER's generators omit both).
type Generated struct {
	jsonl.Sample
	Task string
	// PromptTokens counts Input + AnswerPrefix, without special tokens.
	PromptTokens int
	// Haystack is the haystack size used, in the task's Unit.
	Haystack int
	// Needles are the planted lines in Input: niah's needles and vt's
	// chain, in text order; nil for cwe and fwe.
	Needles []Needle
	// Answers[i] is the byte offset in Input where Outputs[i] was placed
	// (for cwe and fwe, its first occurrence in the task's own list, after
	// the worked example).
	Answers []int
}

// Needle is one planted line.
type Needle struct {
	Start, End int // byte range in Input
	// Depth is where it was put, in percent of the haystack: essay, the
	// depth drawn from RULER's 40 (or Options.Depth), the needle then going
	// at sentence int(sentences·Depth/100); noise and needle haystacks and
	// vt, 100·line/lines, line being the haystack line it was inserted
	// before.
	Depth float64
}

// Generate makes opts.Samples samples of one task at one length. The
// haystack size is searched once (RULER's search), then sample i is drawn
// from its own stream, shrinking by RULER's increment while it overflows.
func Generate(ctx context.Context, tok Tokenizer, opts Options) ([]Generated, error) {
	p, err := newPlan(ctx, tok, opts)
	if err != nil {
		return nil, err
	}
	out := make([]Generated, 0, opts.Samples)
	for i := 0; i < opts.Samples; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ruler: %s at %d: %w", opts.Task, opts.Length, err)
		}
		g, err := p.sample(ctx, i)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// draft is one prompt before its length is checked.
type draft struct {
	text    string // Template(task text) + answer prefix
	outputs []string
	answers []int // byte offsets in text
	needles []Needle
}

// builder makes a task's prompt with a haystack of n units from r. final
// is false for the searches that RULER runs without a sample's extras (vt's
// worked example).
type builder interface {
	build(r *stream, n int, final bool) (draft, error)
}

// plan is one (task, length, seed, template): the haystack size found and
// how samples shrink.
type plan struct {
	task   Task
	opts   Options
	tok    Tokenizer
	b      builder
	fwe    *fweBuilder // fwe has its own search and samples
	prefix string      // the answer prefix's first 10 characters, as RULER locates it
	// found is the haystack size the search chose; step is RULER's
	// increment (the shrink step; the search's unit for fwe).
	found, step int
	// extra counts tokens the search adds to every candidate (vt's example).
	extra int
	// least is the smallest haystack a sample can be built with (the needles
	// of a line haystack, vt's chain, cwe's common words).
	least int
	// fwe: the search's and the samples' length bound on the prompt alone.
	fweMax int
}

func newPlan(ctx context.Context, tok Tokenizer, opts Options) (*plan, error) {
	task, err := lookupGenerated(opts.Task)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, fmt.Errorf("ruler: %s: no tokenizer", task.Name)
	}
	if opts.Length <= 0 || opts.Length > MaxLength {
		return nil, fmt.Errorf("ruler: %s: length must be 1..%d tokens (got %d)", task.Name, MaxLength, opts.Length)
	}
	if opts.Samples <= 0 {
		return nil, fmt.Errorf("ruler: %s: samples must be > 0 (got %d)", task.Name, opts.Samples)
	}
	if opts.Depth != nil {
		if task.Generator != genNIAH {
			return nil, fmt.Errorf("ruler: %s: a depth applies to the niah tasks only", task.Name)
		}
		if d := *opts.Depth; !(d >= 0 && d <= 100) {
			return nil, fmt.Errorf("ruler: %s: depth %v is outside 0..100 (percent)", task.Name, d)
		}
	}
	p := &plan{task: task, opts: opts, tok: tok}
	switch task.Generator {
	case genNIAH:
		err = p.searchNIAH(ctx)
	case genVT:
		err = p.searchVT(ctx)
	case genCWE:
		err = p.searchCWE(ctx)
	case genFWE:
		err = p.searchFWE(ctx)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *plan) searchStream(purpose string) *stream {
	return newStream(p.opts.Seed, p.task.Name, p.opts.Length, purpose, 0)
}

// tokens is what the search compares with Length for a haystack of n: the
// candidate's prompt tokens, the extras and the tokens to generate. Each
// candidate is drawn from a fresh search stream, so it is a function of n.
func (p *plan) tokens(n int) (int, error) {
	d, err := p.b.build(p.searchStream("search"), n, false)
	if err != nil {
		return 0, err
	}
	return p.tok.Count(d.text) + p.extra + p.task.TokensToGenerate, nil
}

// binarySearch is the search of niah.py, variable_tracking.py and
// common_words_extraction.py: the largest n in [p.step, upper] whose
// candidate fits in Length.
func (p *plan) binarySearch(ctx context.Context, upper int) error {
	lo, hi, best := p.step, upper, -1
	for lo <= hi {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ruler: %s at %d: %w", p.task.Name, p.opts.Length, err)
		}
		mid := (lo + hi) / 2
		total, err := p.tokens(mid)
		if err != nil {
			return err
		}
		if total <= p.opts.Length {
			best, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best < 0 {
		least, err := p.tokens(p.step)
		if err != nil {
			return err
		}
		return fmt.Errorf("ruler: %s: length %d is below the smallest prompt that fits: %d tokens (%d %s of haystack, %d tokens to generate)",
			p.task.Name, p.opts.Length, least, p.step, p.task.Unit, p.task.TokensToGenerate)
	}
	p.found = best
	return nil
}

// estimateUpper is RULER's upper bound for the search: a candidate of
// `at` units gives tokens per unit, and upper = max(factor·Length/perUnit,
// 2·step) (3×, truncated, for niah and vt; 2× the floor for cwe).
func (p *plan) estimateUpper(at int, cwe bool) (int, error) {
	d, err := p.b.build(p.searchStream("search"), at, false)
	if err != nil {
		return 0, err
	}
	perUnit := float64(p.tok.Count(d.text)) / float64(at)
	if perUnit <= 0 {
		return 0, fmt.Errorf("ruler: %s: the tokenizer counts no tokens in a %d-%s prompt", p.task.Name, at, p.task.Unit)
	}
	var upper int
	if cwe {
		upper = int(float64(int(float64(p.opts.Length)/perUnit)) * 2)
	} else {
		upper = int(float64(p.opts.Length) / perUnit * 3)
	}
	return max(upper, 2*p.step), nil
}

// sample draws sample i and shrinks it by the increment while it
// overflows (RULER's per-sample loop).
func (p *plan) sample(ctx context.Context, i int) (Generated, error) {
	if p.task.Generator == genFWE {
		return p.sampleFWE(ctx, i)
	}
	r := newStream(p.opts.Seed, p.task.Name, p.opts.Length, "sample", i)
	n := p.found
	for {
		if err := ctx.Err(); err != nil {
			return Generated{}, fmt.Errorf("ruler: %s at %d: %w", p.task.Name, p.opts.Length, err)
		}
		d, err := p.b.build(r, n, true)
		if err != nil {
			return Generated{}, err
		}
		promptTokens := p.tok.Count(d.text)
		if promptTokens+p.task.TokensToGenerate <= p.opts.Length {
			return p.finish(i, n, d, promptTokens)
		}
		if n <= p.step || n-p.step < p.least {
			return Generated{}, fmt.Errorf("ruler: %s: sample %d does not fit in %d tokens even with the smallest haystack (%d %s): %d prompt tokens + %d to generate",
				p.task.Name, i, p.opts.Length, n, p.task.Unit, promptTokens, p.task.TokensToGenerate)
		}
		n -= p.step
	}
}

// finish splits the prompt where RULER does (the last occurrence of the
// answer prefix's first 10 characters) and fills the data line.
func (p *plan) finish(i, n int, d draft, promptTokens int) (Generated, error) {
	cut := strings.LastIndex(d.text, p.prefix)
	if cut < 0 {
		return Generated{}, fmt.Errorf("ruler: %s: the answer prefix %q is not in the prompt (model template?)", p.task.Name, p.prefix)
	}
	for j, a := range d.answers {
		if a < 0 || a+len(d.outputs[j]) > cut {
			return Generated{}, fmt.Errorf("ruler: %s: sample %d: answer %q is not in the input (internal error)", p.task.Name, i, d.outputs[j])
		}
	}
	input := d.text[:cut]
	length := promptTokens + p.task.TokensToGenerate
	g := Generated{
		Sample: jsonl.Sample{
			Index:                   i,
			Input:                   input,
			Outputs:                 d.outputs,
			Length:                  length,
			LengthWithModelTemplate: length,
			AnswerPrefix:            d.text[cut:],
			Others:                  map[string]any{}, // RULER's generators write neither
			Truncation:              -1,
		},
		Task:         p.task.Name,
		PromptTokens: promptTokens,
		Haystack:     n,
		Needles:      d.needles,
		Answers:      d.answers,
	}
	g.TokenPositionAnswer = -1 // absent: only niah.py writes it
	if p.task.Generator == genNIAH {
		// niah.py: tokens before the first occurrence of the first answer.
		if at := strings.Index(input, d.outputs[0]); at >= 0 {
			g.TokenPositionAnswer = p.tok.Count(input[:at])
		}
	}
	return g, nil
}

// fillAt fills tmpl and returns where the value of field starts in the
// result (the field must occur in tmpl).
func fillAt(tmpl, field string, fields ...string) (string, int) {
	at := strings.Index(tmpl, "{"+field+"}")
	if at < 0 {
		panic("ruler: template without {" + field + "}")
	}
	return fill(tmpl, fields...), len(fill(tmpl[:at], fields...))
}

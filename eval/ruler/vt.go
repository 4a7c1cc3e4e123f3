package ruler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// vt's chain: 1 chain of 4 hops, as synthetic.yaml configures it; 5
// variables.
const (
	vtHops  = 4
	vtNames = vtHops + 1
)

// vtBuilder is variable_tracking.py's generate_input_output with the
// worked example inserted (its final per-sample loop).
type vtBuilder struct {
	tmpl    string // prompt template
	example *vtExample
	icl     bool // the example's own search: 3-letter names, value 12345
}

// vtExample is the worked example: a short noise haystack with a chain of
// 3-letter names, fitted once to 500 tokens of the raw task template and
// answer prefix, then drawn again per sample with new names and value (as
// randomize_icl does).
type vtExample struct {
	lines     int
	positions []int // sorted noise positions of the chain's lines
	tokens    int   // of the example as fitted (what the main search adds)
}

// chain is one vt chain: the variable names in order and the value.
type chain struct {
	names []string
	value string
}

func drawChain(r *stream, nameLen int, value string) chain {
	c := chain{value: value}
	seen := map[string]bool{}
	for len(c.names) < vtNames {
		name := r.letters(upperLetters, nameLen)
		if !seen[name] {
			seen[name] = true
			c.names = append(c.names, name)
		}
	}
	if c.value == "" {
		c.value = strconv.Itoa(r.between(10000, 99998)) // np.random.randint(10000, 99999)
	}
	return c
}

// lines returns the chain's lines: "VAR A = value", then "VAR B = VAR A "
// (with its trailing space) for each hop.
func (c chain) lines() []string {
	out := []string{"VAR " + c.names[0] + " = " + c.value}
	for j := 1; j < len(c.names); j++ {
		out = append(out, "VAR "+c.names[j]+" = VAR "+c.names[j-1]+" ")
	}
	return out
}

// render is the task text for a chain in n noise lines, the chain's line j
// inserted at positions[j]+j: the filled template, where the context
// starts, and the chain's lines as Needles (offsets in the context).
func (b *vtBuilder) render(tmpl string, c chain, n int, positions []int) (string, int, []Needle) {
	var sb strings.Builder
	chainLines := c.lines()
	var needles []Needle
	k := 0
	for line := 0; line < n+len(chainLines); line++ {
		if line > 0 {
			sb.WriteByte('\n')
		}
		if k < len(chainLines) && line == positions[k]+k {
			needles = append(needles, Needle{Start: sb.Len(), End: sb.Len() + len(chainLines[k]), Depth: 100 * float64(positions[k]) / float64(n)})
			sb.WriteString(chainLines[k])
			k++
			continue
		}
		sb.WriteString(noiseLine)
	}
	// variable_tracking.py then replaces ". \n" by ".\n", which no noise
	// line and no chain line contains.
	text, at := fillAt(tmpl, "context", "context", sb.String(), "query", c.value, "num_v", strconv.Itoa(vtNames))
	return text, at, needles
}

func (b *vtBuilder) build(r *stream, n int, final bool) (draft, error) {
	nameLen, value := 5, ""
	if b.icl {
		nameLen, value = 3, "12345"
	}
	c := drawChain(r, nameLen, value)
	positions := r.sample(n, vtNames)
	sortInts(positions)
	text, at, needles := b.render(b.tmpl, c, n, positions)
	if final && b.example != nil {
		// Insert the example, drawn anew, before the task text.
		ex := b.drawExample(r)
		cut := strings.Index(text, vtTemplate[:20])
		if cut < 0 {
			return draft{}, fmt.Errorf("ruler: vt: the task text is not in the prompt")
		}
		text = text[:cut] + ex + "\n" + text[cut:]
		if cut <= at {
			at += len(ex) + 1
		}
	}
	d := draft{text: text, outputs: c.names}
	for _, nd := range needles {
		nd.Start += at
		nd.End += at
		d.needles = append(d.needles, nd)
		d.answers = append(d.answers, nd.Start+len("VAR ")) // "VAR {name} = ..."
	}
	return d, nil
}

// drawExample is the worked example with new names and value: the raw
// template and answer prefix filled, then " " and the answer.
func (b *vtBuilder) drawExample(r *stream) string {
	c := drawChain(r, 3, "")
	text, _, _ := b.render(vtTemplate+vtAnswerPrefix, c, b.example.lines, b.example.positions)
	return text + " " + strings.Join(c.names, " ") + "\n"
}

func (p *plan) searchVT(ctx context.Context) error {
	tmpl := promptTemplate(p.opts.Template, vtTemplate, vtAnswerPrefix)
	if err := checkTemplate(p.task.Name, tmpl); err != nil {
		return err
	}
	ex, err := p.fitVTExample(ctx)
	if err != nil {
		return err
	}
	p.b = &vtBuilder{tmpl: tmpl, example: ex}
	p.least = vtNames // the chain's lines go at distinct noise positions
	p.prefix = vtAnswerPrefix[:10]
	p.extra = ex.tokens
	p.step = 10
	if p.opts.Length < 4096 {
		p.step = 5
	}
	upper, err := p.estimateUpper(p.step, false)
	if err != nil {
		return err
	}
	return p.binarySearch(ctx, upper)
}

// fitVTExample is variable_tracking.py's first call: one sample of the raw
// template with 3-letter names and value 12345, the largest noise haystack
// (increment 5) whose text fits in 500 tokens, nothing to generate.
func (p *plan) fitVTExample(ctx context.Context) (*vtExample, error) {
	const budget, step = 500, 5
	b := &vtBuilder{tmpl: vtTemplate + vtAnswerPrefix, icl: true}
	fresh := func() *stream { return newStream(p.opts.Seed, p.task.Name, 0, "example", 0) }
	count := func(n int) (int, error) {
		d, err := b.build(fresh(), n, false)
		return p.tok.Count(d.text), err
	}
	est, err := count(step)
	if err != nil {
		return nil, err
	}
	if est <= 0 {
		return nil, fmt.Errorf("ruler: vt: the tokenizer counts no tokens in the worked example")
	}
	lo, hi, best := step, max(int(budget/(float64(est)/step)*3), 2*step), -1
	for lo <= hi {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ruler: vt example: %w", err)
		}
		mid := (lo + hi) / 2
		c, err := count(mid)
		if err != nil {
			return nil, err
		}
		if c <= budget {
			best, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best < 0 {
		return nil, fmt.Errorf("ruler: vt: the worked example does not fit in %d tokens even with %d noise lines", budget, step)
	}
	// The example itself: drawn at the size found, shrunk while over.
	r := newStream(p.opts.Seed, p.task.Name, 0, "example", 1)
	for n := best; ; n -= step {
		c := drawChain(r, 3, "12345")
		positions := r.sample(n, vtNames)
		sortInts(positions)
		text, _, _ := b.render(b.tmpl, c, n, positions)
		// (An example that still overflows at the smallest haystack is kept:
		// the main search counts its tokens.)
		if p.tok.Count(text) <= budget || n-step < vtNames {
			ex := &vtExample{lines: n, positions: positions}
			ex.tokens = p.tok.Count(text + " " + strings.Join(c.names, " ") + "\n")
			return ex, nil
		}
	}
}

package ruler

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// depths are niah.py's DEPTHS: np.round(np.linspace(0, 100, 40)) in
// percent, written out (the test derives them independently).
var depths = func() []int {
	d := make([]int, 40)
	for i := range d {
		d[i] = int(math.Round(float64(i) * (100.0 / 39.0)))
	}
	return d
}()

// niahBuilder is niah.py's generate_input_output for one task.
type niahBuilder struct {
	task  Task
	tmpl  string // the prompt template, singular rewrite applied
	typeV string // the value type as the template prints it
	depth *float64
}

func (p *plan) searchNIAH(ctx context.Context) error {
	t := p.task
	tmpl := promptTemplate(p.opts.Template, niahTemplate, niahAnswerPrefix)
	if err := checkTemplate(t.Name, tmpl); err != nil {
		return err
	}
	typeV := t.ValueType
	if t.Queries*t.Values == 1 {
		tmpl, typeV = singular(tmpl, typeV)
	}
	p.b = &niahBuilder{task: t, tmpl: tmpl, typeV: typeV, depth: p.opts.Depth}
	p.least = 1
	if t.Haystack != "essay" {
		p.least = t.Keys * t.Values // distinct lines for the needles
	}
	p.prefix = niahAnswerPrefix[:10]
	// niah.py's increments: essay 500 words; noise and needle 25 lines, 5
	// below a length of 4096.
	switch {
	case t.Haystack == "essay":
		p.step = 500
	case p.opts.Length < 4096:
		p.step = 5
	default:
		p.step = 25
	}
	upper, err := p.estimateUpper(p.step, false)
	if err != nil {
		return err
	}
	return p.binarySearch(ctx, upper)
}

// checkTemplate makes sure a model template kept the task text.
func checkTemplate(task, tmpl string) error {
	if !strings.Contains(tmpl, "{context}") {
		return fmt.Errorf("ruler: %s: the model template dropped the task text (no {context} left in %q)", task, tmpl)
	}
	return nil
}

// randomValue draws one key or value of a RULER type.
func randomValue(r *stream, typ string) string {
	switch typ {
	case "numbers": // 7 digits
		return strconv.Itoa(r.between(1000000, 9999999))
	case "uuids":
		return r.uuid4()
	default: // "words": an adjective-noun pair
		v := vocab()
		return v.adjectives[r.below(len(v.adjectives))] + "-" + v.nouns[r.below(len(v.nouns))]
	}
}

// plantedNeedle is one needle line: value number slot of key number key.
type plantedNeedle struct {
	text, value string
	key, slot   int
}

func (b *niahBuilder) build(r *stream, n int, _ bool) (draft, error) {
	t := b.task
	// Keys, each with its values and one needle line per value.
	keys := make([]string, t.Keys)
	values := make([][]string, t.Keys)
	var needles []plantedNeedle
	for k := range keys {
		keys[k] = randomValue(r, t.KeyType)
		for range t.Values {
			v := randomValue(r, t.ValueType)
			values[k] = append(values[k], v)
			needles = append(needles, plantedNeedle{text: needleLine(t.ValueType, keys[k], v), value: v, key: k, slot: len(values[k]) - 1})
		}
	}
	r.shuffle(len(needles), func(i, j int) { needles[i], needles[j] = needles[j], needles[i] })

	var context string
	var placed []Needle // in text order, offsets in context
	var order []int     // needles index of each placed needle
	if t.Haystack == "essay" {
		context, placed, order = b.essayContext(r, n, needles)
	} else {
		context, placed, order = b.lineContext(r, n, needles)
	}

	// The queried keys and their values, in query order.
	picked := r.sample(t.Keys, t.Queries)
	queries := make([]string, len(picked))
	var outputs []string
	type slot struct{ key, slot int }
	var outputSlots []slot
	for i, k := range picked {
		queries[i] = keys[k]
		outputs = append(outputs, values[k]...)
		for s := range values[k] {
			outputSlots = append(outputSlots, slot{k, s})
		}
	}

	fields := []string{"type_needle_v", b.typeV, "context", context, "query", joinQueries(queries)}
	text, at := fillAt(b.tmpl, "context", fields...)
	d := draft{text: text, outputs: outputs}
	valueAt := map[slot]int{}
	for i, nd := range placed {
		nd.Start += at
		nd.End += at
		d.needles = append(d.needles, nd)
		// The value closes its line: "... is: {value}."
		pn := needles[order[i]]
		valueAt[slot{pn.key, pn.slot}] = nd.End - 1 - len(pn.value)
	}
	for _, s := range outputSlots {
		d.answers = append(d.answers, valueAt[s])
	}
	return d, nil
}

func needleLine(typeV, key, value string) string {
	return fill(niahNeedle, "type_needle_v", typeV, "key", key, "value", value)
}

// lineContext is the noise and needle haystacks: n lines, the needles
// inserted at random line indices (sorted descending, inserted in that
// order, as niah.py does) or all at int(n·depth/100); joined by "\n".
func (b *niahBuilder) lineContext(r *stream, n int, needles []plantedNeedle) (string, []Needle, []int) {
	lines := make([]string, n)
	for i := range lines {
		if b.task.Haystack == "needle" {
			lines[i] = needleLine(b.task.ValueType, randomValue(r, b.task.KeyType), randomValue(r, b.task.ValueType))
		} else {
			lines[i] = noiseLine
		}
	}
	m := len(needles)
	if n < m {
		panic("ruler: fewer haystack lines than needles") // the plan never asks for it
	}
	var index []int
	if b.depth != nil {
		index = make([]int, m)
		for i := range index {
			index[i] = int(float64(n) * (*b.depth / 100))
		}
	} else {
		index = r.sample(n, m)
		slices.Sort(index)
		slices.Reverse(index)
	}
	// Insert needle j at index[j], in order; pos[j] is its final line.
	pos := make([]int, m)
	for j := range m {
		for l := 0; l < j; l++ {
			if pos[l] >= index[j] {
				pos[l]++
			}
		}
		pos[j] = index[j]
	}
	at := make(map[int]int, m) // final line -> needle
	for j, p := range pos {
		at[p] = j
	}
	var sb strings.Builder
	var placed []Needle
	var order []int
	next := 0
	for line := 0; line < n+m; line++ {
		if line > 0 {
			sb.WriteByte('\n')
		}
		if j, ok := at[line]; ok {
			depth := 100 * float64(index[j]) / float64(n)
			if b.depth != nil {
				depth = *b.depth
			}
			placed = append(placed, Needle{Start: sb.Len(), End: sb.Len() + len(needles[j].text), Depth: depth})
			order = append(order, j)
			sb.WriteString(needles[j].text)
			continue
		}
		sb.WriteString(lines[next])
		next++
	}
	return sb.String(), placed, order
}

// essayContext is the essay haystack: the first n words (the essay
// repeated if need be), cut into sentences; the needles go at sentence
// int(sentences·depth/100) for depths drawn without replacement from the
// 40 (or all at Options.Depth), sorted; the pieces joined by " ".
func (b *niahBuilder) essayContext(r *stream, n int, needles []plantedNeedle) (string, []Needle, []int) {
	e := essay()
	w := len(e.words)
	starts := []int{0} // first word of each sentence
	for i := 0; i < n-1; i++ {
		if e.ends[i%w] {
			starts = append(starts, i+1)
		}
	}
	m := len(needles)
	ds := make([]float64, m)
	if b.depth != nil {
		for i := range ds {
			ds[i] = *b.depth
		}
	} else {
		for i, k := range r.sample(len(depths), m) {
			ds[i] = float64(depths[k])
		}
	}
	slices.Sort(ds)
	ns := len(starts)
	wordAt := func(s int) int { // first word of sentence s (n past the last)
		if s >= ns {
			return n
		}
		return starts[s]
	}
	var sb strings.Builder
	writeWords := func(from, to int) {
		for i := from; i < to; i++ {
			if i > from {
				sb.WriteByte(' ')
			}
			sb.WriteString(e.words[i%w])
		}
	}
	var placed []Needle
	var order []int
	last := 0
	for j := 0; j <= m; j++ {
		next := ns
		if j < m {
			next = int(float64(ns) * (ds[j] / 100))
		}
		if j > 0 {
			sb.WriteByte(' ')
		}
		writeWords(wordAt(last), wordAt(next))
		last = next
		if j < m {
			sb.WriteByte(' ')
			placed = append(placed, Needle{Start: sb.Len(), End: sb.Len() + len(needles[j].text), Depth: ds[j]})
			order = append(order, j)
			sb.WriteString(needles[j].text)
		}
	}
	return sb.String(), placed, order
}

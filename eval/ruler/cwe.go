package ruler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// cwe's configuration (synthetic.yaml, common_words_extraction.py): 10
// common words; at lengths ≥ 4096 they appear 30 times and the others 3
// times, after one worked example of 40 words (10 × 10, others × 3); below
// 4096, 6 and 1 times after an example of 20 words (3, 1).
const cweCommon = 10

type cweBuilder struct {
	tmpl  string
	short bool // Length < 4096
}

// cweList is one numbered list: its text and, for each common word, the
// byte offset of its first occurrence.
type cweList struct {
	text   string
	common []string
	first  []int
}

// list draws get_example(num, commonRepeats, uncommonRepeats): num
// distinct words, the first 10 common; the common words repeated as a block
// commonRepeats times, then the others uncommonRepeats times; shuffled;
// written "1. w 2. w ...".
func (b *cweBuilder) list(r *stream, num, commonRepeats, uncommonRepeats int) (cweList, error) {
	pool := vocab().cwe
	if num > len(pool) {
		return cweList{}, fmt.Errorf("ruler: cwe: %d distinct words needed, the word list has %d (RULER switches to another list past that; lengths that large are not supported)", num, len(pool))
	}
	picked := r.sample(len(pool), num)
	words := make([]string, 0, cweCommon*commonRepeats+(num-cweCommon)*uncommonRepeats)
	for range commonRepeats {
		for _, k := range picked[:cweCommon] {
			words = append(words, pool[k])
		}
	}
	for range uncommonRepeats {
		for _, k := range picked[cweCommon:] {
			words = append(words, pool[k])
		}
	}
	r.shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	l := cweList{common: make([]string, cweCommon), first: make([]int, cweCommon)}
	rank := map[string]int{}
	for i, k := range picked[:cweCommon] {
		l.common[i] = pool[k]
		l.first[i] = -1
		rank[pool[k]] = i
	}
	var sb strings.Builder
	for i, w := range words {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(i + 1))
		sb.WriteString(". ")
		if c, ok := rank[w]; ok && l.first[c] < 0 {
			l.first[c] = sb.Len()
		}
		sb.WriteString(w)
	}
	l.text = sb.String()
	return l, nil
}

func numbered(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = strconv.Itoa(i+1) + ". " + w
	}
	return strings.Join(parts, " ")
}

func (b *cweBuilder) build(r *stream, n int, _ bool) (draft, error) {
	exNum, exC, exU, c, u := 40, 10, 3, 30, 3
	if b.short {
		exNum, exC, exU, c, u = 20, 3, 1, 6, 1
	}
	ex, err := b.list(r, exNum, exC, exU)
	if err != nil {
		return draft{}, err
	}
	main, err := b.list(r, n, c, u)
	if err != nil {
		return draft{}, err
	}
	fields := func(list string) []string {
		return []string{"num_cw", strconv.Itoa(cweCommon), "context", list, "query", ""}
	}
	example := fill(b.tmpl, fields(ex.text)...) + " " + numbered(ex.common)
	task, at := fillAt(b.tmpl, "context", fields(main.text)...)
	d := draft{text: example + "\n" + task, outputs: main.common}
	for _, f := range main.first {
		d.answers = append(d.answers, len(example)+1+at+f)
	}
	return d, nil
}

func (p *plan) searchCWE(ctx context.Context) error {
	tmpl := promptTemplate(p.opts.Template, cweTemplate, cweAnswerPrefix)
	if err := checkTemplate(p.task.Name, tmpl); err != nil {
		return err
	}
	p.b = &cweBuilder{tmpl: tmpl, short: p.opts.Length < 4096}
	p.least = cweCommon
	p.prefix = cweAnswerPrefix[:10]
	p.step = 10
	upper, err := p.estimateUpper(4096, true)
	if err != nil {
		return err
	}
	// The search cannot go past the word list (RULER switches to another
	// list there, which this package does not ship).
	pool := len(vocab().cwe)
	if err := p.binarySearch(ctx, min(upper, pool)); err != nil {
		return err
	}
	if p.found == pool {
		return fmt.Errorf("ruler: cwe: length %d needs more than the %d distinct words of the word list", p.opts.Length, pool)
	}
	return nil
}

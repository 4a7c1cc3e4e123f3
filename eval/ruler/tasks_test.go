package ruler

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"starc/internal/testenv"
)

var testLengths = []int{1024, 2048, 4096, 8192}

// TestEveryTaskFitsAndFills: for every task at 1K-8K with the SmolLM2
// tokenizer, the search's haystack fits and one unit more does not, every
// sample fits, and the prompt is RULER's template (from ruler.md) around a
// haystack built as RULER builds it, with the answers where the metadata
// says.
func TestEveryTaskFitsAndFills(t *testing.T) {
	tok := smolLM2(t)
	doc := loadDocSpec(t)
	const samples = 3
	for _, task := range Tasks() {
		for _, length := range testLengths {
			t.Run(fmt.Sprintf("%s/%d", task.Name, length), func(t *testing.T) {
				opts := Options{Task: task.Name, Length: length, Samples: samples, Seed: 42}
				p, err := newPlan(context.Background(), tok, opts)
				if err != nil {
					t.Fatal(err)
				}
				checkSearch(t, p)
				gs, err := Generate(context.Background(), tok, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(gs) != samples {
					t.Fatalf("%d samples, want %d", len(gs), samples)
				}
				var slack []int
				for i, g := range gs {
					if g.Index != i || g.Task != task.Name {
						t.Errorf("sample %d: index %d, task %q", i, g.Index, g.Task)
					}
					checkLength(t, tok, task, length, g)
					checkAnswers(t, g)
					switch task.Generator {
					case genNIAH:
						checkNIAH(t, doc, tok, task, g, nil)
					case genVT:
						checkVT(t, doc, g)
					case genCWE:
						checkCWE(t, doc, length, g)
					case genFWE:
						checkFWE(t, doc, g)
					}
					slack = append(slack, length-g.Length)
				}
				t.Logf("haystack %d %s (step %d); slack per sample %v tokens; haystacks %v", p.found, task.Unit, p.step, slack, haystacks(gs))
			})
		}
	}
}

func haystacks(gs []Generated) []int {
	var out []int
	for _, g := range gs {
		out = append(out, g.Haystack)
	}
	return out
}

// checkSearch: the candidate at the size found fits and one unit more
// does not (a unit is one line, word or list word for the binary searches,
// fwe's step for its scan).
func checkSearch(t *testing.T, p *plan) {
	t.Helper()
	if p.task.Generator == genFWE {
		at := func(n int) int {
			return p.tok.Count(p.fwe.text(p.searchStream("shuffle"), p.fwe.drawVocab(p.searchStream("search")), n).text)
		}
		if c := at(p.found); c >= p.fweMax {
			t.Errorf("fwe search: %d words give %d tokens, not below %d", p.found, c, p.fweMax)
		}
		if c := at(p.found + p.step); c < p.fweMax {
			t.Errorf("fwe search: %d words (one step more) give %d tokens, still below %d", p.found+p.step, c, p.fweMax)
		}
		return
	}
	fits, err := p.tokens(p.found)
	if err != nil {
		t.Fatal(err)
	}
	over, err := p.tokens(p.found + 1)
	if err != nil {
		t.Fatal(err)
	}
	if fits > p.opts.Length || over <= p.opts.Length {
		t.Errorf("search: %d %s → %d tokens, %d → %d; want ≤ %d < ", p.found, p.task.Unit, fits, p.found+1, over, p.opts.Length)
	}
}

func checkLength(t *testing.T, tok smolTokenizer, task Task, length int, g Generated) {
	t.Helper()
	prompt := tok.Count(g.Prompt())
	if g.PromptTokens != prompt || g.Length != prompt+task.TokensToGenerate || g.LengthWithModelTemplate != g.Length {
		t.Errorf("sample %d: PromptTokens %d, Length %d, LengthWithModelTemplate %d; the prompt has %d tokens and %d are generated",
			g.Index, g.PromptTokens, g.Length, g.LengthWithModelTemplate, prompt, task.TokensToGenerate)
	}
	if g.Length > length {
		t.Errorf("sample %d: %d tokens > length %d", g.Index, g.Length, length)
	}
}

func checkAnswers(t *testing.T, g Generated) {
	t.Helper()
	if len(g.Answers) != len(g.Outputs) || len(g.Outputs) == 0 {
		t.Fatalf("sample %d: %d answer offsets for %d outputs", g.Index, len(g.Answers), len(g.Outputs))
	}
	for i, out := range g.Outputs {
		at := g.Answers[i]
		if at < 0 || at+len(out) > len(g.Input) || g.Input[at:at+len(out)] != out {
			t.Errorf("sample %d: output %q is not at offset %d of the input", g.Index, out, at)
		}
	}
}

// promptRegexp turns a ruler.md template into an anchored pattern: each
// {field} becomes the given pattern, captured under the field's name (a
// field's later occurrences under name_2, name_3 ...).
func promptRegexp(tmpl string, fields map[string]string) string {
	seen := map[string]int{}
	fieldRe := regexp.MustCompile(`\{([a-z_]+)\}`)
	var sb strings.Builder
	last := 0
	for _, m := range fieldRe.FindAllStringSubmatchIndex(tmpl, -1) {
		sb.WriteString(regexp.QuoteMeta(tmpl[last:m[0]]))
		name := tmpl[m[2]:m[3]]
		pat, ok := fields[name]
		if !ok {
			panic("no pattern for field " + name)
		}
		seen[name]++
		group := name
		if seen[name] > 1 {
			group = fmt.Sprintf("%s_%d", name, seen[name])
		}
		fmt.Fprintf(&sb, "(?P<%s>%s)", group, pat)
		last = m[1]
	}
	sb.WriteString(regexp.QuoteMeta(tmpl[last:]))
	return sb.String()
}

func match(t *testing.T, pattern, text string) map[string]string {
	t.Helper()
	re := regexp.MustCompile(`\A` + pattern + `\z`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		head, tail := text, text
		if len(text) > 300 {
			head, tail = text[:300], text[len(text)-300:]
		}
		t.Fatalf("text does not match RULER's template:\n%q\n...\n%q\npattern %q", head, tail, pattern)
	}
	out := map[string]string{}
	for i, name := range re.SubexpNames() {
		if name != "" {
			out[name] = m[i]
		}
	}
	return out
}

// docSingular is ruler.md's singular rewrite, written from its text.
func docSingular(tmpl, typeName string) (string, string) {
	for _, r := range [][2]string{{"Some", "A"}, {"are all", "is"}, {"are", "is"}, {"answers", "answer"}} {
		tmpl = strings.ReplaceAll(tmpl, r[0], r[1])
	}
	return tmpl, strings.TrimSuffix(typeName, "s")
}

var (
	uuid4Re   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	number7Re = regexp.MustCompile(`^[1-9][0-9]{6}$`)
)

// wordLists reads the shipped word lists for the key check.
var wordLists = sync.OnceValues(func() (map[string]bool, map[string]bool) {
	read := func(name string) map[string]bool {
		b, err := os.ReadFile("assets/wonderwords/" + name)
		if err != nil {
			panic(err)
		}
		m := map[string]bool{}
		for _, w := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			m[w] = true
		}
		return m
	}
	return read("adjectivelist.txt"), read("nounlist.txt")
})

func checkValue(t *testing.T, typ, v string) {
	t.Helper()
	switch typ {
	case "numbers":
		if !number7Re.MatchString(v) {
			t.Errorf("%q is not a 7-digit number", v)
		}
	case "uuids":
		if !uuid4Re.MatchString(v) {
			t.Errorf("%q is not a UUID4", v)
		}
	case "words":
		adjs, nouns := wordLists()
		ok := false
		for i := 0; i < len(v); i++ {
			if v[i] == '-' && adjs[v[:i]] && nouns[v[i+1:]] {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%q is not a wonderwords adjective-noun", v)
		}
	}
}

// sharedEssay is the essay's words from the shared original (not the
// embedded copy), as RULER splits them.
var sharedEssay = sync.OnceValues(func() ([]string, error) {
	dir := os.Getenv("STARC_SHARED")
	if dir == "" {
		dir = testenv.RepoRoot() + "/../shared"
	}
	b, err := os.ReadFile(dir + "/data/pg1342_pride_and_prejudice.txt")
	return strings.Fields(string(b)), err
})

// checkNIAH matches the prompt against ruler.md's template and checks the
// needles, the query, the haystack and the answer's token position. depth,
// when set, is the depth every needle must carry.
func checkNIAH(t *testing.T, doc docSpec, tok smolTokenizer, task Task, g Generated, depth *float64) {
	t.Helper()
	tmpl, typeName := doc.task[genNIAH]+doc.prefix[genNIAH], task.ValueType
	if task.Queries*task.Values == 1 {
		tmpl, typeName = docSingular(tmpl, typeName)
	}
	m := match(t, promptRegexp(tmpl, map[string]string{"type_needle_v": regexp.QuoteMeta(typeName), "context": `(?s:.*)`, "query": `.+?`}), g.Prompt())
	if m["query"] != m["query_2"] {
		t.Errorf("query %q in the question, %q in the answer prefix", m["query"], m["query_2"])
	}
	ctxStart := strings.Index(g.Input, m["context"])
	needleRe := regexp.MustCompile(`\A` + promptRegexp(doc.needle, map[string]string{"type_needle_v": regexp.QuoteMeta(task.ValueType), "key": `.+?`, "value": `.+`}) + `\z`)
	keyOf := map[string]string{}
	if len(g.Needles) != task.Keys*task.Values {
		t.Fatalf("%d needles, want %d", len(g.Needles), task.Keys*task.Values)
	}
	for _, n := range g.Needles {
		line := g.Input[n.Start:n.End]
		nm := needleRe.FindStringSubmatch(line)
		if nm == nil || n.Start < ctxStart || n.End > ctxStart+len(m["context"]) {
			t.Fatalf("needle %q at %d..%d is not a needle line inside the context", line, n.Start, n.End)
		}
		key, value := nm[needleRe.SubexpIndex("key")], nm[needleRe.SubexpIndex("value")]
		keyOf[value] = key
		checkValue(t, task.KeyType, key)
		checkValue(t, task.ValueType, value)
		if depth != nil && n.Depth != *depth {
			t.Errorf("needle depth %v, want %v", n.Depth, *depth)
		}
		if depth == nil && task.Haystack == "essay" && !slices.Contains(depths, int(n.Depth)) {
			t.Errorf("needle depth %v is not one of RULER's 40", n.Depth)
		}
	}
	// The query names the keys of the outputs, joined as RULER joins them.
	var keys []string
	for _, out := range g.Outputs {
		k, ok := keyOf[out]
		if !ok {
			t.Fatalf("output %q is no needle's value", out)
		}
		if len(keys) == 0 || keys[len(keys)-1] != k {
			keys = append(keys, k)
		}
	}
	if len(keys) != task.Queries || len(g.Outputs) != task.Queries*task.Values {
		t.Errorf("%d queried keys and %d outputs, want %d and %d", len(keys), len(g.Outputs), task.Queries, task.Queries*task.Values)
	}
	want := keys[0]
	if len(keys) > 1 {
		want = strings.Join(keys[:len(keys)-1], ", ") + ", and " + keys[len(keys)-1]
	}
	if m["query"] != want {
		t.Errorf("query %q, want %q", m["query"], want)
	}
	checkHaystack(t, doc, task, g, m["context"], ctxStart)
	at := strings.Index(g.Input, g.Outputs[0])
	if want := tok.Count(g.Input[:at]); g.TokenPositionAnswer != want {
		t.Errorf("token_position_answer %d, want %d", g.TokenPositionAnswer, want)
	}
}

// checkHaystack: outside the needles, the context is RULER's haystack.
func checkHaystack(t *testing.T, doc docSpec, task Task, g Generated, context string, ctxStart int) {
	t.Helper()
	var rest strings.Builder // the context without its needles
	last := 0
	for _, n := range g.Needles {
		rest.WriteString(context[last : n.Start-ctxStart])
		rest.WriteString("\x00")
		last = n.End - ctxStart
	}
	rest.WriteString(context[last:])
	switch task.Haystack {
	case "noise", "needle":
		lines := strings.Split(rest.String(), "\n")
		if len(lines) != g.Haystack+len(g.Needles) {
			t.Errorf("%d lines, want %d haystack lines and %d needles", len(lines), g.Haystack, len(g.Needles))
		}
		for _, l := range lines {
			if l == "\x00" {
				continue
			}
			if task.Haystack == "noise" && l != doc.noise {
				t.Fatalf("haystack line %q is not the noise line", l)
			}
			if task.Haystack == "needle" && !strings.HasPrefix(l, "One of the special magic "+task.ValueType+" for ") {
				t.Fatalf("haystack line %q is not a distractor needle", l)
			}
		}
	case "essay":
		words, err := sharedEssay()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Fields(strings.ReplaceAll(rest.String(), "\x00", " "))
		if g.Haystack > len(words) || !slices.Equal(got, words[:g.Haystack]) {
			t.Errorf("the essay context without needles is not the essay's first %d words", g.Haystack)
		}
		// A needle follows a sentence end, or the context's last (cut)
		// sentence when its depth puts it at the end.
		ends := g.Needles[len(g.Needles)-1].End
		for _, n := range g.Needles {
			before := strings.TrimRight(g.Input[ctxStart:n.Start], " ")
			atEnd := ends == ctxStart+len(strings.TrimRight(context, " ")) && n.Depth == g.Needles[len(g.Needles)-1].Depth
			if before != "" && !atEnd && !strings.ContainsAny(before[len(before)-1:], ".?!\"')]_") {
				t.Errorf("needle at %d does not follow a sentence end: %q", n.Start, before[max(0, len(before)-40):])
			}
		}
	}
}

func checkVT(t *testing.T, doc docSpec, g Generated) {
	t.Helper()
	tmpl := doc.task[genVT] + doc.prefix[genVT]
	ex := strings.NewReplacer("{context}", "{ex_context}", "{query}", "{ex_query}", "{num_v}", "{ex_num_v}").Replace(tmpl)
	fields := map[string]string{"context": `(?s:.*)`, "query": `[0-9]+`, "num_v": `[0-9]+`, "ex_context": `(?s:.*)`, "ex_query": `[0-9]+`, "ex_num_v": `[0-9]+`}
	m := match(t, promptRegexp(ex, fields)+` (?P<ex_names>[A-Z]{3}(?: [A-Z]{3}){4})\n\n`+promptRegexp(tmpl, fields), g.Prompt())
	for _, s := range []struct{ context, query, query2, numV string }{
		{m["context"], m["query"], m["query_2"], m["num_v"]},
		{m["ex_context"], m["ex_query"], m["ex_query_2"], m["ex_num_v"]},
	} {
		v, err := strconv.Atoi(s.query)
		if err != nil || v < 10000 || v > 99998 || s.query2 != s.query || s.numV != "5" {
			t.Errorf("vt query %q / %q, num_v %q: want one 5-digit value in 10000..99998 and 5", s.query, s.query2, s.numV)
		}
	}
	// The chain, in order, in the noise: VAR A = value, VAR B = VAR A ...
	chainOf := func(context, value string) (names []string, noise int) {
		for _, l := range strings.Split(context, "\n") {
			switch {
			case l == doc.noise:
				noise++
			case len(names) == 0 && strings.HasPrefix(l, "VAR ") && strings.HasSuffix(l, " = "+value):
				names = append(names, strings.TrimSuffix(strings.TrimPrefix(l, "VAR "), " = "+value))
			case len(names) > 0 && strings.HasPrefix(l, "VAR ") && strings.HasSuffix(l, " = VAR "+names[len(names)-1]+" "):
				names = append(names, strings.TrimSuffix(strings.TrimPrefix(l, "VAR "), " = VAR "+names[len(names)-1]+" "))
			default:
				t.Fatalf("vt context line %q is neither noise nor the next chain line", l)
			}
		}
		return names, noise
	}
	names, noise := chainOf(m["context"], m["query"])
	if !slices.Equal(names, g.Outputs) || noise != g.Haystack || len(g.Needles) != 5 {
		t.Errorf("vt chain %v in %d noise lines (%d needles); want outputs %v in %d", names, noise, len(g.Needles), g.Outputs, g.Haystack)
	}
	exNames, _ := chainOf(m["ex_context"], m["ex_query"])
	if strings.Join(exNames, " ") != m["ex_names"] {
		t.Errorf("vt example chain %v, its answer says %q", exNames, m["ex_names"])
	}
}

// parseNumbered reads "1. a 2. b ..." (words may hold spaces).
func parseNumbered(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for i := 1; s != ""; i++ {
		head := strconv.Itoa(i) + ". "
		if !strings.HasPrefix(s, head) {
			t.Fatalf("numbered list item %d does not start %q: %q", i, head, s[:min(40, len(s))])
		}
		s = s[len(head):]
		next := strings.Index(s, " "+strconv.Itoa(i+1)+". ")
		if next < 0 {
			next = len(s)
		}
		out = append(out, s[:next])
		s = strings.TrimPrefix(s[next:], " ")
	}
	return out
}

func counts(words []string) map[string]int {
	c := map[string]int{}
	for _, w := range words {
		c[w]++
	}
	return c
}

func checkCWE(t *testing.T, doc docSpec, length int, g Generated) {
	t.Helper()
	tmpl := doc.task[genCWE] + doc.prefix[genCWE]
	ex := strings.ReplaceAll(tmpl, "{context}", "{ex_context}")
	m := match(t, promptRegexp(ex, map[string]string{"ex_context": `[^\n]*`})+` (?P<ex_answer>[^\n]*)\n`+promptRegexp(tmpl, map[string]string{"context": `[^\n]*`}), g.Prompt())
	// ruler.md: ≥ 4096: common × 30, others × 3, example 40 words (10, 3);
	// below: 6 and 1, example 20 words (3, 1).
	common, uncommon, exWords, exCommon, exUncommon := 30, 3, 40, 10, 3
	if length < 4096 {
		common, uncommon, exWords, exCommon, exUncommon = 6, 1, 20, 3, 1
	}
	check := func(what string, list []string, distinct, c, u int, answers []string) {
		cs := counts(list)
		var top []string
		for w, n := range cs {
			switch n {
			case c:
				top = append(top, w)
			case u:
			default:
				t.Errorf("%s: %q appears %d times, want %d or %d", what, w, n, c, u)
			}
		}
		slices.Sort(top)
		want := slices.Sorted(slices.Values(answers))
		if len(cs) != distinct || !slices.Equal(top, want) {
			t.Errorf("%s: %d distinct words, most common %v; want %d and %v", what, len(cs), top, distinct, want)
		}
	}
	check("cwe list", parseNumbered(t, m["context"]), g.Haystack, common, uncommon, g.Outputs)
	exAnswer := parseNumbered(t, m["ex_answer"])
	check("cwe example", parseNumbered(t, m["ex_context"]), exWords, exCommon, exUncommon, exAnswer)
}

func checkFWE(t *testing.T, doc docSpec, g Generated) {
	t.Helper()
	m := match(t, promptRegexp(doc.task[genFWE]+doc.prefix[genFWE], map[string]string{"context": `[^\n]*`}), g.Prompt())
	words := strings.Split(m["context"], " ")
	cs := counts(words)
	type wc struct {
		w string
		n int
	}
	var ranked []wc
	for w, n := range cs {
		ranked = append(ranked, wc{w, n})
		if w != "..." && !regexp.MustCompile(`^[a-z]{6}$`).MatchString(w) {
			t.Errorf("coded word %q is not 6 lower-case letters", w)
		}
	}
	slices.SortFunc(ranked, func(a, b wc) int { return b.n - a.n })
	// count_k = int(n·k^-2/ζ(2)) for the first ranks, the first being noise.
	for k := 1; k <= 4; k++ {
		want := int(float64(g.Haystack) / float64(k*k) / (math.Pi * math.Pi / 6))
		if ranked[k-1].n != want {
			t.Errorf("rank %d (%q) appears %d times, want %d of %d words", k, ranked[k-1].w, ranked[k-1].n, want, g.Haystack)
		}
	}
	if ranked[0].w != "..." || !slices.Equal([]string{ranked[1].w, ranked[2].w, ranked[3].w}, g.Outputs) {
		t.Errorf("ranks 1-4 %v; want the noise word then the outputs %v", ranked[:4], g.Outputs)
	}
}

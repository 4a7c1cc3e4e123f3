package ruler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr(f float64) *float64 { return &f }

// TestBadOptionsAreClearErrors: each mistake is an error that names it.
func TestBadOptionsAreClearErrors(t *testing.T) {
	tok := smolLM2(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		tok  Tokenizer
		opts Options
		want []string // substrings of the error
	}{
		{"unknown task lists the valid ones", nil, tok, Options{Task: "niah_single_9", Length: 4096, Samples: 1}, []string{`unknown task "niah_single_9"`, "niah_single_1", "vt", "cwe", "fwe"}},
		{"qa needs its data", nil, tok, Options{Task: "qa_1", Length: 4096, Samples: 1}, []string{"qa_1", "SQuAD", "RULER-format JSONL"}},
		{"zero samples", nil, tok, Options{Task: "vt", Length: 4096}, []string{"samples must be > 0 (got 0)"}},
		{"negative samples", nil, tok, Options{Task: "vt", Length: 4096, Samples: -3}, []string{"samples must be > 0 (got -3)"}},
		{"zero length", nil, tok, Options{Task: "cwe", Samples: 1}, []string{"length must be 1..4194304 tokens (got 0)"}},
		{"essay below its smallest prompt", nil, tok, Options{Task: "niah_single_2", Length: 600, Samples: 1}, []string{"niah_single_2", "length 600 is below the smallest prompt that fits", "500 words of haystack", "128 tokens to generate"}},
		{"noise below its smallest prompt", nil, tok, Options{Task: "niah_single_1", Length: 200, Samples: 1}, []string{"length 200 is below the smallest prompt that fits", "5 lines of haystack"}},
		{"vt below its smallest prompt", nil, tok, Options{Task: "vt", Length: 300, Samples: 1}, []string{"vt: length 300 is below the smallest prompt that fits"}},
		{"cwe below its smallest prompt", nil, tok, Options{Task: "cwe", Length: 300, Samples: 1}, []string{"cwe: length 300 is below the smallest prompt that fits", "10 list words"}},
		{"fwe without room", nil, tok, Options{Task: "fwe", Length: 100, Samples: 1}, []string{"fwe: length 100 is too small"}},
		{"depth above 100", nil, tok, Options{Task: "niah_single_1", Length: 2048, Samples: 1, Depth: ptr(150)}, []string{"depth 150 is outside 0..100"}},
		{"negative depth", nil, tok, Options{Task: "niah_single_2", Length: 2048, Samples: 1, Depth: ptr(-1)}, []string{"depth -1 is outside 0..100"}},
		{"NaN depth", nil, tok, Options{Task: "niah_single_2", Length: 2048, Samples: 1, Depth: ptr(math.NaN())}, []string{"depth NaN is outside 0..100"}},
		{"depth on a task without needles", nil, tok, Options{Task: "cwe", Length: 2048, Samples: 1, Depth: ptr(50)}, []string{"cwe: a depth applies to the niah tasks only"}},
		{"no tokenizer", nil, nil, Options{Task: "vt", Length: 2048, Samples: 1}, []string{"vt: no tokenizer"}},
		{"a model template that drops the task", nil, tok, Options{Task: "fwe", Length: 2048, Samples: 1, Template: func(string) string { return "hello" }}, []string{"model template dropped the task text"}},
		{"cancelled", cancelled, tok, Options{Task: "niah_single_1", Length: 2048, Samples: 1}, []string{"context canceled"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := c.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			gs, err := Generate(ctx, c.tok, c.opts)
			if err == nil {
				t.Fatalf("no error; %d samples", len(gs))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.ctx != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("error %v is not context.Canceled", err)
			}
		})
	}
}

// TestMinimumLengthIsTheSmallestThatFits: the minimum an error states is
// a length that works.
func TestMinimumLengthIsTheSmallestThatFits(t *testing.T) {
	tok := smolLM2(t)
	_, err := Generate(context.Background(), tok, Options{Task: "niah_single_2", Length: 600, Samples: 1})
	var least int
	if err == nil || !strings.Contains(err.Error(), "fits: ") {
		t.Fatalf("error %v", err)
	}
	fmt.Sscanf(err.Error()[strings.Index(err.Error(), "fits: ")+len("fits: "):], "%d", &least)
	gs, err := Generate(context.Background(), tok, Options{Task: "niah_single_2", Length: least, Samples: 1})
	if err != nil || gs[0].Length > least {
		t.Fatalf("at the stated minimum %d: %v", least, err)
	}
}

// TestDeterministic: the same options give the same bytes; sample i does
// not depend on the number of samples; the seed changes the samples.
func TestDeterministic(t *testing.T) {
	tok := smolLM2(t)
	for _, task := range []string{"niah_multikey_2", "niah_multivalue", "vt", "cwe", "fwe"} {
		opts := Options{Task: task, Length: 2048, Samples: 3, Seed: 7}
		a, err := Generate(context.Background(), tok, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Generate(context.Background(), tok, opts)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs differ", task)
		}
		opts.Samples = 2
		c, _ := Generate(context.Background(), tok, opts)
		if !reflect.DeepEqual(a[:2], c) {
			t.Errorf("%s: the first 2 of 3 samples differ from 2 samples", task)
		}
		opts.Seed = 8
		d, _ := Generate(context.Background(), tok, opts)
		if d[0].Input == a[0].Input || a[0].Input == a[1].Input {
			t.Errorf("%s: seeds 7 and 8, or samples 0 and 1, give the same input", task)
		}
	}
}

// TestDepthOptionPlacesTheNeedle: for the heatmap, every needle sits at
// the depth asked, in the essay (sentence granularity) and in lines.
func TestDepthOptionPlacesTheNeedle(t *testing.T) {
	tok := smolLM2(t)
	doc := loadDocSpec(t)
	for _, name := range []string{"niah_single_1", "niah_single_2", "niah_multikey_3"} {
		task, _ := Lookup(name)
		for _, depth := range []float64{0, 10, 33.3, 50, 90, 100} {
			gs, err := Generate(context.Background(), tok, Options{Task: name, Length: 2048, Samples: 2, Seed: 1, Depth: ptr(depth)})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				checkNIAH(t, doc, tok, task, g, ptr(depth))
				// Where the needle sits, as a share of the context.
				start := strings.Index(g.Input, "\n") + 1
				end := strings.LastIndex(g.Input, "\nWhat ")
				n := g.Needles[0]
				got := 100 * float64(n.Start-start) / float64(end-start-(n.End-n.Start))
				tol := 100 / float64(g.Haystack) // a line of noise or a distractor needle
				if task.Haystack == "essay" {
					tol = 4 // a sentence of Pride and Prejudice
				}
				if math.Abs(got-depth) > tol {
					t.Errorf("%s depth %v: the needle starts %.2f%% into the context", name, depth, got)
				}
				if task.Haystack != "essay" {
					// Line index int(lines·depth/100), as niah.py's insert does.
					line := strings.Count(g.Input[start:n.Start], "\n")
					if want := int(float64(g.Haystack) * depth / 100); line != want {
						t.Errorf("%s depth %v: needle on line %d of %d, want %d", name, depth, line, g.Haystack, want)
					}
				}
			}
		}
	}
}

// TestSingularRewrite: RULER's exact strings for one value asked for, the
// plural for several, and the rewrite reaching the model template, as
// niah.py's does (lwm-chat's "You are" becomes "You is").
func TestSingularRewrite(t *testing.T) {
	tok := smolLM2(t)
	gen := func(task string, template func(string) string) Generated {
		gs, err := Generate(context.Background(), tok, Options{Task: task, Length: 1024, Samples: 1, Seed: 3, Template: template})
		if err != nil {
			t.Fatal(err)
		}
		return gs[0]
	}
	g := gen("niah_single_1", nil)
	key := g.Input[g.Needles[0].Start+len("One of the special magic numbers for ") : g.Answers[0]-len(" is: ")]
	wantHead := "A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you about the number afterwards.\n"
	wantTail := "\nWhat is the special magic number for " + key + " mentioned in the provided text?"
	wantPrefix := " The special magic number for " + key + " mentioned in the provided text is"
	if !strings.HasPrefix(g.Input, wantHead) || !strings.HasSuffix(g.Input, wantTail) || g.AnswerPrefix != wantPrefix {
		t.Errorf("singular: input %q ... %q, prefix %q", g.Input[:150], g.Input[len(g.Input)-100:], g.AnswerPrefix)
	}
	if !strings.Contains(g.Input, "\nOne of the special magic numbers for "+key+" is: "+g.Outputs[0]+".\n") {
		t.Errorf("the needle line is not in the plural: %q", g.Input[g.Needles[0].Start:g.Needles[0].End])
	}

	g = gen("niah_multivalue", nil)
	if !strings.HasPrefix(g.Input, "Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz you about the numbers afterwards.\n") ||
		!strings.Contains(g.Input, "\nWhat are all the special magic numbers for ") || !strings.HasSuffix(g.AnswerPrefix, " mentioned in the provided text are") {
		t.Errorf("plural: input %q, prefix %q", g.Input[:150], g.AnswerPrefix)
	}

	lwm := func(task string) string { return "You are a helpful assistant. USER: " + task + " ASSISTANT: " }
	g = gen("niah_single_3", lwm)
	if !strings.HasPrefix(g.Input, "You is a helpful assistant. USER: A special magic uuid is hidden") || !strings.HasSuffix(g.Input, " mentioned in the provided text? ASSISTANT: ") ||
		!strings.HasPrefix(g.AnswerPrefix, " The special magic uuid for ") {
		t.Errorf("model template: input %q ... %q, prefix %q", g.Input[:80], g.Input[len(g.Input)-60:], g.AnswerPrefix)
	}
	// Other tasks keep the model template as it is.
	g = gen("vt", lwm)
	if !strings.HasPrefix(g.Input, "You are a helpful assistant. USER: Memorize and track") {
		t.Errorf("vt with a model template: the worked example is not inside the user turn: %q", g.Input[:120])
	}
	if strings.Count(g.Input, "ASSISTANT: ") != 1 || !strings.HasSuffix(g.Input, " ASSISTANT: ") {
		t.Errorf("vt with a model template: %q", g.Input[len(g.Input)-80:])
	}
}

// TestGenerateIsFast: one 8K sample well under a second (the search runs
// once per call); measured, and bounded loosely for a loaded machine.
func TestGenerateIsFast(t *testing.T) {
	tok := smolLM2(t)
	for _, task := range []string{"niah_single_2", "niah_multikey_2", "cwe"} {
		t0 := time.Now()
		if _, err := Generate(context.Background(), tok, Options{Task: task, Length: 8192, Samples: 1, Seed: 42}); err != nil {
			t.Fatal(err)
		}
		one := time.Since(t0)
		t0 = time.Now()
		if _, err := Generate(context.Background(), tok, Options{Task: task, Length: 8192, Samples: 11, Seed: 42}); err != nil {
			t.Fatal(err)
		}
		per := (time.Since(t0) - one) / 10
		t.Logf("%s at 8192: search + 1 sample %v, each further sample %v", task, one, per)
		if per > time.Second {
			t.Errorf("%s: %v per 8K sample", task, per)
		}
	}
}

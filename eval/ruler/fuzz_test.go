package ruler

import (
	"context"
	"strings"
	"testing"
)

// wordCounter is a cheap stand-in tokenizer: words and line breaks.
type wordCounter struct{}

func (wordCounter) Count(text string) int {
	return len(strings.Fields(text)) + strings.Count(text, "\n")
}

// zeroCounter is a broken tokenizer: it counts nothing.
type zeroCounter struct{}

func (zeroCounter) Count(string) int { return 0 }

// FuzzGenerate: any options give samples that fit or an error, never a
// panic or a hang.
func FuzzGenerate(f *testing.F) {
	f.Add(uint8(0), 1024, 2, int64(42), 50.0, true, "")
	f.Add(uint8(8), 300, 1, int64(1), 0.0, false, "[INST] {task} [/INST]")
	f.Add(uint8(10), 250, 1, int64(-5), 100.0, false, "no task")
	f.Add(uint8(9), 2000, 3, int64(7), -1.0, true, "{task}{task}")
	f.Fuzz(func(t *testing.T, task uint8, length, samples int, seed int64, depth float64, useDepth bool, tmpl string) {
		names := append(Tasks(), Task{Name: "qa_1"}, Task{Name: "nope"})
		opts := Options{Task: names[int(task)%len(names)].Name, Length: length % 5000, Samples: samples % 4, Seed: seed}
		if useDepth {
			opts.Depth = &depth
		}
		if tmpl != "" {
			opts.Template = func(text string) string { return strings.ReplaceAll(tmpl, "{task}", text) }
		}
		gs, err := Generate(context.Background(), wordCounter{}, opts)
		if err != nil {
			return
		}
		tt, _ := Lookup(opts.Task)
		for _, g := range gs {
			if got := (wordCounter{}).Count(g.Prompt()) + tt.TokensToGenerate; got != g.Length || got > opts.Length {
				t.Fatalf("%s: length %d, counted %d, limit %d", opts.Task, g.Length, got, opts.Length)
			}
		}
	})
}

func TestBrokenTokenizerIsAnError(t *testing.T) {
	for _, task := range Tasks() {
		if _, err := Generate(context.Background(), zeroCounter{}, Options{Task: task.Name, Length: 4096, Samples: 1}); err == nil || !strings.Contains(err.Error(), "tokenizer") {
			t.Errorf("%s with a tokenizer that counts nothing: %v", task.Name, err)
		}
	}
}

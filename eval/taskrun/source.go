package taskrun

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"starc/eval/ruler"
	"starc/eval/ruler/jsonl"
)

// Generated is a Source that makes RULER's synthetic samples with starc's
// generators for the model's tokenizer.
type Generated struct {
	Tokenizer ruler.Tokenizer
	PerTask   int // samples per task and length
	Seed      int64
	Template  func(string) string // nil: RULER's base template
}

// Samples implements Source.
func (g Generated) Samples(ctx context.Context, length int, task Task) ([]jsonl.Sample, error) {
	opt := ruler.Options{Task: task.Name, Length: length, Samples: g.PerTask, Seed: g.Seed, Template: g.Template}
	if task.Depth >= 0 {
		d := float64(task.Depth)
		opt.Depth = &d
	}
	gen, err := ruler.Generate(ctx, g.Tokenizer, opt)
	if err != nil {
		return nil, err
	}
	out := make([]jsonl.Sample, len(gen))
	for i := range gen {
		out[i] = gen[i].Sample
	}
	return out, nil
}

// Data is a Source reading RULER-format data (made by RULER's prepare.py,
// or by starc eval prepare): Dir/<length>/data/<task>/validation.jsonl.
type Data struct {
	Dir     string
	PerTask int // the first PerTask samples of each file; 0 = all
}

// Samples implements Source.
func (d Data) Samples(_ context.Context, length int, task Task) ([]jsonl.Sample, error) {
	if task.Depth >= 0 {
		return nil, fmt.Errorf("--depths applies to generated data, not to --data %s", d.Dir)
	}
	path := filepath.Join(d.Dir, strconv.Itoa(length), "data", task.Name, jsonl.Subset+".jsonl")
	samples, err := jsonl.ReadSamples(path)
	if err != nil {
		return nil, err
	}
	if d.PerTask > 0 && len(samples) > d.PerTask {
		samples = samples[:d.PerTask]
	}
	return samples, nil
}

// MaxNew is RULER's tokens_to_generate for a task name (its 13 tasks).
func MaxNew(task string) (int, error) {
	t, ok := ruler.Lookup(task)
	if !ok {
		return 0, fmt.Errorf("task %s is not one of RULER's: its tokens to generate are unknown (give --max-new)", task)
	}
	return t.TokensToGenerate, nil
}

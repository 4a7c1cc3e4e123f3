package taskrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"starc/eval"
	"starc/eval/ruler/jsonl"
	"starc/pim"
)

// Task is one workload of a run: a task name, and for the needle tasks
// optionally a fixed needle depth.
type Task struct {
	Name  string
	Depth int // needle depth in % (0..100); -1 = the data's own depths
}

// Dir is the task's name in the output directory: the task itself, or
// "<task>_depth<DDD>" for a fixed depth.
func (t Task) Dir() string {
	if t.Depth < 0 {
		return t.Name
	}
	return fmt.Sprintf("%s_depth%03d", t.Name, t.Depth)
}

// Source yields the samples of one task at one length.
type Source interface {
	Samples(ctx context.Context, length int, task Task) ([]jsonl.Sample, error)
}

// Options is one run.
type Options struct {
	Dir     string // output directory (claimed with Config)
	Config  Config
	Tasks   []Task
	Lengths []int
	Source  Source
	// MaxNew is the tokens to generate for a task (RULER's
	// tokens_to_generate), by task name.
	MaxNew   func(task string) (int, error)
	Answerer *eval.Answerer
	Cells    []eval.Cell
	// Encode tokenises a prompt (input + answer prefix) as the model reads
	// it; Decode turns generated ids back into text.
	Encode func(text string) []int
	Decode func(ids []int) string
	Stop   []int // token ids that end an answer
	// Progress, if set, is told after every answered (sample, cell) how
	// many of the run's pending ones are done.
	Progress func(done, total int)
}

// DataPath is where the samples of a task at a length are kept.
func DataPath(dir string, length int, task Task) string {
	return filepath.Join(dir, strconv.Itoa(length), "data", task.Dir(), "validation.jsonl")
}

// PredictionPath is where a cell's predictions of a task at a length go.
func PredictionPath(dir string, length int, cell eval.Cell, task Task) string {
	return filepath.Join(dir, strconv.Itoa(length), "pred", cell.String(), task.Dir()+".jsonl")
}

// TracePath is where the access trace of a cell's answer to the sample at
// position pos (0-based, in data order) of a task at a length goes.
func TracePath(dir string, length int, cell eval.Cell, task Task, pos int) string {
	return filepath.Join(dir, strconv.Itoa(length), "trace", cell.String(), task.Dir(), fmt.Sprintf("sample-%04d.jsonl", pos))
}

// writeTrace writes one answer's trace atomically, creating its directory.
func writeTrace(path string, t *pim.Trace) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pim.WriteTrace(&buf, t); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// group is one task at one length with its samples and, per cell, the
// indices already predicted.
type group struct {
	length  int
	task    Task
	samples []jsonl.Sample
	pending int
}

// Run answers every pending (sample, cell) of the run and appends each
// prediction as soon as it is made. Samples a cell already answered (a
// rerun of an interrupted run) are skipped.
func Run(ctx context.Context, opt Options) error {
	if err := Claim(opt.Dir, opt.Config); err != nil {
		return err
	}
	var groups []group
	pending := 0
	for _, length := range opt.Lengths {
		for _, task := range opt.Tasks {
			samples, err := opt.Source.Samples(ctx, length, task)
			if err != nil {
				return err
			}
			if err := keepData(DataPath(opt.Dir, length, task), samples); err != nil {
				return err
			}
			g := group{length: length, task: task, samples: samples}
			err = withWriters(opt, g, func(w []*jsonl.PredictionWriter) error {
				for _, pw := range w {
					g.pending += len(pw.Pending())
				}
				return nil
			})
			if err != nil {
				return err
			}
			groups = append(groups, g)
			pending += g.pending
		}
	}
	finished := 0
	if opt.Progress != nil {
		opt.Progress(0, pending)
	}
	for _, g := range groups {
		if g.pending == 0 {
			continue
		}
		err := withWriters(opt, g, func(w []*jsonl.PredictionWriter) error {
			todoAt := make([][]bool, len(w))
			for c, pw := range w {
				todoAt[c] = pendingPositions(g.samples, pw.Pending())
			}
			for i := range g.samples {
				if err := ctx.Err(); err != nil {
					return err
				}
				var todo []*jsonl.PredictionWriter
				var cells []eval.Cell
				for c := range w {
					if todoAt[c][i] {
						todo, cells = append(todo, w[c]), append(cells, opt.Cells[c])
					}
				}
				n, err := answer(ctx, opt, g, i, cells, todo)
				if err != nil {
					return err
				}
				if finished += n; n > 0 && opt.Progress != nil {
					opt.Progress(finished, pending)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// withWriters opens the prediction file of every cell for g, runs f and
// closes them.
func withWriters(opt Options, g group, f func([]*jsonl.PredictionWriter) error) (err error) {
	writers := make([]*jsonl.PredictionWriter, 0, len(opt.Cells))
	defer func() {
		for _, w := range writers {
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
	}()
	for _, cell := range opt.Cells {
		w, err := jsonl.OpenPredictions(PredictionPath(opt.Dir, g.length, cell, g.task), g.samples)
		if err != nil {
			return err
		}
		writers = append(writers, w)
	}
	return f(writers)
}

// pendingPositions marks the samples (by position) that pending, a
// subsequence of samples in their order, holds.
func pendingPositions(samples, pending []jsonl.Sample) []bool {
	out := make([]bool, len(samples))
	j := 0
	for i := range samples {
		if j < len(pending) && pending[j].Index == samples[i].Index && pending[j].Input == samples[i].Input {
			out[i] = true
			j++
		}
	}
	return out
}

// answer prefills sample s once, lets cells answer it, and appends each
// answer through the cell's writer in dst. It returns how many answered.
func answer(ctx context.Context, opt Options, g group, pos int, cells []eval.Cell, dst []*jsonl.PredictionWriter) (int, error) {
	s := &g.samples[pos]
	if len(cells) == 0 {
		return 0, nil
	}
	maxNew, err := opt.MaxNew(g.task.Name)
	if err != nil {
		return 0, err
	}
	ids := opt.Encode(s.Prompt())
	answers, err := opt.Answerer.Answer(ctx, ids, maxNew, opt.Stop, cells)
	if err != nil {
		return 0, fmt.Errorf("%s at %d, sample %d: %w", g.task.Dir(), g.length, s.Index, err)
	}
	for i, a := range answers {
		pred := jsonl.NewPrediction(s, opt.Decode(a.Tokens))
		others := map[string]any{}
		for k, v := range s.Others {
			others[k] = v
		}
		others["starc"] = map[string]any{
			"cell": a.Cell.String(), "prompt_tokens": len(ids), "generated_tokens": a.Cost.GeneratedTokens,
			"stopped_at_eos": a.StoppedAtEOS, "decode_steps": a.Cost.DecodeSteps,
			"tokens_per_head": a.Cost.TokensPerHead, "rows_per_head": a.Cost.RowsPerHead,
			"pim_latency_ns_per_token": a.Cost.PIMLatencyNS, "pim_energy_nj_per_token": a.Cost.PIMEnergyNJ,
			"pim_row_activations_per_token": a.Cost.PIMRowActivations,
		}
		pred.Others = others
		if a.Trace != nil {
			if err := writeTrace(TracePath(opt.Dir, g.length, a.Cell, g.task, pos), a.Trace); err != nil {
				return i, err
			}
		}
		if err := dst[i].Write(pred); err != nil {
			return i, err
		}
	}
	return len(answers), nil
}

// keepData writes the samples to path unless it exists; an existing file
// must hold the same samples (the run regenerates them deterministically).
func keepData(path string, samples []jsonl.Sample) error {
	if _, err := os.Stat(path); err == nil {
		have, err := jsonl.ReadSamples(path)
		if err != nil {
			return err
		}
		if len(have) != len(samples) {
			return fmt.Errorf("%s holds %d samples, the run has %d: the directory belongs to another run", path, len(have), len(samples))
		}
		for i := range have {
			if have[i].Input != samples[i].Input || have[i].Index != samples[i].Index {
				return fmt.Errorf("%s: sample %d differs from the run's: the directory belongs to another run", path, have[i].Index)
			}
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return WriteSamples(path, samples)
}

// WriteSamples writes samples as RULER data JSONL at path (atomically,
// creating its directory), with the fields RULER's generators write.
func WriteSamples(path string, samples []jsonl.Sample) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range samples {
		s := &samples[i]
		line := dataLine{s.Index, s.Input, s.Outputs, s.Length, s.LengthWithModelTemplate, s.AnswerPrefix, s.TokenPositionAnswer}
		if err := enc.Encode(&line); err != nil {
			return fmt.Errorf("%s: sample %d: %w", path, s.Index, err)
		}
	}
	return writeFileAtomic(path, buf.Bytes())
}

// dataLine is a data JSONL line as RULER's niah.py writes it.
type dataLine struct {
	Index                   int      `json:"index"`
	Input                   string   `json:"input"`
	Outputs                 []string `json:"outputs"`
	Length                  int      `json:"length"`
	LengthWithModelTemplate int      `json:"length_w_model_temp"`
	AnswerPrefix            string   `json:"answer_prefix"`
	TokenPositionAnswer     int      `json:"token_position_answer"`
}

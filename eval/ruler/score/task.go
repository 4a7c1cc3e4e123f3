package score

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"starc/eval/ruler/jsonl"
)

// Scorer names a scoring protocol.
type Scorer string

const (
	// RULER is evaluate.py: string_match_all or string_match_part, 0–100,
	// rounded to 2 decimals.
	RULER Scorer = "ruler"
	// STARC is the STARC artifact's ruler_eval.py: per-task metrics in
	// [0, 1], a float32 mean, not rounded (the paper prints 4 decimals).
	STARC Scorer = "starc"
)

// ParseScorer reads a --scorer value.
func ParseScorer(s string) (Scorer, error) {
	switch Scorer(s) {
	case RULER, STARC:
		return Scorer(s), nil
	}
	return "", fmt.Errorf("score: unknown scorer %q (want ruler or starc)", s)
}

// Tasks lists RULER's tasks in the order of its synthetic.yaml, the order
// evaluate.py reports them in.
var Tasks = []string{
	"niah_single_1", "niah_single_2", "niah_single_3",
	"niah_multikey_1", "niah_multikey_2", "niah_multikey_3",
	"niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe", "qa_1", "qa_2",
}

// Metric is the RULER metric evaluate.py applies to task:
// StringMatchPart for the qa tasks, StringMatchAll for niah, vt, cwe, fwe.
// Task names outside RULER's list are accepted by family prefix ("niah_",
// "qa_"), so variants such as a depth sweep of niah_single_2 score alike.
func Metric(task string) (func(preds []string, refs [][]string) (float64, error), error) {
	switch {
	case strings.HasPrefix(task, "qa_"):
		return StringMatchPart, nil
	case strings.HasPrefix(task, "niah_"), task == "vt", task == "cwe", task == "fwe":
		return StringMatchAll, nil
	}
	return nil, fmt.Errorf("score: unknown task %q (RULER's are %s)", task, strings.Join(Tasks, ", "))
}

// TaskScore is one task's result at one length.
type TaskScore struct {
	Task   string `json:"task"`
	Scorer Scorer `json:"scorer"`
	// Score is RULER's 0–100 rounded to 2 decimals, or STARC's fraction 0–1.
	Score float64 `json:"score"`
	// Nulls counts predictions that are empty after RULER's cleaning (Clean),
	// whatever the scorer.
	Nulls   int `json:"nulls"`
	Samples int `json:"samples"`
}

// NullsString is the nulls cell as evaluate.py prints it: "nulls/samples".
func (t TaskScore) NullsString() string { return fmt.Sprintf("%d/%d", t.Nulls, t.Samples) }

// Task scores one task's raw predictions against their references. RULER:
// predictions are cleaned (Clean) and the task's metric applied; no
// predictions score 0 with 0/0 nulls, as evaluate.py reports an empty file.
// STARC: ruler_eval.py's metric for the task on each raw prediction, then
// the float32 mean.
func Task(s Scorer, task string, preds []string, refs [][]string) (TaskScore, error) {
	ts := TaskScore{Task: task, Scorer: s, Samples: len(preds)}
	if len(preds) != len(refs) {
		return ts, fmt.Errorf("score: %s: %d predictions but %d reference lists", task, len(preds), len(refs))
	}
	cleaned := make([]string, len(preds))
	for i, p := range preds {
		cleaned[i] = Clean(p)
		if cleaned[i] == "" {
			ts.Nulls++
		}
	}
	for i, r := range refs {
		if len(r) == 0 {
			return ts, fmt.Errorf("score: %s: sample %d has no reference answers", task, i)
		}
	}
	switch s {
	case RULER:
		metric, err := Metric(task)
		if err != nil {
			return ts, err
		}
		if len(preds) == 0 {
			return ts, nil
		}
		if ts.Score, err = metric(cleaned, refs); err != nil {
			return ts, fmt.Errorf("score: %s: %w", task, err)
		}
	case STARC:
		metric, ok := starcMetricFor(task)
		if !ok {
			return ts, fmt.Errorf("score: task %q has no metric in STARC's ruler_eval.py", task)
		}
		per := make([]float64, len(preds))
		for i, p := range preds {
			per[i] = metric(p, refs[i])
		}
		ts.Score = float32Mean(per)
	default:
		return ts, fmt.Errorf("score: unknown scorer %q", s)
	}
	return ts, nil
}

// Predictions scores the lines of one task's prediction file.
func Predictions(s Scorer, task string, preds []jsonl.Prediction) (TaskScore, error) {
	texts := make([]string, len(preds))
	refs := make([][]string, len(preds))
	for i, p := range preds {
		texts[i], refs[i] = p.Pred, p.Outputs
	}
	return Task(s, task, texts, refs)
}

// Summary is one length's results: a score per task in RULER's order (then
// other tasks by name), and their plain mean, RULER's "average" column
// (evaluate.py itself prints no mean).
type Summary struct {
	Length int         `json:"length"`
	Tasks  []TaskScore `json:"tasks"`
	Mean   float64     `json:"mean"`
}

// Summarize orders tasks as evaluate.py reports them and takes the mean of
// their scores (0 for no task).
func Summarize(length int, tasks []TaskScore) Summary {
	out := slices.Clone(tasks)
	rank := func(t string) int {
		if i := slices.Index(Tasks, t); i >= 0 {
			return i
		}
		return len(Tasks)
	}
	slices.SortStableFunc(out, func(a, b TaskScore) int {
		if ra, rb := rank(a.Task), rank(b.Task); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Task, b.Task)
	})
	sum := 0.0
	for _, t := range out {
		sum += t.Score
	}
	s := Summary{Length: length, Tasks: out}
	if len(out) > 0 {
		s.Mean = sum / float64(len(out))
	}
	return s
}

// Dir scores every <task>.jsonl in a prediction directory (RULER's
// <length>/pred layout) and summarises them under length. A directory
// without prediction files is an error.
func Dir(s Scorer, dir string, length int) (Summary, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Summary{}, fmt.Errorf("score: %w", err)
	}
	var tasks []TaskScore
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".jsonl") {
			continue
		}
		task := strings.TrimSuffix(name, ".jsonl")
		preds, err := jsonl.ReadPredictions(filepath.Join(dir, name))
		if err != nil {
			return Summary{}, err
		}
		ts, err := Predictions(s, task, preds)
		if err != nil {
			return Summary{}, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		tasks = append(tasks, ts)
	}
	if len(tasks) == 0 {
		return Summary{}, fmt.Errorf("score: %s: no <task>.jsonl prediction files: %w", dir, fs.ErrNotExist)
	}
	return Summarize(length, tasks), nil
}

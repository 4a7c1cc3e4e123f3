package jsonl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// ReadSamples reads a RULER data file (validation.jsonl).
func ReadSamples(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	defer f.Close()
	return ParseSamples(f, path)
}

// ParseSamples reads RULER data JSONL from r; name labels errors. A stream
// without a single sample is an error.
func ParseSamples(r io.Reader, name string) ([]Sample, error) {
	lr := newLineReader(r, name)
	var out []Sample
	for {
		line, _, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		m, blank, err := fields(line, name, lr.num)
		if err != nil {
			return nil, err
		}
		if blank {
			continue
		}
		s, err := decodeSample(&decoder{m: m, name: name, num: lr.num})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, &Error{File: name, Msg: "no samples"}
	}
	return out, nil
}

func decodeSample(d *decoder) (Sample, error) {
	var s Sample
	var err error
	if s.Index, err = d.integer("index", true, 0); err != nil {
		return s, err
	}
	if s.Index < 0 {
		return s, d.fail("index", "negative (%d)", s.Index)
	}
	if s.Input, err = d.str("input", true); err != nil {
		return s, err
	}
	if s.Outputs, err = d.strings("outputs"); err != nil {
		return s, err
	}
	if s.Length, err = d.integer("length", false, -1); err != nil {
		return s, err
	}
	if s.LengthWithModelTemplate, err = d.integer("length_w_model_temp", false, -1); err != nil {
		return s, err
	}
	if s.AnswerPrefix, err = d.str("answer_prefix", false); err != nil {
		return s, err
	}
	if s.TokenPositionAnswer, err = d.integer("token_position_answer", false, -1); err != nil {
		return s, err
	}
	if s.Others, err = d.object("others", false); err != nil {
		return s, err
	}
	if s.Truncation, err = d.integer("truncation", false, -1); err != nil {
		return s, err
	}
	return s, nil
}

// Subset is the data file name RULER's prepare.py uses by default
// (--subset validation).
const Subset = "validation"

// DataFile is one task's data file in RULER's layout.
type DataFile struct {
	Length int    // the <length> directory: max_seq_length of the data
	Task   string // the <task> directory, e.g. "niah_single_1"
	Path   string // DIR/<length>/data/<task>/validation.jsonl
}

// ListData lists the data files under dir in RULER's benchmark layout,
// dir/<length>/data/<task>/validation.jsonl, ordered by length and then task
// name. Entries whose <length> is not a positive integer are not data and
// are passed over; finding no data file at all is an error.
func ListData(dir string) ([]DataFile, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*", "data", "*", Subset+".jsonl"))
	if err != nil {
		return nil, fmt.Errorf("jsonl: %s: %w", dir, err)
	}
	var out []DataFile
	for _, p := range matches {
		task := filepath.Base(filepath.Dir(p))
		lenDir := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(p))))
		n, err := strconv.Atoi(lenDir)
		if err != nil || n <= 0 {
			continue
		}
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, DataFile{Length: n, Task: task, Path: p})
	}
	if len(out) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("jsonl: %w", err)
		}
		return nil, fmt.Errorf("jsonl: %s: no <length>/data/<task>/%s.jsonl files (RULER's layout)", dir, Subset)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Length != out[j].Length {
			return out[i].Length < out[j].Length
		}
		return out[i].Task < out[j].Task
	})
	return out, nil
}

// ReadPredictions reads a RULER prediction file (<task>.jsonl).
func ReadPredictions(path string) ([]Prediction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	defer f.Close()
	return ParsePredictions(f, path)
}

// ParsePredictions reads RULER prediction JSONL from r; name labels errors.
// An empty stream is no predictions (evaluate.py scores it 0 with 0/0
// nulls). A line without "outputs" takes ["<output>"] or [""], as
// evaluate.py reads it; "others" is required because evaluate.py reads
// others.id.
func ParsePredictions(r io.Reader, name string) ([]Prediction, error) {
	var out []Prediction
	_, err := scanPredictions(r, name, func(p Prediction, _ int) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

// scanPredictions calls fn for each prediction line and returns the offset
// just past the last complete line (what a resume keeps). Indices may
// repeat, as they do in RULER's niah data.
func scanPredictions(r io.Reader, name string, fn func(p Prediction, line int) error) (int64, error) {
	lr := newLineReader(r, name)
	for {
		line, _, err := lr.next()
		if errors.Is(err, io.EOF) {
			return lr.end, nil
		}
		if err != nil {
			return lr.end, err
		}
		m, blank, err := fields(line, name, lr.num)
		if err != nil {
			return lr.end, err
		}
		if blank {
			continue
		}
		d := &decoder{m: m, name: name, num: lr.num}
		p, err := decodePrediction(d)
		if err != nil {
			return lr.end, err
		}
		if err := fn(p, lr.num); err != nil {
			return lr.end, err
		}
	}
}

func decodePrediction(d *decoder) (Prediction, error) {
	var p Prediction
	var err error
	if p.Index, err = d.integer("index", true, 0); err != nil {
		return p, err
	}
	if p.Index < 0 {
		return p, d.fail("index", "negative (%d)", p.Index)
	}
	if p.Pred, err = d.str("pred", true); err != nil {
		return p, err
	}
	if p.Input, err = d.str("input", true); err != nil {
		return p, err
	}
	if d.has("outputs") {
		if p.Outputs, err = d.strings("outputs"); err != nil {
			return p, err
		}
	} else {
		out, err := d.str("output", false)
		if err != nil {
			return p, err
		}
		p.Outputs = []string{out}
	}
	if p.Others, err = d.object("others", true); err != nil {
		return p, err
	}
	if p.Truncation, err = d.integer("truncation", false, -1); err != nil {
		return p, err
	}
	if p.Length, err = d.integer("length", false, -1); err != nil {
		return p, err
	}
	return p, nil
}

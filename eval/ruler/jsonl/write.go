package jsonl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// PredictionWriter appends prediction lines for one data file's samples to
// a RULER prediction file, one whole line per Write, straight to the file
// (no buffer in the process) and synced, so that a process killed between
// two samples has lost nothing. Samples are matched to lines by index and
// occurrence: the n-th line with index X answers the n-th sample with index
// X (RULER's niah indices repeat). Not safe for concurrent use.
type PredictionWriter struct {
	f       *os.File
	path    string
	samples []Sample
	want    map[int]int // index → samples with that index
	have    map[int]int // index → lines with that index in the file
	buf     bytes.Buffer
}

// OpenPredictions opens path for appending the predictions of samples (one
// data file, in its order), creating the file and its directory when absent.
// An existing file is a previous run to resume: bytes after its last newline
// are a line torn by a kill and are truncated away; every complete line must
// be a valid prediction of one of these samples, with the same references
// (else the file belongs to other data and is refused, unmodified). Pending
// then lists the samples still to predict.
func OpenPredictions(path string, samples []Sample) (*PredictionWriter, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("jsonl: %s: no samples to predict", path)
	}
	w := &PredictionWriter{path: path, samples: samples, want: map[int]int{}, have: map[int]int{}}
	for _, s := range samples {
		w.want[s.Index]++
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	if err := w.resume(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	w.f = f
	return w, nil
}

// resume counts the lines already written and truncates a torn final line.
func (w *PredictionWriter) resume() error {
	f, err := os.Open(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("jsonl: %s: not a regular file", w.path)
	}
	// Only complete lines count: a torn final line is cut off before it is
	// parsed, and the sample it held is predicted again.
	keep, err := completeLength(f)
	if err != nil {
		return fmt.Errorf("jsonl: %s: %w", w.path, err)
	}
	if _, err := scanPredictions(io.NewSectionReader(f, 0, keep), w.path, func(p Prediction, line int) error {
		s := w.nth(p.Index, w.have[p.Index])
		if s == nil {
			return &Error{File: w.path, Line: line, Field: "index", Msg: fmt.Sprintf("%d answers no sample of the data (%d sample(s) with this index, %d earlier line(s)): a prediction file of other data?", p.Index, w.want[p.Index], w.have[p.Index])}
		}
		if !slices.Equal(p.Outputs, s.Outputs) {
			return &Error{File: w.path, Line: line, Field: "outputs", Msg: fmt.Sprintf("%q differ from the data's %q for index %d: a prediction file of other data?", truncate(fmt.Sprint(p.Outputs), 60), truncate(fmt.Sprint(s.Outputs), 60), p.Index)}
		}
		w.have[p.Index]++
		return nil
	}); err != nil {
		return err
	}
	if keep < fi.Size() {
		if err := os.Truncate(w.path, keep); err != nil {
			return fmt.Errorf("jsonl: truncating the torn last line of %s: %w", w.path, err)
		}
	}
	return nil
}

// nth is the k-th (0-based) sample with index, or nil.
func (w *PredictionWriter) nth(index, k int) *Sample {
	for i := range w.samples {
		if w.samples[i].Index == index {
			if k == 0 {
				return &w.samples[i]
			}
			k--
		}
	}
	return nil
}

// Pending lists the samples without a prediction line, in data order.
func (w *PredictionWriter) Pending() []Sample {
	seen := map[int]int{}
	var out []Sample
	for _, s := range w.samples {
		seen[s.Index]++
		if seen[s.Index] > w.have[s.Index] {
			out = append(out, s)
		}
	}
	return out
}

// Len is the number of prediction lines in the file.
func (w *PredictionWriter) Len() int {
	n := 0
	for _, c := range w.have {
		n += c
	}
	return n
}

// Write appends p as one line and syncs the file. p must answer a pending
// sample: a line beyond the number of samples with p's index is an error,
// so a resumed run can never duplicate a prediction.
func (w *PredictionWriter) Write(p Prediction) error {
	if w.f == nil {
		return fmt.Errorf("jsonl: %s: write after close", w.path)
	}
	if w.have[p.Index] >= w.want[p.Index] {
		return fmt.Errorf("jsonl: %s: index %d is already predicted (%d sample(s) with this index)", w.path, p.Index, w.want[p.Index])
	}
	if p.Others == nil {
		p.Others = map[string]any{}
	}
	if p.Outputs == nil {
		p.Outputs = []string{}
	}
	w.buf.Reset()
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil { // Encode ends the line with '\n'
		return fmt.Errorf("jsonl: %s: index %d: %w", w.path, p.Index, err)
	}
	if _, err := w.f.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	w.have[p.Index]++
	return nil
}

// completeLength is the offset just past the last '\n' of f (0 if none).
func completeLength(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var buf [1 << 16]byte
	for end := fi.Size(); end > 0; {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && int64(n) != end-start {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Close closes the file.
func (w *PredictionWriter) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}

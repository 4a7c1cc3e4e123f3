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
)

// PredictionWriter appends prediction lines to a RULER prediction file, one
// whole line per Write, straight to the file (no buffer in the process) and
// synced, so that a process killed between two samples has lost nothing.
// It knows which indices the file already holds and refuses to write one
// twice. Not safe for concurrent use.
type PredictionWriter struct {
	f    *os.File
	path string
	done map[int]bool
	buf  bytes.Buffer
}

// OpenPredictions opens path for appending predictions, creating it (and its
// directory) when absent. An existing file is a previous run to resume:
// bytes after its last newline are a line torn by a kill and are truncated
// away; every complete line must be a valid prediction (a corrupt one is an
// error, never silently dropped). Predicted then reports the indices the
// file holds.
func OpenPredictions(path string) (*PredictionWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	w := &PredictionWriter{path: path, done: map[int]bool{}}
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

// resume reads the indices already written and truncates a torn final line.
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
	if _, err := scanPredictions(io.NewSectionReader(f, 0, keep), w.path, func(p Prediction, _ int) error {
		w.done[p.Index] = true
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

// Predicted reports whether the file already holds a prediction for index.
func (w *PredictionWriter) Predicted(index int) bool { return w.done[index] }

// Len is the number of predictions in the file.
func (w *PredictionWriter) Len() int { return len(w.done) }

// Write appends p as one line and syncs the file. Writing an index the file
// already holds is an error (a resumed run must skip it).
func (w *PredictionWriter) Write(p Prediction) error {
	if w.f == nil {
		return fmt.Errorf("jsonl: %s: write after close", w.path)
	}
	if p.Index < 0 {
		return fmt.Errorf("jsonl: %s: negative index %d", w.path, p.Index)
	}
	if w.done[p.Index] {
		return fmt.Errorf("jsonl: %s: index %d is already predicted", w.path, p.Index)
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
	w.done[p.Index] = true
	return nil
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

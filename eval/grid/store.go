package grid

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// GridFile is DIR/grid.json: what grid a directory holds.
type GridFile struct {
	Format  string     `json:"format"` // "starc-grid"
	Name    string     `json:"name"`
	Version string     `json:"starc_version"`
	Shards  int        `json:"shards"` // the shard count the cells are dealt to
	Cells   []CellFile `json:"cells"`  // every cell, in plan order
}

// CellFile is DIR/<id>/config.json.
type CellFile struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Config CellConfig `json:"config"`
}

// Sample is one line of samples.jsonl: one perplexity window or one task
// sample of one cell, with what it cost.
type Sample struct {
	Index int `json:"index"`

	// Perplexity windows.
	Tokens      int     `json:"tokens,omitempty"` // predictions scored
	NLLSum      float64 `json:"nll_sum,omitempty"`
	Top10Recall float64 `json:"top10_recall,omitempty"`
	MassRecall  float64 `json:"mass_recall,omitempty"`

	// Task samples.
	Pred            *string  `json:"pred,omitempty"`
	Outputs         []string `json:"outputs,omitempty"`
	PromptTokens    int      `json:"prompt_tokens,omitempty"`
	GeneratedTokens int      `json:"generated_tokens,omitempty"`

	// Cost per decode step of the sample.
	DecodeSteps       int     `json:"decode_steps"`
	TokensPerHead     float64 `json:"tokens_per_head"`
	RowsPerHead       float64 `json:"rows_per_head"`
	PIMLatencyNS      float64 `json:"pim_latency_ns_per_token"`
	PIMEnergyNJ       float64 `json:"pim_energy_nj_per_token"`
	PIMRowActivations float64 `json:"pim_row_activations_per_token"`
	Seconds           float64 `json:"seconds"`
}

// Result is DIR/<id>/result.json: a finished cell's scores. Everything but
// Seconds is a function of the samples alone.
type Result struct {
	ID      string  `json:"id"`
	Metric  string  `json:"metric"` // "perplexity" (lower is better), "ruler" (0–100) or "starc" (0–1)
	Score   float64 `json:"score"`
	Samples int     `json:"samples"`

	TokensScored int     `json:"tokens_scored,omitempty"` // perplexity
	Top10Recall  float64 `json:"top10_recall,omitempty"`
	MassRecall   float64 `json:"mass_recall,omitempty"`
	Nulls        int     `json:"nulls,omitempty"` // tasks: empty answers

	DecodeSteps       int     `json:"decode_steps"`
	TokensPerHead     float64 `json:"tokens_per_head"`
	RowsPerHead       float64 `json:"rows_per_head"`
	PIMLatencyNS      float64 `json:"pim_latency_ns_per_token"`
	PIMEnergyNJ       float64 `json:"pim_energy_nj_per_token"`
	PIMRowActivations float64 `json:"pim_row_activations_per_token"`
	Seconds           float64 `json:"seconds"` // run time summed over samples
}

const gridFormat = "starc-grid"

func cellDir(dir, id string) string    { return filepath.Join(dir, id) }
func gridPath(dir string) string       { return filepath.Join(dir, "grid.json") }
func configPath(dir, id string) string { return filepath.Join(dir, id, "config.json") }
func samplesPath(dir, id string) string {
	return filepath.Join(dir, id, "samples.jsonl")
}
func resultPath(dir, id string) string { return filepath.Join(dir, id, "result.json") }

// Claim makes dir the home of plan p dealt to shards shards: it writes
// grid.json, or checks that the one there is this grid at this shard
// count. Every cell directory must belong to the plan. It changes nothing
// in a directory it refuses.
func Claim(dir string, p *Plan, shards int) error {
	want := GridFile{Format: gridFormat, Name: p.Spec.Name, Shards: shards}
	if len(p.Cells) > 0 {
		want.Version = p.Cells[0].Config.Version
	}
	for _, c := range p.Cells {
		want.Cells = append(want.Cells, c.file())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	data, err := marshal(want)
	if err != nil {
		return err
	}
	have, err := readGridFile(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := checkCellDirs(dir, p); err != nil {
			return err
		}
		if err := checkNewDir(dir, p); err != nil {
			return err
		}
		// Create grid.json only if absent (a link fails on an existing
		// name), so shards starting together agree on one file.
		if err := writeNew(gridPath(dir), data); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if have, err = readGridFile(dir); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if !slices.Equal(have.ids(), want.ids()) {
		return fmt.Errorf("%s holds another grid (%q, %d cells, starc %s; this spec plans %q, %d cells, starc %s)%s; use another --out",
			dir, have.Name, len(have.Cells), have.Version, want.Name, len(want.Cells), want.Version, firstForeign(have.ids(), want.ids()))
	}
	if have.Shards != shards {
		return fmt.Errorf("%s is being run as %d shards; shard */%d would overlap them: use --shard i/%d (or a new --out)",
			dir, have.Shards, shards, have.Shards)
	}
	return checkCellDirs(dir, p)
}

func (g GridFile) ids() []string {
	ids := make([]string, len(g.Cells))
	for i, c := range g.Cells {
		ids[i] = c.ID
	}
	return ids
}

func (c Cell) file() CellFile { return CellFile{ID: c.ID, Name: c.Name(), Config: c.Config} }

func firstForeign(have, want []string) string {
	for _, id := range have {
		if !slices.Contains(want, id) {
			return fmt.Sprintf(": cell %s is not in this plan", id)
		}
	}
	for _, id := range want {
		if !slices.Contains(have, id) {
			return fmt.Sprintf(": this plan's cell %s is not in it", id)
		}
	}
	return ""
}

// ReadGridFile reads DIR/grid.json.
func ReadGridFile(dir string) (GridFile, error) { return readGridFile(dir) }

func readGridFile(dir string) (GridFile, error) {
	var g GridFile
	data, err := os.ReadFile(gridPath(dir))
	if err != nil {
		return g, err
	}
	if err := strictUnmarshal(data, &g); err != nil || g.Format != gridFormat {
		return g, fmt.Errorf("%s: not a starc grid file (%v); use another --out", gridPath(dir), err)
	}
	return g, nil
}

// checkNewDir refuses a directory without grid.json that holds anything
// but this plan's cell directories, a logs directory (Slurm's, made before
// the tasks start) and a volume's lost+found: a grid does not scatter its
// cells among other files.
func checkNewDir(dir string, p *Plan) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, c := range p.Cells {
		ids[c.ID] = true
	}
	for _, e := range entries {
		if e.IsDir() && (ids[e.Name()] || e.Name() == "logs" || e.Name() == "lost+found") {
			continue
		}
		if e.Name() == "grid.json" || strings.HasPrefix(e.Name(), ".grid.json.tmp-") {
			continue // another shard is creating it right now
		}
		return fmt.Errorf("%s holds %s and no grid.json: not a grid directory; use an empty or new --out", dir, e.Name())
	}
	return nil
}

// checkCellDirs refuses a directory holding a cell directory (a
// subdirectory with a config.json) that the plan does not have.
func checkCellDirs(dir string, p *Plan) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, c := range p.Cells {
		ids[c.ID] = true
	}
	for _, e := range entries {
		if !e.IsDir() || ids[e.Name()] {
			continue
		}
		if _, err := os.Stat(configPath(dir, e.Name())); err == nil {
			return fmt.Errorf("%s holds cell %s, which this spec does not plan (another spec or another starc version); use another --out", dir, e.Name())
		}
	}
	return nil
}

// prepareCell creates the cell's directory and config.json, or checks the
// one there.
func prepareCell(dir string, c Cell) error {
	if err := os.MkdirAll(cellDir(dir, c.ID), 0o755); err != nil {
		return err
	}
	want, err := marshal(c.file())
	if err != nil {
		return err
	}
	path := configPath(dir, c.ID)
	have, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return writeAtomic(path, want)
	case err != nil:
		return err
	case !bytes.Equal(have, want):
		return fmt.Errorf("%s does not describe cell %s (%s) as this plan does; move the directory away to rerun it", path, c.ID, c.Name())
	}
	return nil
}

// ReadResult reads a cell's result.json; os.ErrNotExist if it is absent.
func ReadResult(dir, id string) (Result, error) {
	var r Result
	path := resultPath(dir, id)
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := strictUnmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%s: corrupt (%v); the samples are kept: remove result.json and rerun to rebuild it", path, err)
	}
	if r.ID != id {
		return r, fmt.Errorf("%s: corrupt (id %q, want %q); remove result.json and rerun to rebuild it from the samples", path, r.ID, id)
	}
	return r, nil
}

// ReadCellFile reads a cell's config.json.
func ReadCellFile(dir, id string) (CellFile, error) {
	var c CellFile
	path := configPath(dir, id)
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := strictUnmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ReadSamples reads a cell's samples.jsonl: the complete lines, and the
// byte length they span. A last line without its newline (a write cut
// short by a kill) is not a sample; a complete line that does not decode,
// or a repeated index, is an error naming the line.
func ReadSamples(dir, id string) (samples []Sample, complete int64, err error) {
	path := samplesPath(dir, id)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	samples, complete, err = ParseSamples(f, path)
	return samples, complete, err
}

// ParseSamples parses samples.jsonl from r; name is used in errors.
func ParseSamples(r io.Reader, name string) ([]Sample, int64, error) {
	br := bufio.NewReader(r)
	var out []Sample
	var off int64
	seen := map[int]bool{}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 || b[len(b)-1] != '\n' {
			if err == io.EOF || err == nil {
				return out, off, nil // a partial last line is dropped
			}
			return out, off, fmt.Errorf("%s: %w", name, err)
		}
		var s Sample
		if err := strictUnmarshal(b, &s); err != nil {
			return out, off, fmt.Errorf("%s:%d: not a sample line: %v", name, line, err)
		}
		if s.Index < 0 || s.Index > maxCount {
			return out, off, fmt.Errorf("%s:%d: index %d out of range", name, line, s.Index)
		}
		if seen[s.Index] {
			return out, off, fmt.Errorf("%s:%d: sample %d is written twice", name, line, s.Index)
		}
		seen[s.Index] = true
		out = append(out, s)
		off += int64(len(b))
	}
}

// sampleWriter appends sample lines to a cell's samples.jsonl. It holds
// an exclusive lock on the file, so two processes (overlapping shards)
// never write one cell.
type sampleWriter struct {
	f    *os.File
	path string
}

// openSamples truncates a partial last line (complete bytes are kept)
// and opens the file for appending, locked.
func openSamples(dir string, c Cell, complete int64) (*sampleWriter, error) {
	path := samplesPath(dir, c.ID)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cell %s (%s) is being run by another process (overlapping shards?): %s is locked", c.ID, c.Name(), path)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() != complete {
		if err := f.Truncate(complete); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(complete, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &sampleWriter{f: f, path: path}, nil
}

// write appends one line and syncs it, so a finished sample survives a
// kill or a power cut.
func (w *sampleWriter) write(s Sample) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", w.path, err)
	}
	return w.f.Sync()
}

func (w *sampleWriter) close() error { return w.f.Close() }

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Rename(tmp, path)
}

// writeNew writes data to path only if path does not exist (os.ErrExist).
func writeNew(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err == nil {
		if _, err = f.Write(data); err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			return f.Name(), nil
		}
	} else {
		f.Close()
	}
	os.Remove(f.Name())
	return "", fmt.Errorf("writing %s: %w", path, err)
}

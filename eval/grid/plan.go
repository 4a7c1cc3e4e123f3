package grid

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
)

// Version is starc's version as cell IDs include it: set at link time
// (-ldflags "-X starc/eval/grid.Version=v1.2"), else the VCS revision the
// binary was built from, else "dev". A rebuilt binary of another version
// plans other IDs, so its results never mix with the old ones.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "+dirty"
			}
			return rev
		}
	}
	return "dev"
}

// CellConfig is everything that makes a cell's results what they are; its
// hash is the cell's ID. Paths are not part of it (the same model or text
// mounted elsewhere is the same cell): contents are, by hash.
type CellConfig struct {
	Format    string   `json:"format"` // "starc-grid-cell"
	Version   string   `json:"starc_version"`
	Model     string   `json:"model"` // directory base name and fingerprint
	Workload  Workload `json:"workload"`
	Method    string   `json:"method"`
	Budget    int      `json:"budget"` // 0 = all tokens
	Attention Knobs    `json:"attention"`
	Scorer    string   `json:"scorer,omitempty"` // task cells
}

// Workload is one perplexity text or one task at one length and depth.
type Workload struct {
	Kind string `json:"kind"` // "ppl" or "task"
	Name string `json:"name"` // ppl: the spec's name; task: RULER's task name

	Text    string `json:"text_sha256,omitempty"` // ppl: hash of the text file's bytes
	Prefill int    `json:"prefill,omitempty"`
	Tokens  int    `json:"tokens,omitempty"`
	Windows int    `json:"windows,omitempty"`

	Length  int   `json:"length,omitempty"` // task: prompt length in tokens
	Depth   *int  `json:"depth,omitempty"`  // task: fixed needle depth in %
	Samples int   `json:"samples,omitempty"`
	Seed    int64 `json:"seed,omitempty"`
}

// Label names the workload in tables and plots: "wiki" for a text,
// "niah_single_1@4096", "niah_single_1@4096/d50".
func (w Workload) Label() string {
	if w.Kind == "ppl" {
		return w.Name
	}
	s := w.Name + "@" + strconv.Itoa(w.Length)
	if w.Depth != nil {
		s += "/d" + strconv.Itoa(*w.Depth)
	}
	return s
}

// SampleCount is the number of samples a cell of w has.
func (w Workload) SampleCount() int {
	if w.Kind == "ppl" {
		return w.Windows
	}
	return w.Samples
}

// Cell is one planned cell: its ID, configuration and where its inputs are.
type Cell struct {
	ID       string
	Index    int // position in the plan
	Config   CellConfig
	ModelDir string // resolved model directory
	TextFile string // resolved text file (ppl)
	Group    string // cells of one group share a model and a workload (and, for tasks, a prefill)
	Cost     float64
}

// Plan is a spec's cells in order: models × workloads × methods × budgets.
type Plan struct {
	Spec  *Spec
	Cells []Cell
}

// NewPlan plans the cells of s. It reads every model's fingerprint and
// hashes every text, so a missing file is named here.
func NewPlan(s *Spec) (*Plan, error) {
	p := &Plan{Spec: s}
	ver := version()
	for mi, m := range s.Models {
		dir := s.Path(m)
		fp, err := ModelFingerprint(dir)
		if err != nil {
			return nil, fmt.Errorf("%s: models[%d]: %w", s.path, mi, err)
		}
		type load struct {
			w    Workload
			text string
			cost float64
		}
		var loads []load
		for i, pw := range s.Perplexity {
			path := s.Path(pw.File)
			sum, err := fileHash(path)
			if err != nil {
				return nil, fmt.Errorf("%s: perplexity[%d].file: %w", s.path, i, err)
			}
			w := Workload{Kind: "ppl", Name: pw.Name, Text: sum, Prefill: pw.Prefill, Tokens: pw.Tokens, Windows: pw.Windows}
			loads = append(loads, load{w, path, float64(pw.Windows) * (float64(pw.Prefill)/16 + float64(pw.Tokens))})
		}
		for _, tw := range s.Tasks {
			depths := []*int{nil}
			if len(tw.Depths) > 0 {
				depths = depths[:0]
				for _, d := range tw.Depths {
					depths = append(depths, &d)
				}
			}
			for _, n := range tw.Lengths {
				for _, d := range depths {
					w := Workload{Kind: "task", Name: tw.Task, Length: n, Depth: d, Samples: tw.Samples, Seed: tw.Seed}
					loads = append(loads, load{w, "", float64(tw.Samples) * (float64(n)/16 + 32)})
				}
			}
		}
		for _, l := range loads {
			group := fmt.Sprintf("%d/%s", mi, l.w.Label())
			for _, method := range s.Methods {
				budgets := s.Budgets
				if method == "full" {
					budgets = []int{0}
				}
				for _, b := range budgets {
					cfg := CellConfig{Format: "starc-grid-cell", Version: ver, Model: fp, Workload: l.w, Method: method,
						Budget: b, Attention: knobsFor(method, s.Attention)}
					if l.w.Kind == "task" {
						cfg.Scorer = s.Scorer
					}
					id, err := cellID(cfg)
					if err != nil {
						return nil, err
					}
					p.Cells = append(p.Cells, Cell{ID: id, Index: len(p.Cells), Config: cfg, ModelDir: dir, TextFile: l.text,
						Group: group, Cost: l.cost})
				}
			}
		}
	}
	seen := map[string]int{}
	for _, c := range p.Cells {
		if j, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("%s: cells %d and %d are the same configuration (the same model or text listed twice?)", s.path, j, c.Index)
		}
		seen[c.ID] = c.Index
	}
	return p, nil
}

// knobsFor keeps the knobs method reads and zeroes the others, so a cell's
// ID (and its result) is kept when a knob of another method changes: a
// grid that adds a STARC window reuses its full-attention cells.
func knobsFor(method string, k Knobs) Knobs {
	out := Knobs{DenseLayers: k.DenseLayers, KV: k.KV, Layout: k.Layout, RowTokens: k.RowTokens}
	switch method {
	case "starc":
		out.Window, out.ClusterSize, out.Recluster, out.KMeansInit = k.Window, k.ClusterSize, k.Recluster, k.KMeansInit
		if k.KMeansInit != "first" {
			out.Seed = k.Seed
		}
	case "quest", "quest-kernel":
		out.PageSize = k.PageSize
	case "sparq":
		out.SparQRank = k.SparQRank
	case "streaming":
		out.Sinks = k.Sinks
	}
	return out
}

// cellID is the first 16 hex digits of the SHA-256 of the configuration's
// JSON (fields in declaration order, so the encoding is canonical).
func cellID(cfg CellConfig) (string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// Name is a cell's short human name: "wiki/starc-64".
func (c Cell) Name() string {
	s := c.Config.Workload.Label() + "/" + c.Config.Method
	if c.Config.Budget > 0 {
		s += "-" + strconv.Itoa(c.Config.Budget)
	}
	return s
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ModelFingerprint names a checkpoint by its directory's base name and a
// hash of its config.json, tokenizer.json and the safetensors header
// (tensor names, dtypes, shapes, offsets), which is cheap to read and
// changes with any other checkpoint.
func ModelFingerprint(dir string) (string, error) {
	h := sha256.New()
	for _, name := range []string{"config.json", "tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("model %s: %w", dir, err)
		}
		h.Write(b)
	}
	f, err := os.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return "", fmt.Errorf("model %s: %w", dir, err)
	}
	defer f.Close()
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return "", fmt.Errorf("model %s: model.safetensors: %w", dir, err)
	}
	size := binary.LittleEndian.Uint64(n[:])
	if size == 0 || size > 100<<20 {
		return "", fmt.Errorf("model %s: model.safetensors: header of %d bytes", dir, size)
	}
	if _, err := io.CopyN(h, f, int64(size)); err != nil {
		return "", fmt.Errorf("model %s: model.safetensors: %w", dir, err)
	}
	return filepath.Base(filepath.Clean(dir)) + "-" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

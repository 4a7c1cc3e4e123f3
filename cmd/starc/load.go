package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"starc/attention"
	"starc/model"
	"starc/pim"
	"starc/tokenizer"
	"starc/weights"
)

// defaultModelDir is where the README's set-up puts SmolLM2-135M-Instruct.
const defaultModelDir = "models/smollm2-135m-instruct"

// loaded is an open checkpoint with its model and tokenizer.
type loaded struct {
	ckpt  *weights.Checkpoint
	model *model.Model
	tok   *tokenizer.Tokenizer
	dir   string
}

func loadModel(dir string) (*loaded, error) {
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) && dir == defaultModelDir {
			return nil, fmt.Errorf("model directory %s not found: run scripts/setup-model.sh first (see README)", dir)
		}
		return nil, fmt.Errorf("model directory: %w", err)
	}
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(ckpt)
	if err != nil {
		ckpt.Close()
		return nil, err
	}
	tokPath, err := ckpt.TokenizerPath()
	if err != nil {
		ckpt.Close()
		return nil, err
	}
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		ckpt.Close()
		return nil, err
	}
	if tok.VocabSize() > m.Config.Vocab {
		ckpt.Close()
		return nil, fmt.Errorf("%s: tokenizer has %d tokens but config.json vocab_size is %d", tokPath, tok.VocabSize(), m.Config.Vocab)
	}
	return &loaded{ckpt: ckpt, model: m, tok: tok, dir: dir}, nil
}

func (l *loaded) close() { l.ckpt.Close() }

// attnFlags are the attention flags generate and ppl share.
type attnFlags struct {
	method      *string
	budget      *int
	denseLayers *int
	window      *int
	clusterSize *int
	recluster   *int
	kmeansInit  *string
	pageSize    *int
	sparqRank   *int
	sinks       *int
	seed        *uint64
	threads     *int
	ctx         *int
	kv          *string
	layout      *string
	trace       *string
}

func addAttnFlags(fs *flag.FlagSet, defaultCtx int) *attnFlags {
	return &attnFlags{
		method:      fs.String("method", "full", "attention method: "+fmt.Sprint(attention.Names())),
		budget:      fs.Int("budget", 0, "KV tokens each head attends to per decode step (0 = all)"),
		denseLayers: fs.Int("dense-layers", 2, "layers that always attend densely (sparse methods; released STARC/Quest: 2)"),
		window:      fs.Int("window", 64, "starc: tokens per clustering window"),
		clusterSize: fs.Int("cluster-size", 16, "starc: target tokens per cluster"),
		recluster:   fs.Int("recluster", 64, "starc: decode tokens buffered before they are clustered"),
		kmeansInit:  fs.String("kmeans-init", "first", "starc: k-means initialisation: first, random or kmeans++"),
		pageSize:    fs.Int("page-size", 16, "quest: tokens per page"),
		sparqRank:   fs.Int("sparq-rank", 0, "sparq: query components for approximate scores (0 = head_dim/8)"),
		sinks:       fs.Int("sinks", 4, "streaming: attention-sink tokens kept"),
		seed:        fs.Uint64("seed", 0, "random seed (sampling, randomised k-means)"),
		threads:     fs.Int("threads", runtime.NumCPU(), "worker threads"),
		ctx:         fs.Int("ctx", defaultCtx, "context capacity in tokens (0 = the model's)"),
		kv:          fs.String("kv", "dense", "where the KV cache lives: dense (host float32) or pim (the simulated HBM3-PIM device, FP16)"),
		layout:      fs.String("layout", "gqa", "pim: KV layout, gqa (K/V read once per KV head) or attacc (one copy per query head, as AttAcc)"),
		trace:       fs.String("trace", "", "record the rows every decode step reads to `FILE` (pim trace, JSON lines)"),
	}
}

// config is the attention configuration the flags describe.
func (a *attnFlags) config(l *loaded, capacity int) attention.Config {
	c := l.model.AttentionConfig(capacity)
	c.Budget, c.DenseLayers = *a.budget, *a.denseLayers
	c.Window, c.ClusterSize, c.ReclusterInterval = *a.window, *a.clusterSize, *a.recluster
	c.KMeansInit, c.PageSize, c.SparQRank, c.Sinks, c.Seed = *a.kmeansInit, *a.pageSize, *a.sparqRank, *a.sinks, *a.seed
	return c
}

// runState is a state with its optional device store and trace recorder.
type runState struct {
	*model.State
	device    *attention.PIM           // nil with --kv dense
	trace     *attention.TraceRecorder // nil without --trace
	tracePath string
}

// newState builds the run state with the chosen KV store and attention method.
func (a *attnFlags) newState(l *loaded, capacity int) (*runState, error) {
	if *a.threads < 1 {
		return nil, usagef("--threads %d: want at least 1", *a.threads)
	}
	if *a.budget < 0 {
		return nil, usagef("--budget %d: want 0 (all) or a positive token count", *a.budget)
	}
	var layout pim.Layout
	switch *a.layout {
	case "gqa":
		layout = pim.LayoutGQA
	case "attacc":
		layout = pim.LayoutAttAcc
	default:
		return nil, usagef("--layout %q: want gqa or attacc", *a.layout)
	}
	if *a.kv != "dense" && *a.kv != "pim" {
		return nil, usagef("--kv %q: want dense or pim", *a.kv)
	}
	c := a.config(l, capacity)
	if *a.method == "full" {
		c.DenseLayers = 0
	}
	method, err := attention.New(*a.method, c)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	rs := &runState{}
	opt := model.StateOptions{MaxTokens: capacity, Threads: *a.threads, Method: method, DenseLayers: c.DenseLayers}
	if *a.kv == "pim" {
		if rs.device, err = attention.NewPIM(pim.HBM3PIM(true), c, layout); err != nil {
			return nil, err
		}
		opt.Store = rs.device
	}
	if rs.State, err = model.NewState(l.model, opt); err != nil {
		return nil, err
	}
	if *a.trace != "" {
		rs.trace, rs.tracePath = attention.NewTraceRecorder(c, 16, *a.layout), *a.trace
		rs.Attn.OnRead(rs.trace.Observe)
	}
	return rs, nil
}

// finish writes the trace, if one was recorded.
func (rs *runState) finish() error {
	if rs.trace == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := pim.WriteTrace(&buf, rs.trace.Trace()); err != nil {
		return err
	}
	if err := writeFileAtomic(rs.tracePath, buf.Bytes()); err != nil {
		return fmt.Errorf("writing %s: %w", rs.tracePath, err)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so an existing file is never left half-written.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	mode := os.FileMode(0o644) // CreateTemp makes the file private; keep an existing file's mode
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

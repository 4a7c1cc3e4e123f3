package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"starc/attention"
	"starc/model"
	"starc/pim"
	"starc/tokenizer"
	"starc/weights"
)

// defaultModelDir is where the README's set-up puts SmolLM2-135M-Instruct,
// relative to the repository. loadModel looks for it in several places.
const defaultModelDir = "models/smollm2-135m-instruct"

// modelFlag defines -m, the model directory.
func modelFlag(fs *flag.FlagSet) *string {
	return fs.String("m", defaultModelDir, "model `DIR` (HF layout); by default $STARC_MODEL, else "+defaultModelDir+
		" in the repository holding the starc binary, else in the current directory")
}

// loaded is an open checkpoint with its model and tokenizer.
type loaded struct {
	ckpt  *weights.Checkpoint
	model *model.Model
	tok   *tokenizer.Tokenizer
	dir   string
}

func loadModel(dir string) (*loaded, error) {
	if dir == defaultModelDir {
		exe, _ := os.Executable()
		var err error
		if dir, err = findDefaultModel(exe); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(dir); err != nil {
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

// findDefaultModel resolves the default -m: $STARC_MODEL, then the models/
// directory of the repository holding the executable exe (bin/starc), then
// the current directory. The error lists every path tried.
func findDefaultModel(exe string) (string, error) {
	if dir := os.Getenv("STARC_MODEL"); dir != "" {
		return dir, nil // named explicitly: any error is about this path
	}
	var tried []string
	if exe, err := filepath.EvalSymlinks(exe); err == nil && exe != "" {
		if root := repoRoot(filepath.Dir(exe)); root != "" {
			tried = append(tried, filepath.Join(root, defaultModelDir))
		}
	}
	tried = append(tried, defaultModelDir)
	for _, dir := range tried {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir, nil
		}
	}
	return "", fmt.Errorf("default model not found (tried $STARC_MODEL (unset), %s): run scripts/setup-model.sh (see README) or pass -m DIR",
		strings.Join(tried, ", "))
}

// repoRoot is the nearest directory at or above dir holding starc's go.mod.
func repoRoot(dir string) string {
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(data, []byte("module starc\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func (l *loaded) close() { l.ckpt.Close() }

// encode tokenises text as every command does (special tokens added and
// parsed), stopping when ctx is cancelled.
func (l *loaded) encode(ctx context.Context, text string) ([]int, error) {
	ids, err := l.tok.EncodeContext(ctx, text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if err != nil {
		return nil, fmt.Errorf("tokenising: %w", err)
	}
	return ids, nil
}

// attnFlags are the attention flags generate, ppl and sweep share.
type attnFlags struct {
	fs          *flag.FlagSet
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

// maxThreads bounds --threads: the worker pool's limit is far higher, but
// beyond this a run only slows down.
const maxThreads = 1024

func addAttnFlags(fs *flag.FlagSet, defaultCtx int) *attnFlags {
	return &attnFlags{
		fs:          fs,
		method:      enumFlag(fs, "method", "full", attention.Names(), "attention method"),
		budget:      intFlag(fs, "budget", 0, 0, maxCount, "sparse methods: KV tokens each query head attends to per decode step; 0 = all"),
		denseLayers: intFlag(fs, "dense-layers", 2, 0, maxCount, "sparse methods: layers that always attend densely (released STARC/Quest: 2)"),
		window:      intFlag(fs, "window", 64, 1, maxCount, "starc: tokens per clustering window"),
		clusterSize: intFlag(fs, "cluster-size", 16, 1, maxCount, "starc: target tokens per cluster"),
		recluster:   intFlag(fs, "recluster", 64, 1, maxCount, "starc: decode tokens buffered before they are clustered"),
		kmeansInit:  enumFlag(fs, "kmeans-init", "first", []string{"first", "random", "kmeans++"}, "starc: k-means initialisation"),
		pageSize:    intFlag(fs, "page-size", 16, 1, maxCount, "quest, quest-kernel: tokens per page"),
		sparqRank:   intFlag(fs, "sparq-rank", 0, 0, maxCount, "sparq: query components for approximate scores; 0 = head_dim/8"),
		sinks:       intFlag(fs, "sinks", 4, 1, maxCount, "streaming: attention-sink tokens kept"),
		seed:        fs.Uint64("seed", 0, "random seed (sampling, randomised k-means)"),
		threads:     intFlag(fs, "threads", runtime.NumCPU(), 1, maxThreads, "worker threads (more than the CPUs is allowed but slower)"),
		ctx:         intFlag(fs, "ctx", defaultCtx, 0, maxCount, "context capacity in tokens; 0 = the model's"),
		kv:          enumFlag(fs, "kv", "pim", []string{"dense", "pim"}, "where the KV cache lives (pim: the simulated HBM3-PIM device, FP16; a model the device cannot hold stays in host memory unless --kv pim is given; dense: host float32, the reference)"),
		layout:      enumFlag(fs, "layout", "gqa", []string{"gqa", "attacc"}, "with --kv pim, the KV layout (gqa: K/V read once per KV head; attacc: one copy per query head, as AttAcc)"),
		trace:       outputFlag(fs, "trace", "record the rows every decode step reads to `FILE` (pim trace, JSON lines)"),
	}
}

// methodKnobs lists the flags that only some methods read.
var methodKnobs = []struct {
	flag    string
	methods []string
}{
	{"window", []string{"starc"}},
	{"cluster-size", []string{"starc"}},
	{"recluster", []string{"starc"}},
	{"kmeans-init", []string{"starc"}},
	{"page-size", []string{"quest", "quest-kernel"}},
	{"sparq-rank", []string{"sparq"}},
	{"sinks", []string{"streaming"}},
}

// check refuses attention flags that contradict each other or would be
// ignored by the methods that run (--method, or the methods listed), and
// warns on w (if not nil) about choices that are allowed but probably not
// meant. It needs no model: commands call it before loading one.
func (a *attnFlags) check(w io.Writer, methods ...string) error {
	if len(methods) == 0 {
		methods = []string{*a.method}
	}
	sparse := slices.ContainsFunc(methods, func(m string) bool { return m != "full" })
	for _, k := range methodKnobs {
		if isSet(a.fs, k.flag) && !slices.ContainsFunc(methods, func(m string) bool { return slices.Contains(k.methods, m) }) {
			return usagef("--%s applies only to --method %s (running %s)", k.flag, strings.Join(k.methods, " or "), strings.Join(methods, ", "))
		}
	}
	if !sparse && isSet(a.fs, "dense-layers") {
		return usagef("--dense-layers applies only to sparse methods; --method full attends densely everywhere")
	}
	if !sparse && *a.budget > 0 {
		return usagef("--budget %d has no effect with --method full, which attends to every token: drop --budget or choose a sparse --method", *a.budget)
	}
	if isSet(a.fs, "layout") && *a.kv != "pim" {
		return usagef("--layout applies only with --kv pim (the KV cache is in host memory with --kv %s)", *a.kv)
	}
	if w == nil {
		return nil
	}
	if sparse && *a.budget == 0 && a.fs.Lookup("budgets") == nil {
		fmt.Fprintf(w, "starc: warning: --method %s without --budget attends to every token (0 = all); give --budget N to make it sparse\n", strings.Join(methods, ","))
	}
	if n := runtime.NumCPU(); *a.threads > n {
		fmt.Fprintf(w, "starc: warning: --threads %d is more than the %d CPUs; the run will be slower, not faster\n", *a.threads, n)
	}
	return nil
}

// checkModel refuses flags the loaded model cannot honour.
func (a *attnFlags) checkModel(l *loaded) error {
	c := l.model.Config
	switch {
	case *a.denseLayers > c.Layers:
		return usagef("--dense-layers %d: the model has %d layers", *a.denseLayers, c.Layers)
	case *a.sparqRank > c.HeadDim:
		return usagef("--sparq-rank %d: the model's heads have %d components", *a.sparqRank, c.HeadDim)
	case *a.ctx > c.MaxContext():
		return usagef("--ctx %d exceeds the model's context of %d tokens", *a.ctx, c.MaxContext())
	}
	return nil
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
// The flags were range-checked when parsed; newState also runs check and
// checkModel, so every command using it refuses the same contradictions.
func (a *attnFlags) newState(l *loaded, capacity int) (*runState, error) {
	if err := a.check(nil); err != nil {
		return nil, err
	}
	if err := a.checkModel(l); err != nil {
		return nil, err
	}
	layout := pim.LayoutGQA
	if *a.layout == "attacc" {
		layout = pim.LayoutAttAcc
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
		switch rs.device, err = attention.NewPIM(pim.HBM3PIM(true), c, layout); {
		case err == nil:
			opt.Store = rs.device
		case isSet(a.fs, "kv") || isSet(a.fs, "layout"):
			return nil, err
		default: // the default home cannot hold this model (head dim, capacity): host memory
			rs.device = nil
		}
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

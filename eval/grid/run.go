package grid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"starc/attention"
	"starc/eval"
	"starc/eval/ruler/jsonl"
	"starc/eval/taskrun"
	"starc/model"
	"starc/pim"
	"starc/tokenizer"
	"starc/weights"
)

// Loaded is an open model with its tokenizer.
type Loaded struct {
	Model *model.Model
	Tok   *tokenizer.Tokenizer
	ckpt  *weights.Checkpoint
}

// OpenModel opens the checkpoint in dir.
func OpenModel(dir string) (*Loaded, error) {
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(ckpt)
	if err == nil {
		var path string
		if path, err = ckpt.TokenizerPath(); err == nil {
			var tok *tokenizer.Tokenizer
			if tok, err = tokenizer.Load(path); err == nil {
				return &Loaded{Model: m, Tok: tok, ckpt: ckpt}, nil
			}
		}
	}
	ckpt.Close()
	return nil, err
}

// Close releases the checkpoint.
func (l *Loaded) Close() { l.ckpt.Close() }

// RunOptions is one run of one shard of a plan.
type RunOptions struct {
	Dir     string
	Plan    *Plan
	Shard   Shard
	Jobs    int // units (a perplexity cell, or the cells of one task workload) run side by side
	Threads int // worker threads per unit
	// Log, if not nil, gets a line per finished cell.
	Log io.Writer
	// Progress, if not nil, is told the samples finished out of the
	// shard's pending ones.
	Progress func(done, total int)
}

// RunSummary counts a shard's cells.
type RunSummary struct {
	Cells, Finished, Ran int // in the shard; finished before the run; run now
}

// unit is work one job does: the cells of one workload that share a
// prefill (a task's, or a perplexity text's prefilled more than one token),
// or one perplexity cell.
type unit struct {
	cells   []*cellRun
	modelID string
}

// cellRun is a cell with its samples done so far.
type cellRun struct {
	cell     Cell
	done     map[int]bool
	complete int64
}

// Run runs the cells of opt.Shard that are not finished: each sample is
// appended as it finishes, and result.json is written when the last one
// is. A finished cell is skipped, a partial one resumed. A corrupt
// result.json or samples.jsonl stops the run before any work, naming the
// file.
func Run(ctx context.Context, opt RunOptions) (RunSummary, error) {
	var sum RunSummary
	if err := Claim(opt.Dir, opt.Plan, opt.Shard.Count); err != nil {
		return sum, err
	}
	mine := opt.Plan.Deal(opt.Shard.Count)[opt.Shard.Index]
	sum.Cells = len(mine)
	var units []*unit
	byGroup := map[string]*unit{}
	pending := 0
	for _, i := range mine {
		c := opt.Plan.Cells[i]
		if _, err := ReadResult(opt.Dir, c.ID); err == nil {
			sum.Finished++
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return sum, err
		}
		samples, complete, err := ReadSamples(opt.Dir, c.ID)
		if err != nil {
			return sum, err
		}
		cr := &cellRun{cell: c, done: map[int]bool{}, complete: complete}
		n := c.Config.Workload.SampleCount()
		for _, s := range samples {
			if s.Index >= n {
				return sum, fmt.Errorf("%s: sample %d, but the cell has %d samples", samplesPath(opt.Dir, c.ID), s.Index, n)
			}
			cr.done[s.Index] = true
		}
		pending += n - len(cr.done)
		if c.sharesPrefill() {
			if u := byGroup[c.Group]; u != nil {
				u.cells = append(u.cells, cr)
				continue
			}
		}
		u := &unit{cells: []*cellRun{cr}, modelID: c.ModelDir}
		units = append(units, u)
		if c.sharesPrefill() {
			byGroup[c.Group] = u
		}
	}
	r := &runner{opt: opt, total: pending, models: map[string]*modelOnce{}, start: time.Now()}
	if opt.Progress != nil {
		opt.Progress(0, pending)
	}
	defer r.closeModels()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := min(max(opt.Jobs, 1), max(len(units), 1))
	next := make(chan *unit)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range jobs {
		wg.Go(func() {
			for u := range next {
				if err := r.runUnit(ctx, u); err != nil {
					errOnce.Do(func() { firstErr = err; cancel(err) })
				}
			}
		})
	}
feed:
	for _, u := range units {
		select {
		case next <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	sum.Ran = r.ran
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil && errors.Is(firstErr, context.Canceled) && context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
		firstErr = context.Cause(ctx)
	}
	return sum, firstErr
}

// runner is the state jobs share.
type runner struct {
	opt    RunOptions
	mu     sync.Mutex
	done   int
	total  int
	ran    int
	models map[string]*modelOnce
	start  time.Time
}

type modelOnce struct {
	once sync.Once
	l    *Loaded
	err  error
	ids  sync.Map // text path → []int
}

// model loads a model once for every job (weights are read-only; each
// cell has its own state).
func (r *runner) model(dir string) (*modelOnce, error) {
	r.mu.Lock()
	mo := r.models[dir]
	if mo == nil {
		mo = &modelOnce{}
		r.models[dir] = mo
	}
	r.mu.Unlock()
	mo.once.Do(func() { mo.l, mo.err = OpenModel(dir) })
	return mo, mo.err
}

func (r *runner) closeModels() {
	for _, mo := range r.models {
		if mo.l != nil {
			mo.l.Close()
		}
	}
}

func (r *runner) sampleDone() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	if r.opt.Progress != nil {
		r.opt.Progress(r.done, r.total)
	}
}

// eta is the time left at the rate so far; call with r.mu held.
func (r *runner) eta() string {
	if r.done == 0 {
		return "?"
	}
	left := time.Duration(float64(time.Since(r.start)) * float64(r.total-r.done) / float64(r.done))
	return left.Round(time.Second).String()
}

func (r *runner) runUnit(ctx context.Context, u *unit) error {
	mo, err := r.model(u.modelID)
	if err != nil {
		return err
	}
	writers := make([]*sampleWriter, len(u.cells))
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.close()
			}
		}
	}()
	for i, cr := range u.cells {
		if err := prepareCell(r.opt.Dir, cr.cell); err != nil {
			return err
		}
		if writers[i], err = openSamples(r.opt.Dir, cr.cell, cr.complete); err != nil {
			return err
		}
	}
	if u.cells[0].cell.Config.Workload.Kind == "ppl" {
		err = r.runPPL(ctx, mo, u.cells, writers)
	} else {
		err = r.runTasks(ctx, mo, u.cells, writers)
	}
	if err != nil {
		return err
	}
	for i, cr := range u.cells {
		writers[i].close()
		writers[i] = nil
		if err := r.finish(cr.cell); err != nil {
			return err
		}
	}
	return nil
}

// finish scores a cell from its samples and writes result.json.
func (r *runner) finish(c Cell) error {
	samples, _, err := ReadSamples(r.opt.Dir, c.ID)
	if err != nil {
		return err
	}
	res, err := Score(c.ID, c.Config, samples)
	if err != nil {
		return fmt.Errorf("cell %s (%s): %w", c.ID, c.Name(), err)
	}
	data, err := marshal(res)
	if err != nil {
		return err
	}
	if err := writeAtomic(resultPath(r.opt.Dir, c.ID), data); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran++
	if r.opt.Log != nil {
		fmt.Fprintf(r.opt.Log, "grid: %s %-36s %s %.4f over %d samples (%.1f s); shard: %d/%d samples, ETA %s\n",
			c.ID, c.Name(), res.Metric, res.Score, res.Samples, res.Seconds, r.done, r.total, r.eta())
	}
	return nil
}

// attnConfig is the attention configuration of a cell at a capacity.
func attnConfig(m *model.Model, cfg CellConfig, capacity int) attention.Config {
	k := cfg.Attention
	c := m.AttentionConfig(capacity)
	c.Budget, c.DenseLayers = cfg.Budget, *k.DenseLayers
	c.Window, c.ClusterSize, c.ReclusterInterval = k.Window, k.ClusterSize, k.Recluster
	c.KMeansInit, c.PageSize, c.SparQRank, c.Sinks, c.Seed = k.KMeansInit, k.PageSize, k.SparQRank, k.Sinks, k.Seed
	return c
}

func layout(k Knobs) pim.Layout {
	if k.Layout == "attacc" {
		return pim.LayoutAttAcc
	}
	return pim.LayoutGQA
}

// runPPL scores the pending windows of the perplexity cells of one
// workload. With a prefill of more than one token, each window is
// prefilled once (full attention, as every method prefills) and every
// cell decodes from its own fork of that prefill; with one token there is
// nothing to share and each cell prefills its own.
func (r *runner) runPPL(ctx context.Context, mo *modelOnce, cells []*cellRun, writers []*sampleWriter) error {
	first := cells[0].cell
	wl := first.Config.Workload
	ids, err := r.textIDs(ctx, mo, first.TextFile)
	if err != nil {
		return err
	}
	span := wl.Prefill + wl.Tokens
	if len(ids) < wl.Windows*span {
		return fmt.Errorf("%s has %d tokens, fewer than %d windows × (%d prefilled + %d scored)", first.TextFile, len(ids), wl.Windows, wl.Prefill, wl.Tokens)
	}
	m := mo.l.Model
	if span > m.Config.MaxContext() {
		return fmt.Errorf("workload %s: %d prefilled + %d scored tokens exceed the model's context of %d", wl.Name, wl.Prefill, wl.Tokens, m.Config.MaxContext())
	}
	for win := range wl.Windows {
		var todo []int
		for i, cr := range cells {
			if !cr.done[win] {
				todo = append(todo, i)
			}
		}
		if len(todo) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		window := ids[win*span : (win+1)*span]
		var shared *prefilled
		if wl.Prefill > 1 {
			if shared, err = r.prefill(m, first.Config, window); err != nil {
				return fmt.Errorf("workload %s, window %d: %w", wl.Name, win, err)
			}
		}
		for _, i := range todo {
			c := cells[i].cell
			s, err := r.pplWindow(ctx, m, c.Config, window, shared)
			if err != nil {
				shared.close()
				return fmt.Errorf("cell %s (%s), window %d: %w", c.ID, c.Name(), win, err)
			}
			s.Index = win
			if err := writers[i].write(s); err != nil {
				shared.close()
				return err
			}
			r.sampleDone()
		}
		shared.close()
	}
	return nil
}

func (r *runner) textIDs(ctx context.Context, mo *modelOnce, path string) ([]int, error) {
	if ids, ok := mo.ids.Load(path); ok {
		return ids.([]int), nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids, err := mo.l.Tok.EncodeContext(ctx, string(text), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if err != nil {
		return nil, fmt.Errorf("%s: tokenising: %w", path, err)
	}
	mo.ids.Store(path, ids)
	return ids, nil
}

// prefilled is a window's prefill under full attention, snapshotted for
// the cells to fork.
type prefilled struct {
	st   *model.State
	snap *model.Snapshot
}

func (p *prefilled) close() {
	if p != nil {
		p.st.Close()
	}
}

// prefill runs the first Prefill tokens of window through a forkable
// full-attention state of the window's capacity and snapshots it.
func (r *runner) prefill(m *model.Model, cfg CellConfig, window []int) (*prefilled, error) {
	full := cfg
	full.Method, full.Budget = "full", 0
	st, _, err := r.newState(m, full, len(window), true)
	if err != nil {
		return nil, err
	}
	if _, err := m.Prefill(st, window[:cfg.Workload.Prefill]); err != nil {
		st.Close()
		return nil, err
	}
	snap, err := st.Snapshot(nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &prefilled{st: st, snap: snap}, nil
}

// newState builds a cell's state (its method, the KV store the knobs name)
// for capacity tokens.
func (r *runner) newState(m *model.Model, cfg CellConfig, capacity int, forkable bool) (*model.State, *attention.PIM, error) {
	k := cfg.Attention
	ac := attnConfig(m, cfg, capacity)
	method, err := attention.New(cfg.Method, ac)
	if err != nil {
		return nil, nil, err
	}
	opt := model.StateOptions{MaxTokens: capacity, Threads: max(r.opt.Threads, 1), Method: method, DenseLayers: ac.DenseLayers,
		Forkable: forkable}
	var device *attention.PIM
	if k.KV == "pim" {
		if device, err = attention.NewPIM(pim.HBM3PIM(true), ac, layout(k)); err != nil {
			return nil, nil, err
		}
		opt.Store = device
	}
	st, err := model.NewState(m, opt)
	if err != nil {
		return nil, nil, err
	}
	return st, device, nil
}

// pplWindow runs STARC's stream protocol on one window: the first Prefill
// tokens prefilled densely (here, or forked from shared), then every later
// token predicted and fed through the decode path, so the cell's method
// chooses the context of each prediction. Quality, rows and device cost
// count the decode steps only.
func (r *runner) pplWindow(ctx context.Context, m *model.Model, cfg CellConfig, window []int, shared *prefilled) (Sample, error) {
	t0 := time.Now()
	var s Sample
	k := cfg.Attention
	st, device, err := r.newState(m, cfg, len(window), false)
	if err != nil {
		return s, err
	}
	defer st.Close()
	st.Attn.EnableQuality()
	heads := &eval.RowCounter{RowTokens: k.RowTokens, FromLayer: *k.DenseLayers}
	st.Attn.OnSelect(heads.Observe)
	prefill := cfg.Workload.Prefill
	var logits []float32
	if shared != nil {
		logits, err = st.Restore(shared.snap)
	} else {
		logits, err = m.Prefill(st, window[:prefill])
	}
	if err != nil {
		return s, err
	}
	heads.Reset()
	if device != nil {
		device.EndStep() // the prefill's accounting is not the decode's
	}
	var dev pim.StepReport
	var nll float64
	for i := prefill; i < len(window); i++ {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		x := eval.NLL(logits, window[i])
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return s, fmt.Errorf("scored token %d has NLL %g", i-prefill+1, x)
		}
		nll += x
		s.Tokens++
		if i == len(window)-1 {
			break // the last prediction needs no forward pass
		}
		if logits, err = m.Forward(st, window[i]); err != nil {
			return s, err
		}
		s.DecodeSteps++
		if device != nil {
			dev.Add(device.EndStep())
		}
	}
	s.NLLSum = nll
	_, s.Top10Recall, s.MassRecall = st.Attn.Quality().Mean()
	s.TokensPerHead = ratio(heads.TokensRead, heads.Reads)
	s.RowsPerHead = heads.RowsPerRead()
	if steps := float64(s.DecodeSteps); steps > 0 {
		s.PIMLatencyNS, s.PIMEnergyNJ = dev.LatencyNS/steps, dev.EnergyPJ/1e3/steps
		s.PIMRowActivations = float64(dev.RowActivations) / steps
	}
	s.Seconds = time.Since(t0).Seconds()
	return s, nil
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// TokenCounter counts tokens as RULER does (the ruler.Tokenizer of the
// task generators): no special tokens added, special tokens parsed.
type TokenCounter struct{ Tok *tokenizer.Tokenizer }

// Count is the number of tokens of text.
func (c TokenCounter) Count(text string) int {
	return len(c.Tok.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true}))
}

// runTasks answers the pending samples of a task workload's cells: each
// sample is prefilled once and every cell still missing it answers on a
// fork of that prefill (eval.Answerer).
func (r *runner) runTasks(ctx context.Context, mo *modelOnce, cells []*cellRun, writers []*sampleWriter) error {
	l := mo.l
	first := cells[0].cell.Config
	wl := first.Workload
	task := taskrun.Task{Name: wl.Name, Depth: -1}
	if wl.Depth != nil {
		task.Depth = *wl.Depth
	}
	samples, err := taskrun.Generated{Tokenizer: TokenCounter{l.Tok}, PerTask: wl.Samples, Seed: wl.Seed}.Samples(ctx, wl.Length, task)
	if err != nil {
		return fmt.Errorf("workload %s: %w", wl.Label(), err)
	}
	maxNew, err := taskrun.MaxNew(wl.Name)
	if err != nil {
		return err
	}
	k := first.Attention
	answerer, err := eval.NewAnswerer(l.Model, eval.AnswerConfig{Base: attnConfig(l.Model, first, 0), DenseLayers: *k.DenseLayers,
		Threads: max(r.opt.Threads, 1), PIM: k.KV == "pim", Layout: layout(k), RowTokens: k.RowTokens})
	if err != nil {
		return err
	}
	defer answerer.Close()
	stop := slices.Clone(l.Model.Config.EOS)
	if eos, ok := l.Tok.EOS(); ok && !slices.Contains(stop, eos) {
		stop = append(stop, eos)
	}
	for i := range samples {
		if i >= wl.Samples {
			break
		}
		var todo []int
		var cellsTodo []eval.Cell
		for c, cr := range cells {
			if !cr.done[i] {
				todo = append(todo, c)
				cellsTodo = append(cellsTodo, eval.Cell{Method: cr.cell.Config.Method, Budget: cr.cell.Config.Budget})
			}
		}
		if len(todo) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		s := &samples[i]
		ids := l.Tok.Encode(s.Prompt(), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		answers, err := answerer.Answer(ctx, ids, maxNew, stop, cellsTodo)
		if err != nil {
			return fmt.Errorf("workload %s, sample %d: %w", wl.Label(), i, err)
		}
		secs := time.Since(t0).Seconds() / float64(len(answers))
		for j, a := range answers {
			writeSample := taskSample(i, s, l.Tok, a, len(ids), secs)
			if err := writers[todo[j]].write(writeSample); err != nil {
				return err
			}
			r.sampleDone()
		}
	}
	return nil
}

func taskSample(index int, s *jsonl.Sample, tok *tokenizer.Tokenizer, a eval.Answer, promptTokens int, secs float64) Sample {
	pred := tok.DecodeWith(a.Tokens, tokenizer.DecodeOptions{SkipSpecial: true})
	return Sample{Index: index, Pred: &pred, Outputs: s.Outputs, PromptTokens: promptTokens, GeneratedTokens: a.Cost.GeneratedTokens,
		DecodeSteps: a.Cost.DecodeSteps, TokensPerHead: a.Cost.TokensPerHead, RowsPerHead: a.Cost.RowsPerHead,
		PIMLatencyNS: a.Cost.PIMLatencyNS, PIMEnergyNJ: a.Cost.PIMEnergyNJ, PIMRowActivations: a.Cost.PIMRowActivations, Seconds: secs}
}

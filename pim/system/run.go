package system

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"starc/pim"
)

// Methods: how each decode step's KV budget is chosen.
const (
	MethodFull   = "full"   // every token, no table
	MethodSparse = "sparse" // a budget table, no clustering cost
	MethodQuest  = "quest"  // = sparse (page-wise; only the table differs)
	MethodSparQ  = "sparq"  // = sparse (token-wise; only the table differs)
	MethodSTARC  = "starc"  // a budget table plus STARC's clustering cost
)

// MethodNames lists the accepted Config.Method values.
func MethodNames() []string {
	return []string{MethodFull, MethodQuest, MethodSparQ, MethodSTARC, MethodSparse}
}

// MethodFromTableName guesses the method from an artifact table's file name
// (kv_budget_<Model>_<Method>.txt); "sparse" when it cannot tell.
func MethodFromTableName(name string) string {
	lower := strings.ToLower(name)
	for _, m := range []string{MethodSTARC, MethodQuest, MethodSparQ} {
		if strings.Contains(lower, "_"+m) {
			return m
		}
	}
	return MethodSparse
}

// Config is one `starc hw` run: a model decoding Lout-1 steps after an
// Lin-token prompt, batch requests at a time.
type Config struct {
	Model Model
	Lin   int // prompt tokens (KV length before the first decode step)
	Lout  int // AttAcc's Lout: decode steps are 1..Lout-1, step s attends over Lin+s tokens
	Batch int

	// Method is one of MethodNames; "" means full without a table, sparse with one.
	Method string
	// BudgetTable holds one KV budget (tokens) per decode step, step 1 first.
	// It must cover the Lout-1 steps unless PadTable is set.
	BudgetTable []int
	// PadTable lets a budget table shorter than the run reuse its last value
	// for the remaining steps, as the STARC artifact's main.py pads its tables;
	// Result.PaddedSteps counts them. Without it a short table is an error.
	PadTable bool

	// AttAccCompat reproduces AttAcc's modelling choices (doc.go).
	AttAccCompat bool

	// Hardware; nil means DGXAttAcc(true).
	Hardware *Hardware
	// Cycles gives one channel's attention cycles and commands per R; nil means
	// the closed form of package pim.
	Cycles CyclesFunc
	// Cluster parameters for STARC without AttAccCompat; zero means DefaultClusterParams.
	Cluster ClusterParams
	// Progress, if set, is told every few thousand decode steps how many
	// of the run's Lout-1 are done, and once at the end.
	Progress func(done, total int)
}

// maxSteps bounds a run: 2^22 decode steps, past any context a released
// model supports. Run's memory does not grow with the steps (it keeps one
// memo entry per distinct row count); its time grows with the steps and the
// refreshes of the distinct row counts' schedules.
const maxSteps = 1 << 22

// maxBudget bounds one budget-table entry: the longest context Run accepts
// (maxSteps decode steps after a prompt of as many tokens).
const maxBudget = 1 << 23

// plan holds what a run derives once from its Config.
type plan struct {
	cfg      Config
	hw       Hardware
	method   string
	dbyte    float64
	headDim  int
	nh       int   // query heads per AttAcc (heads per GPU × batch)
	inst     int   // attention head instances per AttAcc placed one per channel
	perStack int   // of those, per stack (the most loaded one)
	rounds   int64 // ceil(perStack / channels)
	group    int64 // query heads sharing one channel's K/V (1 in compat mode)
	ioScale  float64
	fixed    fixedLayers
	cycles   CyclesFunc
}

// fixedLayers are the per-layer costs that do not depend on the context.
type fixedLayers struct {
	qkv, proj, x2gQKV, x2gOut, g2g, act, norm layerCost
	ffs                                       []layerCost
	fcE, etcE, commE                          [nEnergy]float64 // summed energies of the GPU layers and links
}

func (cfg Config) validate() (plan, error) {
	p := plan{cfg: cfg, dbyte: 2}
	if cfg.Hardware != nil {
		p.hw = *cfg.Hardware
	} else {
		p.hw = DGXAttAcc(true)
	}
	if err := p.hw.Validate(); err != nil {
		return p, err
	}
	m := cfg.Model
	if err := m.Validate(); err != nil {
		return p, fmt.Errorf("system: %w", err)
	}
	if cfg.Lin < 0 || cfg.Lin > maxSteps {
		return p, fmt.Errorf("system: Lin must be in 0..%d, got %d", maxSteps, cfg.Lin)
	}
	if cfg.Lout < 2 {
		return p, fmt.Errorf("system: Lout must be >= 2 (decode steps are 1..Lout-1), got %d", cfg.Lout)
	}
	if cfg.Lout-1 > maxSteps {
		return p, fmt.Errorf("system: Lout %d: more than %d decode steps", cfg.Lout, maxSteps)
	}
	if cfg.Batch < 1 || cfg.Batch > maxBatch {
		return p, fmt.Errorf("system: batch must be in 1..%d, got %d", maxBatch, cfg.Batch)
	}
	switch strings.ToLower(cfg.Method) {
	case "":
		p.method = MethodFull
		if cfg.BudgetTable != nil {
			p.method = MethodSparse
		}
	case MethodFull, MethodSparse, MethodQuest, MethodSparQ, MethodSTARC:
		p.method = strings.ToLower(cfg.Method)
	default:
		return p, fmt.Errorf("system: unknown method %q (valid: %s)", cfg.Method, strings.Join(MethodNames(), ", "))
	}
	if p.method == MethodFull && cfg.BudgetTable != nil {
		return p, errors.New("system: method full takes no budget table")
	}
	if p.method != MethodFull {
		if len(cfg.BudgetTable) == 0 {
			return p, fmt.Errorf("system: method %s needs a budget table", p.method)
		}
		for i, b := range cfg.BudgetTable {
			if b <= 0 || b > maxBudget {
				return p, fmt.Errorf("system: budget table: step %d: budget must be in 1..%d tokens, got %d", i+1, maxBudget, b)
			}
		}
		if steps := cfg.Lout - 1; len(cfg.BudgetTable) < steps && !cfg.PadTable {
			return p, fmt.Errorf("system: budget table has %d budgets for %d decode steps (Lout %d): lower Lout to %d or give a budget for every step (the STARC artifact's main.py would repeat the last budget; starc does not guess)",
				len(cfg.BudgetTable), steps, cfg.Lout, len(cfg.BudgetTable)+1)
		}
	}
	p.cycles = cfg.Cycles
	if p.cfg.Cluster == (ClusterParams{}) {
		p.cfg.Cluster = DefaultClusterParams()
	}
	if c := p.cfg.Cluster; c.Window <= 0 || c.RowTokens <= 0 || c.Iterations < 0 {
		return p, fmt.Errorf("system: cluster parameters must be positive: %+v", c)
	}

	tp := p.hw.GPUs
	headsPerGPU := m.Heads / tp // AttAcc: int(H/tp)
	if headsPerGPU == 0 {
		return p, fmt.Errorf("system: model %q: %d heads over %d GPUs leaves none per GPU", m.Name, m.Heads, tp)
	}
	p.nh = headsPerGPU * cfg.Batch
	kvHeads := m.Heads
	if cfg.AttAccCompat {
		p.headDim = m.Hidden / m.Heads // AttAcc: dhead = int(hdim/nheads)
		p.inst = p.nh
		p.group = 1
		p.ioScale = 1
	} else {
		if m.Heads%tp != 0 || m.Hidden%tp != 0 {
			return p, fmt.Errorf("system: model %q: heads (%d) and hidden (%d) must divide over %d GPUs", m.Name, m.Heads, m.Hidden, tp)
		}
		p.headDim = m.HeadDim
		kvHeads = m.KVHeads
		kvPerGPU := (m.KVHeads + tp - 1) / tp // replicated when fewer KV heads than GPUs
		p.inst = kvPerGPU * cfg.Batch
		p.group = int64(m.Heads / m.KVHeads)
		p.ioScale = 8
	}
	if p.cycles == nil {
		if p.headDim != pim.AttAccHeadDim {
			return p, fmt.Errorf("system: model %q: head dim %d: the PIM attention model covers AttAcc's layout, head dim %d, only",
				m.Name, p.headDim, pim.AttAccHeadDim)
		}
		spec := pim.HBM3PIM(p.hw.PowerLimit)
		p.cycles = func(R int) (int64, Counts) {
			cyc, c := pim.ClosedFormAttention(spec, R)
			return cyc, Counts{MAC: c.MAC, SFM: c.SFM, MVGB: c.MVGB, MVSB: c.MVSB, WRGB: c.WRGB}
		}
	}
	stacks := p.hw.StacksPerAcc
	p.perStack = (p.inst + stacks - 1) / stacks
	p.rounds = ceilDiv(int64(p.perStack), int64(p.hw.PIM.Channels))

	// Capacity: K and V of every layer and KV head at the longest context.
	maxL := int64(cfg.Lin + cfg.Lout - 1)
	kvBytes := 2 * int64(m.Layers) * int64(kvHeads) * int64(p.headDim) * int64(p.dbyte) * maxL * int64(cfg.Batch)
	if capBytes := p.hw.CapacityBytes(); kvBytes > capBytes || kvBytes < 0 {
		return p, fmt.Errorf("system: context does not fit: KV cache of %d tokens × batch %d = %d B (2 × %d layers × %d heads × %d dims × 2 B per token) exceeds the PIM capacity %d B (%d AttAcc × %d stacks × %d B)",
			maxL, cfg.Batch, kvBytes, m.Layers, kvHeads, p.headDim, capBytes, p.hw.AttAccs, stacks, p.hw.PIM.StackBytes())
	}
	p.fixed = p.fixedLayers()
	return p, nil
}

// fixedLayers builds the GPU layers and the links of one decoder layer
// (attacc.md §3.2).
func (p *plan) fixedLayers() fixedLayers {
	m, h, b, db := p.cfg.Model, &p.hw, float64(p.cfg.Batch), p.dbyte
	tp := h.GPUs
	var f fixedLayers
	hidden := float64(m.Hidden)
	var qkvN, ffN float64
	gated := true
	if p.cfg.AttAccCompat {
		hd := float64(m.Hidden / tp)
		qkvN = 3 * hd
		ffN = m.AttAccFFScale * hd
		gated = m.AttAccGatedFFN
	} else {
		qkvN = float64((m.Heads + 2*m.KVHeads) * m.HeadDim / tp)
		ffN = float64(m.Intermediate) / float64(tp)
		gated = !m.GELUFFN
	}
	f.qkv = h.gpuFC(b, qkvN, hidden, db)
	f.proj = h.gpuFC(b, hidden, float64(m.Heads*p.headDim/tp), db)
	if p.cfg.AttAccCompat {
		f.proj = h.gpuFC(b, hidden, float64(m.Hidden/tp), db)
	}
	f.x2gQKV = h.accLink(b * qkvN * db)
	f.x2gOut = h.accLink(float64(p.headDim) * float64(p.nh) * db)
	f.g2g = h.gpuAllReduce(b, hidden, db)
	f.norm = h.gpuElementwise(kindNorm, b, hidden, db)
	if gated {
		f.ffs = []layerCost{h.gpuFC(b, ffN, hidden, db), h.gpuFC(b, ffN, hidden, db), h.gpuFC(b, hidden, ffN, db)}
		f.act = h.gpuElementwise(kindGLU, b, ffN, db)
	} else {
		f.ffs = []layerCost{h.gpuFC(b, ffN, hidden, db), h.gpuFC(b, hidden, ffN, db)}
		f.act = h.gpuElementwise(kindGELU, b, ffN, db)
	}
	addEnergy(&f.fcE, f.qkv.energy, 1)
	addEnergy(&f.fcE, f.proj.energy, 1)
	for _, l := range f.ffs {
		addEnergy(&f.fcE, l.energy, 1)
	}
	addEnergy(&f.etcE, f.act.energy, 1)
	addEnergy(&f.etcE, f.norm.energy, 2)
	addEnergy(&f.commE, f.g2g.energy, 2)
	addEnergy(&f.commE, f.x2gQKV.energy, 1)
	addEnergy(&f.commE, f.x2gOut.energy, 1)
	return f
}

// attention is one channel's attention work at R rows (memoised per R).
type attention struct {
	cycles int64
	counts Counts
}

// stepInput is what one decode step's cost depends on.
type stepInput struct {
	L, budget, effL, R int
	clusterCycles      int64  // per channel, one round
	cluster            Counts // per channel
}

// maxBatch bounds Config.Batch (AttAcc's largest batch is 256).
const maxBatch = 1 << 16

// ctxCheckEvery is how many decode steps Run and EachStep go between two
// looks at their context.
const ctxCheckEvery = 1 << 10

// Run simulates decode steps 1..Lout-1 and averages them as AttAcc does. It
// keeps no per-step rows (Result.EachStep recomputes them) and stops with
// ctx's error when ctx is done.
func Run(ctx context.Context, cfg Config) (Result, error) {
	p, err := cfg.validate()
	if err != nil {
		return Result{}, err
	}
	rp := &replay{plan: p, memo: map[int]attention{}}
	res := Result{
		Model: p.cfg.Model.Name, Method: p.method, Lin: cfg.Lin, Lout: cfg.Lout, Batch: cfg.Batch,
		AttAccCompat: cfg.AttAccCompat, HeadsPerStack: p.perStack, Rounds: int(p.rounds), QueryGroup: int(p.group),
		CapacityBytes: p.hw.CapacityBytes(),
		replay:        rp,
	}
	if p.method != MethodFull {
		res.PaddedSteps = max(0, cfg.Lout-1-len(cfg.BudgetTable))
	}
	var sum stepColumns
	for s := 1; s < cfg.Lout; s++ {
		if s%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, fmt.Errorf("system: stopped at decode step %d of %d: %w", s, cfg.Lout-1, err)
			}
			if cfg.Progress != nil {
				cfg.Progress(s, cfg.Lout-1)
			}
		}
		in := p.stepInput(s)
		a, err := rp.attention(in.R)
		if err != nil {
			return Result{}, err
		}
		c := p.step(in, a)
		sum.add(&c)
	}
	if cfg.Progress != nil {
		cfg.Progress(cfg.Lout-1, cfg.Lout-1)
	}
	res.DistinctR = len(rp.memo)
	res.Columns = sum.scaled(float64(p.cfg.Model.Layers), float64(cfg.Lout-1))
	res.Throughput = float64(cfg.Batch) / (res.Columns.Time / 1000)
	return res, nil
}

// replay is what Result.EachStep needs to recompute the steps of a run: its
// plan and the attention of every row count it met.
type replay struct {
	plan plan
	memo map[int]attention
}

// attention returns one channel's attention at R rows, simulated once per R.
func (rp *replay) attention(R int) (attention, error) {
	if a, ok := rp.memo[R]; ok {
		return a, nil
	}
	var a attention
	a.cycles, a.counts = rp.plan.cycles(R)
	if a.cycles <= 0 {
		return a, fmt.Errorf("system: attention model gave %d cycles at R=%d", a.cycles, R)
	}
	rp.memo[R] = a
	return a, nil
}

// EachStep calls fn with each decode step of the run, in order, recomputed
// from the run's plan (so a run of millions of steps never holds them all).
// It stops at fn's first error, or with ctx's error when ctx is done.
func (r Result) EachStep(ctx context.Context, fn func(Step) error) error {
	rp := r.replay
	if rp == nil {
		return errors.New("system: EachStep: the result does not come from Run")
	}
	p := &rp.plan
	for s := 1; s < r.Lout; s++ {
		if s%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("system: stopped at decode step %d of %d: %w", s, r.Lout-1, err)
			}
		}
		in := p.stepInput(s)
		a, err := rp.attention(in.R)
		if err != nil {
			return err
		}
		c := p.step(in, a)
		err = fn(Step{
			Step: s, L: in.L, Budget: in.budget, EffectiveL: in.effL, R: in.R,
			Cycles: p.rounds * (a.cycles + in.clusterCycles), Clustering: in.clusterCycles > 0,
			Columns: c.scaled(float64(p.cfg.Model.Layers), 1),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// stepInput resolves step s: its context, budget, effective context and any
// clustering it carries.
func (p *plan) stepInput(s int) stepInput {
	cfg := &p.cfg
	in := stepInput{L: cfg.Lin + s}
	fullRows := (in.L + 15) / 16
	if p.method == MethodFull {
		in.R, in.effL, in.budget = fullRows, in.L, in.L
	} else {
		t := cfg.BudgetTable
		in.budget = t[min(s-1, len(t)-1)]
		in.R = min((in.budget+15)/16, fullRows)
		in.effL = 16 * in.R
	}
	if p.method != MethodSTARC {
		return in
	}
	d := p.hw.PIM
	if cfg.AttAccCompat {
		if s == cfg.Lout-1 { // AttAcc charges one pass over the whole context at the last step
			in.cluster = attaccClusterCounts(int64(in.L))
			in.clusterCycles = d.clusterCycles(in.cluster, 0)
		}
		return in
	}
	w := cfg.Cluster.Window
	var tokens []int
	switch {
	case s == 1: // first decode call clusters the prompt plus the current token
		n := cfg.Lin + 1
		for ; n >= w; n -= w {
			tokens = append(tokens, w)
		}
		if n > 0 {
			tokens = append(tokens, n)
		}
	case (s-1)%w == 0: // the buffer reached a full window
		tokens = []int{w}
	}
	for _, n := range tokens {
		c, vnorm := windowClusterCost(int64(n), int64(p.headDim), cfg.Cluster)
		in.cluster = in.cluster.add(c)
		in.clusterCycles += d.clusterCycles(c, vnorm)
	}
	return in
}

// stepColumns are one decode step of one layer: times in s, energies in pJ.
type stepColumns struct {
	t [nTime]float64
	e [nEnergyCol]float64
}

func (c *stepColumns) add(o *stepColumns) {
	for i := range c.t {
		c.t[i] += o.t[i]
	}
	for i := range c.e {
		c.e[i] += o.e[i]
	}
}

// scaled converts per-layer seconds and pJ to AttAcc's units for the whole
// model (× layers): ms and nJ, divided by steps.
func (c *stepColumns) scaled(layers, steps float64) Columns {
	var out Columns
	for i, v := range c.t {
		out.setTime(i, v/steps*layers*1000)
	}
	for i, v := range c.e {
		out.setEnergy(i, v/steps*layers/1000)
	}
	return out
}

// step computes one decode step of one layer (attacc.md §3.4 to §3.6).
func (p *plan) step(in stepInput, a attention) stepColumns {
	h, f := &p.hw, &p.fixed
	cfg := &p.cfg
	nh := float64(p.nh)
	dh := float64(p.headDim)

	// PIM attention: one channel's time is the stack's; all stacks in parallel.
	cycles := p.rounds * (a.cycles + in.clusterCycles)
	tAttn := float64(cycles) * h.PIM.TCKNS / 1e9

	// Command totals per AttAcc for energy.
	var total Counts
	var ctx float64 // context of the softmax and the ALU energy
	var aluMACs float64
	if cfg.AttAccCompat {
		// AttAcc: the simulated stack (perStack heads) × all stacks; ALU on the
		// score MACs of the full context.
		k := int64(p.perStack * h.StacksPerAcc)
		total = a.counts.add(in.cluster)
		total = Counts{total.MAC * k, total.SFM * k, total.MVGB * k, total.MVSB * k, total.WRGB * k}
		ctx = float64(in.L)
		aluMACs = 2 * ctx * dh * nh / 2
	} else {
		// Real head count; K/V reads once per KV head, the query-side data path
		// once per query head; ALU for score and context MACs over the tokens read.
		k := int64(p.inst)
		g := p.group
		total = Counts{
			MAC:  (a.counts.MAC + in.cluster.MAC) * k,
			SFM:  (a.counts.SFM*g + in.cluster.SFM) * k,
			MVGB: (a.counts.MVGB*g + in.cluster.MVGB) * k,
			MVSB: (a.counts.MVSB*g + in.cluster.MVSB) * k,
			WRGB: (a.counts.WRGB*g + in.cluster.WRGB) * k,
		}
		ctx = float64(in.effL)
		aluMACs = 2 * (2 * ctx * dh * nh / 2)
	}
	var attn layerCost
	attn.time = tAttn
	attn.energy[eMem] = h.pimEnergy(total, p.ioScale)
	attn.energy[eALU] = aluMACs * h.Energy.ALUPerMAC * float64(h.AttAccs)
	sfm := h.softmax(ctx, nh, p.dbyte)

	// Pipeline (--pipeopt): overlap attention with the FC layers and the link.
	qkv, proj := f.qkv.time, f.proj.time
	x2g := f.x2gQKV.time + f.x2gOut.time
	at := attn.time + sfm.time
	r := 1 / (float64(cfg.Model.Heads) / float64(h.GPUs))
	if fc := qkv + proj; at > fc {
		qkv *= r
		proj *= r
		if at > x2g {
			x2g *= r
		} else {
			x2g -= at * (1 - r)
		}
	} else if fc > x2g {
		x2g *= r
		qkv -= at * (1 - r) * (3.0 / 4.0)
		proj -= at * (1 - r) * (1.0 / 4.0)
	} else {
		x2g -= at * (1 - r)
		qkv *= r
		proj *= r
	}
	// FF-parallel (--ffopt): the FFN shares weights' bandwidth with the PIM side.
	bwScale := h.StackExtBW * h.PIMBWScale * float64(h.StacksPerAcc) / h.GPUMemBW
	var ff float64
	for _, l := range f.ffs {
		var ratio float64
		if l.computeBound {
			ratio = h.GPUFLOPS / (h.GPUFLOPS + h.GPUMemBW/p.dbyte*2*bwScale)
		} else {
			ratio = h.GPUMemBW / (h.GPUMemBW + h.GPUMemBW*bwScale/float64(cfg.Batch))
		}
		ff += l.time * ratio
	}

	var c stepColumns
	c.t[tMatmul] = attn.time
	c.t[tQKV] = qkv
	c.t[tProj] = proj
	c.t[tFF] = ff
	c.t[tFC] = qkv + proj + ff
	c.t[tG2G] = 2 * f.g2g.time
	c.t[tX2G] = x2g
	c.t[tComm] = c.t[tG2G] + x2g
	c.t[tSoftmax] = 0
	c.t[tAct] = f.act.time
	c.t[tNorm] = 2 * f.norm.time
	c.t[tEtc] = c.t[tAct] + c.t[tNorm]
	c.t[tTime] = c.t[tMatmul] + c.t[tFC] + c.t[tComm] + c.t[tEtc]

	fcE, etcE, commE := f.fcE, f.etcE, f.commE
	var attnE [nEnergy]float64
	addEnergy(&attnE, attn.energy, 1)
	addEnergy(&attnE, sfm.energy, 1)
	var all [nEnergy]float64
	for _, e := range [][nEnergy]float64{fcE, etcE, attnE, commE} {
		addEnergy(&all, e, 1)
	}
	comp := func(e [nEnergy]float64) float64 { return e[eL2] + e[eL1] + e[eReg] + e[eALU] }
	c.e[eDRAM] = all[eMem]
	c.e[eL2Col] = all[eL2]
	c.e[eL1Col] = all[eL1]
	c.e[eRegCol] = all[eReg]
	c.e[eALUCol] = all[eALU]
	c.e[eFCMem] = fcE[eMem]
	c.e[eFCComp] = comp(fcE)
	c.e[eAttnMem] = attnE[eMem]
	c.e[eAttnComp] = comp(attnE)
	c.e[eEtcMem] = etcE[eMem]
	c.e[eEtcComp] = comp(etcE)
	c.e[eCommCol] = all[eComm]
	c.e[eTotal] = all[eMem] + all[eL2] + all[eL1] + all[eReg] + all[eALU] + all[eComm]
	return c
}

func addEnergy(dst *[nEnergy]float64, src [nEnergy]float64, k float64) {
	for i := range dst {
		dst[i] += k * src[i]
	}
}

// Command dump runs starc's stream perplexity protocol on a list of token
// ids and writes, for every decode step, sparse layer and query head, the
// set of token positions the attention method selected. It is the Go side
// of the differential runs in bench/reference (see README.md there); the
// Python side (ref_stream.py) writes the same format from the released
// STARC and Quest code.
//
// Output in -out DIR:
//
//	sel.bin   one record per (step, layer ≥ dense, query head), in that
//	          order: ceil(ctx/8) bytes, bit p (little-endian within each
//	          byte) set when position p was selected. Steps are the decode
//	          calls at positions prefill .. prefill+max-tokens-2.
//	nll.txt   the NLL of each prediction (the first one from the prefill).
//	meta.json shape, method, budget and perplexity.
//	margin.bin quest only: one float64 per record, the relative gap between
//	          the k-th and (k+1)-th page bound (ref_stream.py's margin,
//	          computed here from the recorded q and keys; +Inf when every
//	          page is taken). compare.py reads it from its second argument.
//
// Control runs (README "Control, starc side"): -perturb-embeddings EPS
// scales every input-embedding weight by 1 ± EPS with fixed random signs
// from -seed, as ref_stream.py --perturb-embeddings (the output head keeps
// the original weights); -perturb-query moves every element of the query
// each Select scores by -perturb-query-ulps float32 ulps (default one) up or
// down (random signs from -seed, drawn in call order) and leaves the query
// the attention uses as it is. -flip STEP:LAYER:HEAD (quest) decides the
// near-tie at that one selection's cut the other way: the pages ranked
// 1..k-1 and k+1 are attended (sel.bin keeps the method's own selection).
//
// The store is the dense float32 one (as the reference's fp32 run), the
// selections are the positions the method returns, and the protocol is
// eval.StreamPerplexity's (the one `starc ppl --protocol stream` runs).
package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"starc/attention"
	"starc/eval"
	"starc/model"
	"starc/model/kernels"
	"starc/weights"
)

// recorder wraps a method and writes each Select's positions as a bitset.
// It hides the method's optional interfaces, so the method keeps its own
// float32 copy of the keys (the same selections; attention/keysource_test).
type recorder struct {
	attention.Method
	dense, ctx int
	w          *bufio.Writer
	rec        []byte
	steps      int
	lastN      int

	flip  *[3]int  // -flip: (decode step, layer, query head); nil = off
	qrng  *mt19937 // -perturb-query: the signs; nil = off
	qulps int      // ulps each element moves
	qbuf  []float32

	margins *bufio.Writer // quest: margin.bin; nil = not written
	cfg     attention.Config
	pages   []pageBounds // [layer*KVHeads+kvHead], for the margins
	bounds  []float64
}

func (r *recorder) Append(layer, kvHead, pos int, key []float32) {
	r.Method.Append(layer, kvHead, pos, key)
	if r.margins == nil || layer < r.dense {
		return
	}
	hd, ps := r.cfg.HeadDim, r.pageSize()
	g := &r.pages[layer*r.cfg.KVHeads+kvHead]
	if g.hi == nil {
		np := (r.ctx + ps - 1) / ps
		g.hi, g.lo = make([]float32, np*hd), make([]float32, np*hd)
	}
	p := pos / ps
	hi, lo := g.hi[p*hd:(p+1)*hd], g.lo[p*hd:(p+1)*hd]
	for c, v := range key[:hd] {
		if pos%ps == 0 {
			hi[c], lo[c] = v, v
		} else {
			hi[c], lo[c] = max(hi[c], v), min(lo[c], v)
		}
	}
}

func (r *recorder) Select(layer, head int, q []float32, n int, dst []int) []int {
	if r.qrng != nil {
		r.qbuf = append(r.qbuf[:0], q...)
		for i, v := range r.qbuf {
			to := float32(math.Inf(-1))
			if r.qrng.next()&1 == 1 {
				to = float32(math.Inf(1))
			}
			for range r.qulps {
				v = math.Nextafter32(v, to)
			}
			r.qbuf[i] = v
		}
		q = r.qbuf
	}
	if n != r.lastN {
		r.steps++
		r.lastN = n
	}
	first := len(dst)
	dst = r.Method.Select(layer, head, q, n, dst)
	attend := dst
	if r.flip != nil && *r.flip == [3]int{r.steps - 1, layer, head} {
		attend = r.flipped(layer, head, q, n, dst[:first:first], dst[first:])
	}
	if r.w == nil {
		return attend
	}
	if r.margins != nil {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(r.questMargin(layer, head, q, n)))
		if _, err := r.margins.Write(b[:]); err != nil {
			panic(err)
		}
	}
	clear(r.rec)
	for _, p := range dst {
		r.rec[p/8] |= 1 << (p % 8)
	}
	if _, err := r.w.Write(r.rec); err != nil {
		panic(err)
	}
	return attend
}

// flipped is -flip's selection: Quest's pages ranked by the page bounds of
// questMargin, with the k-th page replaced by the (k+1)-th (the near-tie at
// the cut decided the other way), expanded to their tokens in ascending
// order and appended to dst. own is the method's selection, checked to be
// the top k pages of these bounds.
func (r *recorder) flipped(layer, head int, q []float32, n int, dst, own []int) []int {
	hd, ps := r.cfg.HeadDim, r.pageSize()
	g := r.pages[layer*r.cfg.KVHeads+head/(r.cfg.QueryHeads/r.cfg.KVHeads)]
	pages := (n + ps - 1) / ps
	k := min(max(3, r.cfg.Budget/ps), pages)
	if k >= pages {
		panic("dump: -flip at a selection that takes every page")
	}
	bound := make([]float64, pages)
	order := make([]int, pages)
	for p := range pages {
		hi, lo := g.hi[p*hd:(p+1)*hd], g.lo[p*hd:(p+1)*hd]
		for c := range hd {
			bound[p] += float64(max(q[c]*hi[c], q[c]*lo[c]))
		}
		order[p] = p
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(bound[b], bound[a]) })
	ownPages := map[int]bool{}
	for _, t := range own {
		ownPages[t/ps] = true
	}
	top := order[:k]
	for _, p := range top {
		if !ownPages[p] || len(ownPages) != k {
			fmt.Fprintf(os.Stderr, "dump: -flip: the method's pages %v are not the top %d by the recomputed bounds %v\n", ownPages, k, top)
			break
		}
	}
	chosen := append(slices.Clone(order[:k-1]), order[k])
	slices.Sort(chosen)
	fmt.Fprintf(os.Stderr, "dump: flipped step %d layer %d head %d: page %d (bound %.9g) for page %d (bound %.9g)\n",
		r.steps-1, layer, head, order[k], bound[order[k]], order[k-1], bound[order[k-1]])
	for _, p := range chosen {
		for t := p * ps; t < min((p+1)*ps, n); t++ {
			dst = append(dst, t)
		}
	}
	return dst
}

// questMargin is ref_stream.py's quest_margin for this selection. The page
// bound is the released one, Σ_c |q_c|·max over the page of sign(q_c)·k_c,
// i.e. Σ_c max(q_c·max_c, q_c·min_c) with max/min over the page's keys
// (kept by Append), summed here in float64 from float32 products; the
// margin is the relative gap between the k-th and (k+1)-th largest bound,
// k = min(max(3, B/16), pages).
func (r *recorder) questMargin(layer, head int, q []float32, n int) float64 {
	hd, ps := r.cfg.HeadDim, r.pageSize()
	g := r.pages[layer*r.cfg.KVHeads+head/(r.cfg.QueryHeads/r.cfg.KVHeads)]
	pages := (n + ps - 1) / ps
	k := min(max(3, r.cfg.Budget/ps), pages)
	if k >= pages {
		return math.Inf(1)
	}
	r.bounds = r.bounds[:0]
	for p := range pages {
		hi, lo := g.hi[p*hd:(p+1)*hd], g.lo[p*hd:(p+1)*hd]
		s := 0.0
		for c := range hd {
			s += float64(max(q[c]*hi[c], q[c]*lo[c]))
		}
		r.bounds = append(r.bounds, s)
	}
	slices.SortFunc(r.bounds, func(a, b float64) int { return cmp.Compare(b, a) })
	a, b := r.bounds[k-1], r.bounds[k]
	return math.Abs(a-b) / max(math.Abs(a), math.Abs(b), 1e-30)
}

func (r *recorder) pageSize() int {
	if r.cfg.PageSize == 0 {
		return 16
	}
	return r.cfg.PageSize
}

// pageBounds is one (layer, KV head)'s per-page, per-channel key max and min.
type pageBounds struct{ hi, lo []float32 }

// mt19937 is the 32-bit Mersenne Twister, seeded as std::mt19937 (and
// torch's CPU generator). Signs come from the low bit of each output, as
// torch.randint(0, 2, ...) on the CPU takes random() % 2.
type mt19937 struct {
	mt  [624]uint32
	idx int
}

func newMT19937(seed uint32) *mt19937 {
	g := &mt19937{idx: 624}
	g.mt[0] = seed
	for i := 1; i < 624; i++ {
		g.mt[i] = 1812433253*(g.mt[i-1]^(g.mt[i-1]>>30)) + uint32(i)
	}
	return g
}

func (g *mt19937) next() uint32 {
	if g.idx >= 624 {
		for i := range 624 {
			y := (g.mt[i] & 0x80000000) | (g.mt[(i+1)%624] & 0x7fffffff)
			v := g.mt[(i+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			g.mt[i] = v
		}
		g.idx = 0
	}
	y := g.mt[g.idx]
	g.idx++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// perturbEmbeddings replaces m.Embed by a float32 copy with every weight
// scaled by 1 ± eps (sign from the seed's stream, row-major order), as
// ref_stream.py: w * (1 + eps*sign) in float32. m.LMHead keeps the
// original matrix (tied in SmolLM2: ref_stream.py's new Parameter unties it).
func perturbEmbeddings(m *model.Model, eps float64, seed uint32) {
	e := m.Embed
	w := make([]float32, e.Rows*e.Cols)
	for r := range e.Rows {
		e.RowTo(w[r*e.Cols:(r+1)*e.Cols], r)
	}
	up, down := float32(1+eps), float32(1-eps)
	g := newMT19937(seed)
	for i, v := range w {
		if g.next()&1 == 1 {
			w[i] = v * up
		} else {
			w[i] = v * down
		}
	}
	m.Embed = kernels.Matrix{Rows: e.Rows, Cols: e.Cols, DType: kernels.F32, F32: w}
}

func main() {
	dir := flag.String("m", "models/smollm2-135m-instruct", "model `DIR` (HF layout)")
	idsPath := flag.String("ids", "", "token ids `FILE`, whitespace-separated")
	prefill := flag.Int("prefill", 2048, "tokens prefilled densely")
	maxTokens := flag.Int("max-tokens", 1024, "predictions scored")
	method := flag.String("method", "starc", "attention method")
	budget := flag.Int("budget", 128, "tokens per query head per step")
	denseLayers := flag.Int("dense-layers", 2, "layers attending densely")
	threads := flag.Int("threads", 1, "worker threads")
	gen := flag.Int("gen", 0, "instead of perplexity: prefill all of -ids and generate `N` tokens greedily")
	out := flag.String("out", "", "output `DIR`")
	flag.Float64Var(&ctl.embEps, "perturb-embeddings", 0, "control: scale each input-embedding weight by 1 ± `EPS` (2**-23 = 1.1920928955078125e-07: one float32 ulp)")
	flag.BoolVar(&ctl.query, "perturb-query", false, "control: move each element of the query a Select scores by one float32 ulp, random sign")
	flag.IntVar(&ctl.queryULPs, "perturb-query-ulps", 1, "with -perturb-query: ulps each element moves")
	seed := flag.Uint("seed", 0, "seed of the control's signs")
	flip := flag.String("flip", "", "quest experiment: at `STEP:LAYER:HEAD` attend to the pages ranked 1..k-1 and k+1 instead of 1..k (sel.bin keeps the method's own selection)")
	flag.Parse()
	ctl.seed = uint32(*seed)
	if *flip != "" {
		var f [3]int
		if _, err := fmt.Sscanf(*flip, "%d:%d:%d", &f[0], &f[1], &f[2]); err != nil {
			fmt.Fprintln(os.Stderr, "dump: -flip:", err)
			os.Exit(2)
		}
		ctl.flip = &f
	}
	if *gen > 0 {
		*maxTokens = *gen // the context is the prompt plus what is generated
	}
	if err := run(*dir, *idsPath, *out, *method, *prefill, *maxTokens, *budget, *denseLayers, *threads, *gen); err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
}

// ctl holds the control-run flags.
var ctl struct {
	embEps    float64
	query     bool
	queryULPs int
	seed      uint32
	flip      *[3]int
}

func run(dir, idsPath, out, method string, prefill, maxTokens, budget, denseLayers, threads, gen int) error {
	raw, err := os.ReadFile(idsPath)
	if err != nil {
		return err
	}
	var ids []int
	for _, f := range strings.Fields(string(raw)) {
		id, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%s: %w", idsPath, err)
		}
		ids = append(ids, id)
	}
	if gen > 0 {
		prefill = len(ids)
	}
	ctxLen := prefill + maxTokens
	if gen == 0 && len(ids) < ctxLen {
		return fmt.Errorf("%s has %d ids, need %d", idsPath, len(ids), ctxLen)
	}
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	m, err := model.Load(ckpt)
	if err != nil {
		return err
	}
	if ctl.embEps != 0 {
		perturbEmbeddings(m, ctl.embEps, ctl.seed)
	}
	c := m.AttentionConfig(ctxLen)
	c.Budget, c.DenseLayers = budget, denseLayers
	if method == "full" {
		c.Budget = 0
	}
	inner, err := attention.New(method, c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(out, "sel.bin"))
	if err != nil {
		return err
	}
	defer f.Close()
	rec := &recorder{Method: inner, dense: denseLayers, ctx: ctxLen, rec: make([]byte, (ctxLen+7)/8), cfg: c}
	if method != "full" { // full selects everything: nothing to compare
		rec.w = bufio.NewWriterSize(f, 1<<20)
	}
	if ctl.query {
		rec.qrng, rec.qulps = newMT19937(ctl.seed), ctl.queryULPs
	}
	if ctl.flip != nil && method != "quest" {
		return fmt.Errorf("-flip is for quest only")
	}
	rec.flip = ctl.flip
	if method == "quest" && gen == 0 {
		mf, err := os.Create(filepath.Join(out, "margin.bin"))
		if err != nil {
			return err
		}
		defer mf.Close()
		rec.margins = bufio.NewWriterSize(mf, 1<<16)
		rec.pages = make([]pageBounds, c.Layers*c.KVHeads)
	}
	st, err := model.NewState(m, model.StateOptions{MaxTokens: ctxLen, Threads: threads, Method: rec, DenseLayers: denseLayers})
	if err != nil {
		return err
	}
	defer st.Close()
	if gen > 0 {
		return generate(m, st, ids, gen, out, map[string]any{"method": method, "budget": budget, "dense_layers": denseLayers,
			"prefill": prefill, "ctx": ctxLen, "layers": c.Layers, "query_heads": c.QueryHeads}, rec)
	}
	var nll []float64 // per prediction, recovered from the running sums
	prevSum := 0.0
	res, err := eval.StreamPerplexity(context.Background(), m, st, ids[:ctxLen], prefill, maxTokens, func(scored int, ppl float64) {
		sum := float64(scored) * math.Log(ppl)
		nll = append(nll, sum-prevSum)
		prevSum = sum
		if scored%128 == 0 {
			fmt.Fprintf(os.Stderr, "dump %s %d: %d/%d ppl %.4f\n", method, budget, scored, maxTokens, ppl)
		}
	})
	if err != nil {
		return err
	}
	if rec.w != nil {
		if err := rec.w.Flush(); err != nil {
			return err
		}
	}
	if rec.margins != nil {
		if err := rec.margins.Flush(); err != nil {
			return err
		}
	}
	var sb strings.Builder
	for _, v := range nll {
		fmt.Fprintf(&sb, "%.9g\n", v)
	}
	if err := os.WriteFile(filepath.Join(out, "nll.txt"), []byte(sb.String()), 0o644); err != nil {
		return err
	}
	meta := map[string]any{
		"method": method, "budget": budget, "dense_layers": denseLayers, "prefill": prefill,
		"max_tokens": maxTokens, "ctx": ctxLen, "layers": c.Layers, "query_heads": c.QueryHeads,
		"decode_steps": rec.steps, "ppl": res.PPL, "mean_nll": res.MeanNLL,
		"threads": threads, "perturb_embeddings": ctl.embEps, "perturb_query": ctl.query, "perturb_query_ulps": ctl.queryULPs, "seed": ctl.seed, "flip": ctl.flip,
	}
	b, _ := json.MarshalIndent(meta, "", "  ")
	fmt.Println(string(b))
	return os.WriteFile(filepath.Join(out, "meta.json"), b, 0o644)
}

// generate prefills ids and decodes gen tokens greedily (argmax, lowest id
// on ties), recording the selections of every decode step.
func generate(m *model.Model, st *model.State, ids []int, gen int, out string, meta map[string]any, rec *recorder) error {
	logits, err := m.Prefill(st, ids)
	if err != nil {
		return err
	}
	var toks []int
	for i := range gen {
		best := 0
		for j, v := range logits {
			if v > logits[best] {
				best = j
			}
		}
		toks = append(toks, best)
		if i == gen-1 {
			break
		}
		if logits, err = m.Forward(st, best); err != nil {
			return err
		}
	}
	if rec.w != nil {
		if err := rec.w.Flush(); err != nil {
			return err
		}
	}
	meta["generated"] = toks
	meta["decode_steps"] = rec.steps
	b, _ := json.MarshalIndent(meta, "", "  ")
	fmt.Println(string(b))
	return os.WriteFile(filepath.Join(out, "meta.json"), b, 0o644)
}

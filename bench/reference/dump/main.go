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
//
// The store is the dense float32 one (as the reference's fp32 run), the
// selections are the positions the method returns, and the protocol is
// eval.StreamPerplexity's (the one `starc ppl --protocol stream` runs).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"starc/attention"
	"starc/eval"
	"starc/model"
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
}

func (r *recorder) Select(layer, head int, q []float32, n int, dst []int) []int {
	dst = r.Method.Select(layer, head, q, n, dst)
	if r.w == nil {
		return dst
	}
	clear(r.rec)
	for _, p := range dst {
		r.rec[p/8] |= 1 << (p % 8)
	}
	if _, err := r.w.Write(r.rec); err != nil {
		panic(err)
	}
	if n != r.lastN {
		r.steps++
		r.lastN = n
	}
	return dst
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
	flag.Parse()
	if *gen > 0 {
		*maxTokens = *gen // the context is the prompt plus what is generated
	}
	if err := run(*dir, *idsPath, *out, *method, *prefill, *maxTokens, *budget, *denseLayers, *threads, *gen); err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
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
	rec := &recorder{Method: inner, dense: denseLayers, ctx: ctxLen, rec: make([]byte, (ctxLen+7)/8)}
	if method != "full" { // full selects everything: nothing to compare
		rec.w = bufio.NewWriterSize(f, 1<<20)
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
		"threads": threads,
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

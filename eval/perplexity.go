package eval

import (
	"context"
	"fmt"
	"math"

	"starc/model"
)

// PPLResult is the outcome of a perplexity run.
type PPLResult struct {
	Protocol     string  `json:"protocol"` // "chunk" or "stream"
	PPL          float64 `json:"ppl"`
	PPLStdErr    float64 `json:"ppl_stderr"` // ± as llama.cpp prints it
	MeanNLL      float64 `json:"mean_nll"`
	TokensScored int     `json:"tokens_scored"`
	Ctx          int     `json:"ctx"`
	Chunks       int     `json:"chunks,omitempty"`
	InputTokens  int     `json:"input_tokens"`
}

// nllSum accumulates negative log-likelihoods.
type nllSum struct {
	n          int
	sum, sumSq float64
	bad        int     // index of the first non-finite NLL + 1; 0 if none
	badNLL     float64 // that NLL
}

func (s *nllSum) add(nll float64) {
	s.n++
	s.sum += nll
	s.sumSq += nll * nll
	if s.bad == 0 && (math.IsNaN(nll) || math.IsInf(nll, 0)) {
		s.bad, s.badNLL = s.n, nll
	}
}

// finish is result for a run that ended normally: a perplexity that is not
// finite (a non-finite NLL, or a mean NLL past exp's range of about 709) is
// an error, so no caller prints or encodes NaN or Inf as a result.
func (s *nllSum) finish(r PPLResult) (PPLResult, error) {
	r = s.result(r)
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case s.bad > 0:
		return r, fmt.Errorf("eval: perplexity: scored token %d of %d has NLL %g (the logits give it no finite probability)", s.bad, s.n, s.badNLL)
	case s.n > 0 && !(finite(r.PPL) && finite(r.PPLStdErr) && finite(r.MeanNLL)):
		return r, fmt.Errorf("eval: perplexity: mean NLL %g over %d tokens gives perplexity %g ± %g, beyond float64", r.MeanNLL, s.n, r.PPL, r.PPLStdErr)
	}
	return r, nil
}

func (s *nllSum) result(r PPLResult) PPLResult {
	r.TokensScored = s.n
	if s.n == 0 {
		return r
	}
	mean := s.sum / float64(s.n)
	r.MeanNLL, r.PPL = mean, math.Exp(mean)
	if s.n > 1 {
		variance := (s.sumSq/float64(s.n) - mean*mean) / float64(s.n-1)
		r.PPLStdErr = r.PPL * math.Sqrt(max(variance, 0))
	}
	return r
}

// NLL is −log softmax(logits)[target], computed in float64.
func NLL(logits []float32, target int) float64 {
	maxLogit := float64(logits[0])
	for _, l := range logits {
		maxLogit = max(maxLogit, float64(l))
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - maxLogit)
	}
	return math.Log(sum) + maxLogit - float64(logits[target])
}

// Progress is told how many units of work are done out of total.
type Progress func(done, total int)

// ChunkPerplexity is llama.cpp's perplexity protocol on ids (the whole text
// tokenised, with BOS when the tokenizer adds one): cut into floor(len/ctx)
// non-overlapping chunks, set the first token of each chunk to bos (unless
// bos < 0: llama.cpp replaces it only for tokenizers that add BOS), run
// each chunk as a fresh sequence and score positions ctx/2 .. ctx-2 (each
// predicting the next token). st must have a capacity of at least ctx.
func ChunkPerplexity(ctx context.Context, m *model.Model, st *model.State, ids []int, bos, nCtx int, progress Progress) (PPLResult, error) {
	res := PPLResult{Protocol: "chunk", Ctx: nCtx, InputTokens: len(ids)}
	if nCtx < 4 {
		return res, fmt.Errorf("eval: context %d is too short (at least 4 tokens)", nCtx)
	}
	chunks := len(ids) / nCtx
	if chunks == 0 {
		return res, fmt.Errorf("eval: the text has %d tokens, fewer than one context of %d", len(ids), nCtx)
	}
	res.Chunks = chunks
	chunk := make([]int, nCtx)
	var acc nllSum
	first := nCtx / 2
	for c := range chunks {
		if err := ctx.Err(); err != nil {
			return acc.result(res), err
		}
		copy(chunk, ids[c*nCtx:(c+1)*nCtx])
		if bos >= 0 {
			chunk[0] = bos
		}
		st.Reset()
		err := m.PrefillEachContext(ctx, st, chunk, first, func(i int, logits []float32) {
			if i <= nCtx-2 {
				acc.add(NLL(logits, chunk[i+1]))
			}
		})
		if err != nil {
			return acc.result(res), err
		}
		if progress != nil {
			progress(c+1, chunks)
		}
	}
	return acc.finish(res)
}

// StreamPerplexity is STARC's PG-19 protocol: the first prefill tokens
// (at least one; STARC's PG-19 run uses exactly one) go through a dense
// prefill, then every later token goes through the decode path one at a
// time, so a sparse method chooses the context of every prediction, and the
// NLL of each next token is accumulated, for at most maxTokens predictions
// (0 = until the text or the state's capacity ends). running, if not nil,
// is told the running perplexity after each prediction.
func StreamPerplexity(ctx context.Context, m *model.Model, st *model.State, ids []int, prefill, maxTokens int, running func(scored int, ppl float64)) (PPLResult, error) {
	res := PPLResult{Protocol: "stream", InputTokens: len(ids)}
	prefill = max(prefill, 1)
	n := min(len(ids), st.Capacity())
	if maxTokens > 0 {
		n = min(n, prefill+maxTokens)
	}
	if n <= prefill {
		return res, fmt.Errorf("eval: stream perplexity needs more than the %d prefill tokens, have %d", prefill, n)
	}
	res.Ctx = n
	st.Reset()
	logits, err := m.PrefillContext(ctx, st, ids[:prefill])
	if err != nil {
		return res, err
	}
	var acc nllSum
	for i := prefill; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return acc.result(res), err
		}
		acc.add(NLL(logits, ids[i]))
		if running != nil {
			running(acc.n, math.Exp(acc.sum/float64(acc.n)))
		}
		if i == n-1 {
			break
		}
		if logits, err = m.Forward(st, ids[i]); err != nil {
			return acc.result(res), err
		}
	}
	return acc.finish(res)
}

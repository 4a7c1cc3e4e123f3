package grid

import (
	"fmt"
	"math"
	"slices"

	"starc/eval/ruler/score"
)

// Score is a cell's result from its samples, which must be exactly
// samples 0..n−1 of the workload (in any order). Perplexity pools the
// windows' NLL (exp of the mean NLL over every scored token); recalls are
// weighted by scored tokens, per-step costs by decode steps. A task's
// score is the scorer's over every sample; costs are means over samples.
func Score(id string, cfg CellConfig, samples []Sample) (Result, error) {
	r := Result{ID: id, Samples: len(samples)}
	n := cfg.Workload.SampleCount()
	if len(samples) != n {
		return r, fmt.Errorf("%d of %d samples", len(samples), n)
	}
	sorted := slices.Clone(samples)
	slices.SortFunc(sorted, func(a, b Sample) int { return a.Index - b.Index })
	for i, s := range sorted {
		if s.Index != i {
			return r, fmt.Errorf("sample %d is missing", i)
		}
		r.Seconds += s.Seconds
	}
	if cfg.Workload.Kind == "ppl" {
		var nll, steps float64
		for _, s := range sorted {
			if s.Tokens < 1 {
				return r, fmt.Errorf("window %d scored %d tokens", s.Index, s.Tokens)
			}
			t, d := float64(s.Tokens), float64(s.DecodeSteps)
			nll += s.NLLSum
			r.TokensScored += s.Tokens
			r.Top10Recall += s.Top10Recall * t
			r.MassRecall += s.MassRecall * t
			r.DecodeSteps += s.DecodeSteps
			steps += d
			r.TokensPerHead += s.TokensPerHead * d
			r.RowsPerHead += s.RowsPerHead * d
			r.PIMLatencyNS += s.PIMLatencyNS * d
			r.PIMEnergyNJ += s.PIMEnergyNJ * d
			r.PIMRowActivations += s.PIMRowActivations * d
		}
		tokens := float64(r.TokensScored)
		r.Metric, r.Score = "perplexity", math.Exp(nll/tokens)
		r.Top10Recall /= tokens
		r.MassRecall /= tokens
		if steps > 0 {
			r.TokensPerHead /= steps
			r.RowsPerHead /= steps
			r.PIMLatencyNS /= steps
			r.PIMEnergyNJ /= steps
			r.PIMRowActivations /= steps
		}
		if math.IsNaN(r.Score) || math.IsInf(r.Score, 0) {
			return r, fmt.Errorf("perplexity %g is not finite", r.Score)
		}
		return r, nil
	}
	preds, refs := make([]string, n), make([][]string, n)
	for i, s := range sorted {
		if s.Pred == nil {
			return r, fmt.Errorf("sample %d has no prediction", s.Index)
		}
		preds[i], refs[i] = *s.Pred, s.Outputs
		r.DecodeSteps += s.DecodeSteps
		r.TokensPerHead += s.TokensPerHead
		r.RowsPerHead += s.RowsPerHead
		r.PIMLatencyNS += s.PIMLatencyNS
		r.PIMEnergyNJ += s.PIMEnergyNJ
		r.PIMRowActivations += s.PIMRowActivations
	}
	ts, err := score.Task(score.Scorer(cfg.Scorer), cfg.Workload.Name, preds, refs)
	if err != nil {
		return r, err
	}
	r.Metric, r.Score, r.Nulls = cfg.Scorer, ts.Score, ts.Nulls
	k := float64(n)
	r.TokensPerHead /= k
	r.RowsPerHead /= k
	r.PIMLatencyNS /= k
	r.PIMEnergyNJ /= k
	r.PIMRowActivations /= k
	return r, nil
}

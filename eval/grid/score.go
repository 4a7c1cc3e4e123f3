package grid

import (
	"fmt"
	"math"
	"slices"

	"starc/eval/ruler/score"
)

// Score is a cell's result from its samples, which must be exactly
// samples 0..n−1 of the workload (in any order). Perplexity pools the
// windows' NLL (exp of the mean NLL over every scored token, not a mean
// of perplexities); recalls and per-step costs are means over the
// windows, which are all the same size. A task's score is the scorer's
// over every sample; costs are means over samples.
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
		var nll float64
		for _, s := range sorted {
			if s.Tokens != cfg.Workload.Tokens {
				return r, fmt.Errorf("window %d scored %d tokens, the workload %d", s.Index, s.Tokens, cfg.Workload.Tokens)
			}
			nll += s.NLLSum
			r.TokensScored += s.Tokens
			r.DecodeSteps += s.DecodeSteps
			r.Top10Recall += s.Top10Recall
			r.MassRecall += s.MassRecall
			r.TokensPerHead += s.TokensPerHead
			r.RowsPerHead += s.RowsPerHead
			r.PIMLatencyNS += s.PIMLatencyNS
			r.PIMEnergyNJ += s.PIMEnergyNJ
			r.PIMRowActivations += s.PIMRowActivations
		}
		// Windows are the same size, so the means over windows are the
		// means over tokens and steps (and one window's are its own, exactly).
		k := float64(n)
		r.Metric, r.Score = "perplexity", math.Exp(nll/float64(r.TokensScored))
		r.Top10Recall /= k
		r.MassRecall /= k
		r.TokensPerHead /= k
		r.RowsPerHead /= k
		r.PIMLatencyNS /= k
		r.PIMEnergyNJ /= k
		r.PIMRowActivations /= k
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

package attention

import "fmt"

// TopKRecall is Quest's recall of important tokens (starc.md §4.1): the
// share of the k highest-scoring positions of full attention that are in
// selected, with k clamped to min(k, n). Ties in fullScores go to the lower
// position; NaN ranks lowest. selected must hold distinct positions in
// 0..n-1 (n = len(fullScores)). With nothing to recall (k ≤ 0 or n = 0)
// the recall is 1.
//
// Scores or probabilities give the same result (softmax is monotonic).
// It does not allocate for k ≤ 16.
func TopKRecall(fullScores []float32, selected []int, k int) float64 {
	n := len(fullScores)
	k = min(k, n)
	if k <= 0 {
		return 1
	}
	// The k-th element (value v, position at) of the order (score desc,
	// position asc): position p is in the top k iff (s_p, p) precedes it.
	v, at := kthByScore(fullScores, k)
	hits := 0
	for _, p := range selected {
		if p < 0 || p >= n {
			panic(fmt.Sprintf("attention: TopKRecall: selected position %d outside 0..%d", p, n-1))
		}
		if s := rankable(fullScores[p]); s > v || (s == v && p <= at) {
			hits++
		}
	}
	return float64(hits) / float64(k)
}

// kthByScore returns the score and position of the k-th element of scores
// in the order (score descending, position ascending), keeping the best k
// seen in a small sorted window: O(n·k) comparisons in the worst case,
// O(n) for the usual small k.
func kthByScore(scores []float32, k int) (float32, int) {
	var stackV [16]float32
	var stackP [16]int
	bestV, bestP := stackV[:0], stackP[:0]
	if k > len(stackV) {
		bestV, bestP = make([]float32, 0, k), make([]int, 0, k)
	}
	for p, raw := range scores {
		s := rankable(raw)
		if len(bestV) == k && !(s > bestV[k-1]) { // later positions lose ties
			continue
		}
		if len(bestV) < k {
			bestV, bestP = append(bestV, s), append(bestP, p)
		}
		i := len(bestV) - 1
		for ; i > 0 && s > bestV[i-1]; i-- {
			bestV[i], bestP[i] = bestV[i-1], bestP[i-1]
		}
		bestV[i], bestP[i] = s, p
	}
	return bestV[k-1], bestP[k-1]
}

// MassRecall is the share of full attention's softmax mass that falls on
// the selected positions: Σ_{p∈selected} fullProbs[p] / Σ_p fullProbs[p].
// selected must hold distinct positions in 0..len(fullProbs)-1. With no
// mass at all (empty or all-zero fullProbs) the recall is 1; NaN
// probabilities give NaN.
func MassRecall(fullProbs []float32, selected []int) float64 {
	var total, kept float64
	for _, p := range fullProbs {
		total += float64(p)
	}
	for _, p := range selected {
		if p < 0 || p >= len(fullProbs) {
			panic(fmt.Sprintf("attention: MassRecall: selected position %d outside 0..%d", p, len(fullProbs)-1))
		}
		kept += float64(fullProbs[p])
	}
	if total <= 0 { // NaN propagates
		return 1
	}
	return kept / total
}

package model

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"starc/model/kernels"
)

// Sampler turns logits into the next token id. Temperature 0 is greedy
// (argmax, lowest id on ties); otherwise it samples from
// softmax(logits/Temperature) restricted to the TopK most likely tokens
// (0 = all) and then to the smallest set whose mass reaches TopP (1 = all).
// The draw is deterministic for a given Seed.
type Sampler struct {
	Temperature float64
	TopK        int
	TopP        float64
	Seed        uint64

	rng   *rand.Rand
	probs []float64
	order []int
}

// NewSampler returns a sampler with the given settings.
func NewSampler(temperature float64, topK int, topP float64, seed uint64) *Sampler {
	if topP <= 0 || topP > 1 {
		topP = 1
	}
	return &Sampler{Temperature: temperature, TopK: topK, TopP: topP, Seed: seed,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Sample picks the next token from logits. Plain temperature sampling
// draws straight from the probabilities; top-k and top-p sort the
// candidates first (partially, when top-k bounds them).
func (s *Sampler) Sample(logits []float32) int {
	if s.Temperature <= 0 {
		return kernels.Argmax(logits)
	}
	n := len(logits)
	if cap(s.probs) < n {
		s.probs, s.order = make([]float64, n), make([]int, n)
	}
	probs, order := s.probs[:n], s.order[:n]
	maxLogit := float64(logits[kernels.Argmax(logits)])
	for i, l := range logits {
		probs[i] = math.Exp((float64(l) - maxLogit) / s.Temperature)
		order[i] = i
	}
	keep := n
	if s.TopK > 0 || s.TopP < 1 {
		byProb := func(a, b int) int {
			if probs[a] != probs[b] {
				return cmp.Compare(probs[b], probs[a])
			}
			return cmp.Compare(a, b)
		}
		if s.TopK > 0 && s.TopK < n {
			keep = s.TopK
			// Move the top k to the front (quickselect-free: a partial
			// insertion into a sorted prefix of k), then sort only those.
			topK(order, keep, byProb)
		}
		slices.SortFunc(order[:keep], byProb)
	}
	total := 0.0
	for _, i := range order[:keep] {
		total += probs[i]
	}
	if s.TopP < 1 {
		mass := 0.0
		for j, i := range order[:keep] {
			mass += probs[i] / total
			if mass >= s.TopP {
				keep = j + 1
				break
			}
		}
		total = 0
		for _, i := range order[:keep] {
			total += probs[i]
		}
	}
	r := s.rng.Float64() * total
	for _, i := range order[:keep] {
		r -= probs[i]
		if r < 0 {
			return i
		}
	}
	return order[keep-1]
}

// topK rearranges order so that its first k entries are the k smallest
// under cmp (in any order), in O(n·log k) with a max-heap of the front.
func topK(order []int, k int, cmp func(a, b int) int) {
	h := order[:k]
	less := func(i, j int) bool { return cmp(h[i], h[j]) > 0 } // max-heap: worst on top
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			if r := l + 1; r < k && less(r, l) {
				l = r
			}
			if !less(l, i) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for j := k; j < len(order); j++ {
		if cmp(order[j], h[0]) < 0 {
			h[0], order[j] = order[j], h[0]
			down(0)
		}
	}
}

package model

import (
	"math"
	"math/rand/v2"
	"sort"
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

// Sample picks the next token from logits.
func (s *Sampler) Sample(logits []float32) int {
	if s.Temperature <= 0 {
		return argmax(logits)
	}
	n := len(logits)
	if cap(s.probs) < n {
		s.probs, s.order = make([]float64, n), make([]int, n)
	}
	probs, order := s.probs[:n], s.order[:n]
	maxLogit := float64(logits[argmax(logits)])
	for i, l := range logits {
		probs[i] = math.Exp((float64(l) - maxLogit) / s.Temperature)
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		pa, pb := probs[order[a]], probs[order[b]]
		return pa > pb || (pa == pb && order[a] < order[b])
	})
	keep := n
	if s.TopK > 0 && s.TopK < keep {
		keep = s.TopK
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

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

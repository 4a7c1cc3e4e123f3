package model

import (
	"math"
	"slices"
	"testing"
)

func TestSamplerGreedyIsArgmaxLowestIDOnTies(t *testing.T) {
	s := NewSampler(0, 0, 1, 1)
	for _, tc := range []struct {
		logits []float32
		want   int
	}{{[]float32{1, 3, 2}, 1}, {[]float32{5, 5, 1}, 0}, {[]float32{-1, -2, -0.5}, 2}} {
		if got := s.Sample(tc.logits); got != tc.want {
			t.Errorf("Sample(%v) = %d, want %d", tc.logits, got, tc.want)
		}
	}
}

func TestSamplerIsDeterministicForASeed(t *testing.T) {
	logits := []float32{0.1, 0.5, 0.2, 1.5, -1, 0.9}
	draw := func(seed uint64) []int {
		s := NewSampler(1, 0, 1, seed)
		var ids []int
		for range 50 {
			ids = append(ids, s.Sample(logits))
		}
		return ids
	}
	a, b, c := draw(42), draw(42), draw(43)
	same := func(x, y []int) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed gave different draws")
	}
	if same(a, c) {
		t.Error("different seeds gave the same 50 draws")
	}
}

// With temperature T the draw frequencies follow softmax(logits/T); top-k
// and top-p cut the tail and renormalise.
func TestSamplerFrequencies(t *testing.T) {
	logits := []float32{2, 1, 0, -1}
	softmax := func(l []float32, temp float64, keep int) []float64 {
		p := make([]float64, len(l))
		sum := 0.0
		for i := range keep {
			p[i] = math.Exp(float64(l[i]) / temp)
			sum += p[i]
		}
		for i := range p {
			p[i] /= sum
		}
		return p
	}
	cases := []struct {
		name       string
		temp, topP float64
		topK       int
		want       []float64
	}{
		{"temperature 1", 1, 1, 0, softmax(logits, 1, 4)},
		{"temperature 0.5", 0.5, 1, 0, softmax(logits, 0.5, 4)},
		{"top-k 2", 1, 1, 2, softmax(logits, 1, 2)},
		// softmax(2,1,0,-1) = .644, .237, .087, .032: 0.644 < 0.8 ≤ 0.881, so two tokens stay.
		{"top-p 0.8", 1, 0.8, 0, softmax(logits, 1, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSampler(tc.temp, tc.topK, tc.topP, 7)
			const n = 40000
			counts := make([]float64, len(logits))
			for range n {
				counts[s.Sample(logits)]++
			}
			for i := range counts {
				got := counts[i] / n
				// 5 standard deviations of a binomial proportion, plus zero for cut tokens.
				tol := 5 * math.Sqrt(tc.want[i]*(1-tc.want[i])/n)
				if math.Abs(got-tc.want[i]) > tol+1e-12 {
					t.Errorf("token %d drawn %.4f of the time, want %.4f ± %.4f", i, got, tc.want[i], tol)
				}
			}
		})
	}
}

func TestTopKMatchesFullSort(t *testing.T) {
	n, k := 1000, 40
	score := make([]float64, n)
	for i := range score {
		score[i] = math.Sin(float64(i) * 12.9898) // deterministic, with ties unlikely
	}
	score[10], score[20] = score[30], score[30] // a tie: lower id first
	byScore := func(a, b int) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		}
		return a - b
	}
	order := make([]int, n)
	full := make([]int, n)
	for i := range order {
		order[i], full[i] = i, i
	}
	topK(order, k, byScore)
	slices.SortFunc(order[:k], byScore)
	slices.SortFunc(full, byScore)
	if !slices.Equal(order[:k], full[:k]) {
		t.Fatalf("top-%d = %v\nwant %v", k, order[:k], full[:k])
	}
}

package attention

import (
	"math"
	"testing"
)

func TestTopKRecall(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name     string
		scores   []float32
		selected []int
		k        int
		want     float64
	}{
		{"all top found", []float32{5, 1, 4, 2, 3}, []int{0, 2, 4}, 3, 1},
		{"two of three", []float32{5, 1, 4, 2, 3}, []int{0, 2, 1}, 3, 2.0 / 3},
		{"none", []float32{5, 1, 4, 2, 3}, []int{1, 3}, 2, 0},
		{"k clamped to n", []float32{1, 2}, []int{1}, 10, 0.5},
		{"order of selected is irrelevant", []float32{0, 9, 8, 7}, []int{3, 2, 1}, 3, 1},
		{"ties go to the lower position", []float32{1, 3, 3, 3}, []int{1, 2}, 2, 1},
		{"a later tie is not in the top", []float32{1, 3, 3, 3}, []int{3}, 2, 0},
		{"NaN ranks last", []float32{nan, 1, 2}, []int{1, 2}, 2, 1},
		{"negative scores", []float32{-3, -1, -2}, []int{1}, 1, 1},
		{"k beyond the small window", func() []float32 {
			s := make([]float32, 40)
			for i := range s {
				s[i] = float32(i)
			}
			return s
		}(), []int{39, 38, 0}, 20, 2.0 / 20},
		{"nothing to recall", nil, nil, 10, 1},
		{"k zero", []float32{1}, nil, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TopKRecall(tc.scores, tc.selected, tc.k); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("TopKRecall = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMassRecall(t *testing.T) {
	tests := []struct {
		name     string
		probs    []float32
		selected []int
		want     float64
	}{
		{"everything", []float32{0.5, 0.25, 0.25}, []int{0, 1, 2}, 1},
		{"part", []float32{0.5, 0.25, 0.25}, []int{2, 0}, 0.75},
		{"nothing selected", []float32{0.5, 0.5}, nil, 0},
		{"unnormalised mass is normalised", []float32{2, 1, 1}, []int{0}, 0.5},
		{"no mass", []float32{0, 0}, []int{0}, 1},
		{"empty", nil, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MassRecall(tc.probs, tc.selected); math.Abs(got-tc.want) > 1e-7 {
				t.Errorf("MassRecall = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRecallPanicsOnBadPosition(t *testing.T) {
	for name, f := range map[string]func(){
		"TopKRecall": func() { TopKRecall([]float32{1, 2}, []int{2}, 1) },
		"MassRecall": func() { MassRecall([]float32{1, 2}, []int{-1}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f()
		})
	}
}

func TestRecallDoesNotAllocate(t *testing.T) {
	scores := make([]float32, 4096)
	for i := range scores {
		scores[i] = float32((i * 7919) % 4096)
	}
	sel := appendRange(nil, 0, 1024)
	if a := testing.AllocsPerRun(10, func() { TopKRecall(scores, sel, 10); MassRecall(scores, sel) }); a != 0 {
		t.Errorf("%v allocations", a)
	}
}

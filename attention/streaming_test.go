package attention

import (
	"slices"
	"testing"
)

func TestStreamingKeepsSinksAndRecent(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		budget int
		sinks  int
		want   []int
	}{
		{"sinks and window", 100, 10, 4, []int{0, 1, 2, 3, 94, 95, 96, 97, 98, 99}},
		{"default 4 sinks", 20, 6, 0, []int{0, 1, 2, 3, 18, 19}},
		{"budget below sinks", 100, 3, 4, []int{0, 1, 2}},
		{"budget equals sinks", 100, 4, 4, []int{0, 1, 2, 3}},
		{"one sink", 9, 4, 1, []int{0, 6, 7, 8}},
		{"window meets the sinks", 10, 9, 4, []int{0, 1, 2, 3, 5, 6, 7, 8, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNewMethod(t, "streaming", Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 2, MaxTokens: 128,
				Budget: tc.budget, Sinks: tc.sinks})
			if got := sortedCopy(m.Select(0, 0, []float32{1, 1}, tc.n, nil)); !slices.Equal(got, tc.want) {
				t.Errorf("selected %v, want %v", got, tc.want)
			}
		})
	}
}

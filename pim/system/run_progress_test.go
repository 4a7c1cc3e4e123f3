package system

import (
	"context"
	"testing"
)

// Progress hears of the run as it goes, in order, and of its end.
func TestRunReportsProgress(t *testing.T) {
	m, err := ModelByName("llama-7b")
	if err != nil {
		t.Fatal(err)
	}
	const lout = 3*ctxCheckEvery + 7
	var seen []int
	_, err = Run(context.Background(), Config{Model: m, Lin: 16, Lout: lout, Batch: 1, Progress: func(done, total int) {
		if total != lout-1 {
			t.Fatalf("total %d, want %d", total, lout-1)
		}
		seen = append(seen, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{ctxCheckEvery, 2 * ctxCheckEvery, 3 * ctxCheckEvery, lout - 1}
	if len(seen) != len(want) {
		t.Fatalf("progress %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("progress %v, want %v", seen, want)
		}
	}
}

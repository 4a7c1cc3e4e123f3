package model_test

import (
	"fmt"
	"testing"

	"starc/internal/testenv"
	"starc/model"
	"starc/weights"
)

// loadSmolLM2 opens the default model for benchmarks.
func loadSmolLM2(b *testing.B) *model.Model {
	b.Helper()
	ckpt, err := weights.OpenCheckpoint(testenv.DefaultModel(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ckpt.Close() })
	m, err := model.Load(ckpt)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkDecode measures one generated token of SmolLM2-135M at a
// 512-token context (the decode setting), in tokens/s.
func BenchmarkDecode(b *testing.B) {
	m := loadSmolLM2(b)
	prompt := make([]int, 512)
	for i := range prompt {
		prompt[i] = 100 + i%1000
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("ctx512/threads%d", threads), func(b *testing.B) {
			st, err := model.NewState(m, model.StateOptions{MaxTokens: 1024, Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if i%256 == 0 { // stay near a 512-token context
					b.StopTimer()
					st.Reset()
					if _, err := m.Prefill(st, prompt); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if _, err := m.Forward(st, 200); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkPrefill measures a 512-token prompt through batched prefill.
func BenchmarkPrefill(b *testing.B) {
	m := loadSmolLM2(b)
	prompt := make([]int, 512)
	for i := range prompt {
		prompt[i] = 100 + i%1000
	}
	for _, c := range []struct{ threads, block int }{{1, 128}, {1, 512}, {2, 128}, {2, 512}} {
		b.Run(fmt.Sprintf("512/threads%d/block%d", c.threads, c.block), func(b *testing.B) {
			st, err := model.NewState(m, model.StateOptions{MaxTokens: 512, Threads: c.threads, PrefillBlock: c.block})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			for b.Loop() {
				st.Reset()
				if _, err := m.Prefill(st, prompt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(prompt))/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

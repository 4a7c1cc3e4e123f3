package system

import (
	"context"
	"testing"
)

// BenchmarkRunMistralFull32K: the paper's full-attention run, Mistral-7B,
// Lin 2048, Lout 32000, batch 16, AttAcc compat: 31 999 decode steps, 2000
// distinct R, cycles from pim's closed form. AttAcc + Ramulator2 would take
// about 57 h here (attacc.md §8).
func BenchmarkRunMistralFull32K(b *testing.B) {
	model, _ := ModelByName("mistral-7b")
	cfg := Config{Model: model, Lin: 2048, Lout: 32000, Batch: 16, AttAccCompat: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStep32K: one decode step of Mistral-7B (all 32 layers) at
// 32K context (L = 32768), batch 16, nothing memoised: AttAcc + Ramulator2
// take about 15 s per step at this context (attacc.md §8).
func BenchmarkDecodeStep32K(b *testing.B) {
	model, _ := ModelByName("mistral-7b")
	for _, compat := range []bool{true, false} {
		name := "hardware"
		if compat {
			name = "attacc-compat"
		}
		b.Run(name, func(b *testing.B) {
			cfg := Config{Model: model, Lin: 32767, Lout: 2, Batch: 16, AttAccCompat: compat}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(context.Background(), cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

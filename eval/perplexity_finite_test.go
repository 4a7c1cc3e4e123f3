package eval

import (
	"math"
	"strings"
	"testing"
)

// A run never ends with a NaN or infinite perplexity and no error.
func TestPerplexityNeverNonFinite(t *testing.T) {
	tests := []struct {
		name string
		nlls []float64
		want string // in the error; "" = finite result
	}{
		{"ordinary", []float64{1, 3}, ""},
		{"NaN NLL", []float64{1, math.NaN(), 2}, "scored token 2 of 3 has NLL NaN"},
		{"infinite NLL", []float64{math.Inf(1)}, "scored token 1 of 1 has NLL +Inf"},
		{"mean past exp's range", []float64{800, 800}, "mean NLL 800 over 2 tokens gives perplexity +Inf"},
		{"variance overflows", []float64{1e300, 1e-300}, "beyond float64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s nllSum
			for _, v := range tc.nlls {
				s.add(v)
			}
			r, err := s.finish(PPLResult{})
			if tc.want == "" {
				if err != nil || math.IsNaN(r.PPL) || math.IsInf(r.PPL, 0) {
					t.Fatalf("err %v, PPL %g", err, r.PPL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

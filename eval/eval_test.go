package eval

import (
	"math"
	"testing"
)

func TestNLL(t *testing.T) {
	// softmax([0, ln 3]) = [1/4, 3/4].
	logits := []float32{0, float32(math.Log(3))}
	for _, tc := range []struct {
		target int
		want   float64
	}{{0, math.Log(4)}, {1, math.Log(4.0 / 3)}} {
		if got := NLL(logits, tc.target); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("NLL(target %d) = %g, want %g", tc.target, got, tc.want)
		}
	}
}

// Rows hold 16 consecutive slots: slots 0, 5 and 15 share row 0, 16 opens
// row 1 and 40 row 2; the second read opens row 2 of its own head. So 6
// slots are read from 4 rows of 16: over-fetch 1 − 6/64.
func TestRowCounter(t *testing.T) {
	c := RowCounter{RowTokens: 16, FromLayer: 2}
	c.Observe(0, 0, 50, []int{0, 1, 2, 3, 4, 5}) // dense layer: not counted
	c.Observe(2, 0, 50, []int{0, 5, 15, 16, 40})
	c.Observe(3, 1, 50, []int{33})
	if c.Reads != 2 || c.Rows != 4 || c.TokensRead != 6 {
		t.Fatalf("reads %d rows %d tokens %d, want 2, 4, 6", c.Reads, c.Rows, c.TokensRead)
	}
	if got, want := c.RowsPerRead(), 2.0; got != want {
		t.Errorf("rows per read = %g, want %g", got, want)
	}
	if got, want := c.OverFetch(), 1-6.0/64; math.Abs(got-want) > 1e-12 {
		t.Errorf("over-fetch = %g, want %g", got, want)
	}
}

func TestPPLStdErrMatchesLlamaCppFormula(t *testing.T) {
	// Two NLLs 1 and 3: mean 2, PPL e², variance of the mean
	// (E[x²] − mean²)/(N−1) = (5 − 4)/1 = 1, so ± e²·1.
	var s nllSum
	s.add(1)
	s.add(3)
	r := s.result(PPLResult{})
	if math.Abs(r.PPL-math.Exp(2)) > 1e-12 || math.Abs(r.PPLStdErr-math.Exp(2)) > 1e-12 || r.TokensScored != 2 {
		t.Errorf("result %+v", r)
	}
}

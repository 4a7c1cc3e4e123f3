package attention

import (
	"math"
	"testing"
)

// The mass recall is measured on the attention's own softmax, scaled by
// 1/√d: with one cached key scoring 8 (q·k) and two scoring 0, at head dim 4
// the winner holds e^(8/2) / (e^(8/2) + 2) of the mass, not e^8 / (e^8 + 2).
func TestQualityMassRecallUsesTheScaledSoftmax(t *testing.T) {
	cfg := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 4, MaxTokens: 8, Budget: 1}
	m, err := New("topk", cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := NewDense(1, 1, 4, 8)
	e, err := NewEngine(cfg, store, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.EnableQuality()
	zero := []float32{0, 0, 0, 0}
	out := make([]float32, 4)
	e.Prefill(0, 0, 2, make([]float32, 8), []float32{0, 0, 0, 0, 0, 0, 0, 0}, make([]float32, 8), make([]float32, 8))
	q := []float32{2, 0, 0, 0}
	e.Decode(0, 2, q, []float32{4, 0, 0, 0}, zero, out) // q·k = 8 for the new token, 0 for the two others
	want := math.Exp(4) / (math.Exp(4) + 2)
	tokens, top10, mass := e.Quality().Mean()
	if tokens != 1 || math.Abs(mass-want) > 1e-6 {
		t.Errorf("tokens %g, mass recall %.6f; want 1 and %.6f", tokens, mass, want)
	}
	if math.Abs(top10-1.0/3) > 1e-9 {
		t.Errorf("top-10 recall %g, want 1/3 (one of the three tokens)", top10)
	}
}

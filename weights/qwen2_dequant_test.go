package weights

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"starc/internal/testenv"
)

// TestDequantizeQwen2MatchesGGUFPy dequantizes, for every ggml type the two Qwen2.5-Coder
// GGUFs of scripts/setup-model.sh hold, the first tensor of that type and compares it with
// gguf-py's dequantization of the same tensor (testdata/qwen2_dequant_golden.json, written
// by testdata/gen_qwen2_dequant_golden.py): sum and sum of squares over the whole tensor
// and 256 values spread over it. The models are optional: a missing one skips its cases.
func TestDequantizeQwen2MatchesGGUFPy(t *testing.T) {
	raw, err := os.ReadFile("testdata/qwen2_dequant_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			File, Tensor, Type string
			TypeID             uint32 `json:"type_id"`
			N                  int
			Sum, SumSq         float64
			Index              []int
			Value              []float32
		}
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, c := range g.Cases {
		types[c.Type] = true
	}
	for _, want := range []string{"Q5_0", "Q8_0", "Q6_K", "Q4_K", "F32"} {
		if !types[want] {
			t.Errorf("the golden has no %s tensor", want)
		}
	}
	for _, c := range g.Cases {
		t.Run(c.File+"/"+c.Type, func(t *testing.T) {
			path := filepath.Join(testenv.RepoRoot(), "models", c.File)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("the optional GGUF is missing (run scripts/setup-model.sh): %v", err)
			}
			f, err := OpenGGUF(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			data, ti, err := f.TensorData(c.Tensor)
			if err != nil {
				t.Fatal(err)
			}
			if ti.Type.String() != c.Type || uint32(ti.Type) != c.TypeID || ti.NumElements() != c.N {
				t.Fatalf("%s is %s (%d) of %d elements here, %s (%d) of %d in gguf-py", c.Tensor, ti.Type, ti.Type, ti.NumElements(), c.Type, c.TypeID, c.N)
			}
			x := make([]float32, c.N)
			if err := Dequantize(x, ti.Type, data, c.N); err != nil {
				t.Fatal(err)
			}
			var sum, sumsq, scale float64
			for _, v := range x {
				sum += float64(v)
				sumsq += float64(v) * float64(v)
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			// Values as in TestDequantizeMatchesGGUFPy: a few float32 ulps of the largest
			// magnitude; the sums accumulate those over n elements.
			tol := scale * 0x1p-21
			if math.Abs(sum-c.Sum) > tol*float64(c.N) || math.Abs(sumsq-c.SumSq) > 1e-6*c.SumSq {
				t.Errorf("%s: sum %g, sum of squares %g; gguf-py %g, %g", c.Tensor, sum, sumsq, c.Sum, c.SumSq)
			}
			bad := 0
			for k, i := range c.Index {
				if d := math.Abs(float64(x[i]) - float64(c.Value[k])); d > tol || math.IsNaN(float64(x[i])) {
					if bad++; bad <= 5 {
						t.Errorf("%s[%d] = %v, gguf-py %v", c.Tensor, i, x[i], c.Value[k])
					}
				}
			}
		})
	}
}

package weights

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// dequantGolden is testdata/dequant_golden.json, written by
// testdata/gen_dequant_golden.py from the PyPI gguf package (gguf-py).
type dequantGolden struct {
	Generator string            `json:"generator"`
	Sizes     map[string][3]int `json:"sizes"` // name → [block elements, block bytes, type id]
	Cases     []struct {
		Kind   string `json:"kind"`
		Type   string `json:"type"`
		TypeID uint32 `json:"type_id"`
		N      int    `json:"n"`
		Raw    []byte `json:"raw"`
		Want   []byte `json:"want"` // little-endian float32
	} `json:"cases"`
}

func loadDequantGolden(t *testing.T) dequantGolden {
	t.Helper()
	raw, err := os.ReadFile("testdata/dequant_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g dequantGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGGMLTypeSizesMatchGGUFPy checks the block table against gguf-py's
// GGML_QUANT_SIZES for every type both know.
func TestGGMLTypeSizesMatchGGUFPy(t *testing.T) {
	g := loadDequantGolden(t)
	for typ, info := range ggmlTypes {
		want, ok := g.Sizes[info.name]
		if !ok {
			t.Errorf("%s: not in gguf-py's table", info.name)
			continue
		}
		if got := [3]int{typ.BlockSize(), typ.BlockBytes(), int(typ)}; got != want {
			t.Errorf("%s: [block, bytes, id] = %v, gguf-py has %v", info.name, got, want)
		}
	}
}

// TestDequantizeMatchesGGUFPy compares every golden case, allowing a few
// float32 ulps of the block's largest magnitude (FMA contraction may differ).
func TestDequantizeMatchesGGUFPy(t *testing.T) {
	g := loadDequantGolden(t)
	if len(g.Cases) < 15 {
		t.Fatalf("golden has %d cases, want at least 15", len(g.Cases))
	}
	for _, c := range g.Cases {
		t.Run(c.Kind+"/"+c.Type, func(t *testing.T) {
			typ := GGMLType(c.TypeID)
			if typ.String() != c.Type {
				t.Fatalf("type id %d is %s here, %s in gguf-py", c.TypeID, typ, c.Type)
			}
			want := make([]float32, len(c.Want)/4)
			for i := range want {
				want[i] = math.Float32frombits(binary.LittleEndian.Uint32(c.Want[4*i:]))
			}
			if len(want) != c.N {
				t.Fatalf("golden has %d values, n=%d", len(want), c.N)
			}
			got := make([]float32, c.N)
			if err := Dequantize(got, typ, c.Raw, c.N); err != nil {
				t.Fatal(err)
			}
			bs := max(typ.BlockSize(), 32)
			bad := 0
			for b := 0; b < c.N; b += bs {
				var scale float64
				for _, w := range want[b : b+bs] {
					scale = math.Max(scale, math.Abs(float64(w)))
				}
				tol := scale * 0x1p-21
				for i := b; i < b+bs; i++ {
					if diff := math.Abs(float64(got[i]) - float64(want[i])); diff > tol || math.IsNaN(float64(got[i])) {
						if bad++; bad <= 5 {
							t.Errorf("element %d: got %v, gguf-py %v (tol %g)", i, got[i], want[i], tol)
						}
					}
				}
			}
		})
	}
}

// Q8_K has no gguf-py dequantizer; its value is d*q by definition, checked
// on a hand-built block.
func TestDequantizeQ8K(t *testing.T) {
	block := make([]byte, 292)
	binary.LittleEndian.PutUint32(block, math.Float32bits(0.5))
	for i := range 256 {
		block[4+i] = byte(int8(i - 128))
	}
	got := make([]float32, 256)
	if err := Dequantize(got, GGMLQ8_K, block, 256); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if want := 0.5 * float32(i-128); v != want {
			t.Fatalf("element %d: got %v, want %v", i, v, want)
		}
	}
}

func TestDequantizeErrors(t *testing.T) {
	tests := []struct {
		name    string
		typ     GGMLType
		data    int // bytes
		dst     int
		n       int
		wantErr string
	}{
		{"partial block", GGMLQ4_0, 18, 32, 16, "not a multiple"},
		{"short data", GGMLQ4_K, 143, 256, 256, "need 144 bytes"},
		{"short dst", GGMLQ8_0, 34, 31, 32, "dst has room for 31"},
		{"unknown type", GGMLType(99), 64, 64, 32, "unknown ggml type 99"},
		{"unsupported type", GGMLIQ2_XXS, 66, 256, 256, "IQ2_XXS not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Dequantize(make([]float32, tc.dst), tc.typ, make([]byte, tc.data), tc.n)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

package weights

import (
	"math/rand/v2"
	"os"
	"starc/internal/testenv"
	"testing"
)

// BenchmarkDequantize converts one 576×576 matrix per op; SetBytes counts
// the quantized input.
func BenchmarkDequantize(b *testing.B) {
	const n = 576 * 576
	rng := rand.New(rand.NewPCG(1, 1))
	for _, typ := range []GGMLType{GGMLF16, GGMLBF16, GGMLQ8_0, GGMLQ4_0, GGMLQ4_1, GGMLQ4_K, GGMLQ6_K} {
		b.Run(typ.String(), func(b *testing.B) {
			size, err := typ.RowBytes(n)
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			dst := make([]float32, n)
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := Dequantize(dst, typ, data, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseGGUFStories260K(b *testing.B) {
	data, err := os.ReadFile(testenv.Shared(b, "models/stories260K/stories260K.gguf"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ParseGGUF("stories260K.gguf", data); err != nil {
			b.Fatal(err)
		}
	}
}

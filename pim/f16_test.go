package pim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

// Oracle: github.com/x448/float16 (an independent implementation).

func TestF16ToF32AllValues(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := f16ToF32(h), float16.Frombits(h).Float32()
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("f16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestF32ToF16RoundsLikeOracle(t *testing.T) {
	check := func(f float32) {
		got, want := f32ToF16(f), float16.Fromfloat32(f).Bits()
		if got != want && !(f != f) {
			t.Fatalf("f32ToF16(%g [%#08x]) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	// Every binary16 value, and the midpoints and neighbours between them.
	for i := 0; i < 1<<16; i++ {
		f := float16.Frombits(uint16(i)).Float32()
		if f != f {
			continue
		}
		check(f)
		b := math.Float32bits(f)
		for _, d := range []int32{-1, 1, 0x1000, -0x1000, 0xfff, 0x1001} {
			check(math.Float32frombits(uint32(int32(b) + d)))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1_000_000; i++ {
		check(math.Float32frombits(rng.Uint32()))
	}
	for _, f := range []float32{0, float32(math.Copysign(0, -1)), 65504, 65520, 1e-8, -1e-8, 5.96e-8, float32(math.Inf(1))} {
		check(f)
	}
}

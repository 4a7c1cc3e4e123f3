package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

// allHalfBits is every 16-bit pattern, in order.
func allHalfBits() []uint16 {
	u := make([]uint16, 1<<16)
	for i := range u {
		u[i] = uint16(i)
	}
	return u
}

// convertSpans cuts [0, n) into pieces of odd lengths so that every SIMD
// prefix/tail split is exercised.
func convertSpans(n int) [][2]int {
	var spans [][2]int
	lo := 0
	for i := 0; lo < n; i++ {
		size := oddSizes[i%len(oddSizes)]
		hi := min(lo+size, n)
		spans = append(spans, [2]int{lo, hi})
		lo = hi
	}
	return spans
}

func TestWidenEveryHalfValue(t *testing.T) {
	src := allHalfBits()
	cases := []struct {
		name    string
		convert func(dst []float32, src []uint16)
		want    func(u uint16) float32
	}{
		{"BF16ToF32", BF16ToF32, refBF16},
		{"F16ToF32", F16ToF32, refF16}, // oracle: github.com/x448/float16
	}
	forEachLevel(t, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, sp := range convertSpans(len(src)) {
					dst, check := guarded(sp[1] - sp[0])
					c.convert(dst, src[sp[0]:sp[1]])
					check(t)
					for i, got := range dst {
						u := src[sp[0]+i]
						want := c.want(u)
						if want != want {
							if got == got {
								t.Fatalf("%#04x: got %v, want NaN", u, got)
							}
							continue
						}
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%#04x: got %v (%#08x), want %v (%#08x)", u, got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			})
		}
	})
}

// narrowInputs are the float32 values both narrowing conversions are checked
// on: named specials, every binary16 and bfloat16 value, the midpoints
// between neighbours of both (the round-half-to-even cases) and random bits.
func narrowInputs() []float32 {
	in := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 65504, 65519.99, 65520, 65536, -65520,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000), // signalling and negative NaN
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32,
		0x1p-14, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 0x1.ffcp-15, 0x1.ff8p-15 + 0x1p-25,
	}
	for u := range 1 << 16 {
		h := float64(float16.Frombits(uint16(u)).Float32())
		b := float64(math.Float32frombits(uint32(u) << 16))
		in = append(in, float32(h), float32(b))
		if next := float64(float16.Frombits(uint16(u + 1)).Float32()); u&0x7fff < 0x7c00-1 && !math.IsNaN(next) {
			in = append(in, float32((h+next)/2))
		}
		if u&0x7fff < 0x7f80-1 {
			in = append(in, math.Float32frombits(uint32(u)<<16|0x8000)) // exact bf16 midpoint
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200000 {
		in = append(in, math.Float32frombits(rng.Uint32()))
	}
	return in
}

func TestF32ToF16MatchesX448(t *testing.T) {
	in := narrowInputs()
	got := make([]uint16, len(in))
	F32ToF16(got, in)
	for i, f := range in {
		want := float16.Fromfloat32(f)
		if f != f {
			if g := float16.Frombits(got[i]); !g.IsNaN() {
				t.Fatalf("F32ToF16(NaN %#08x) = %#04x, not a NaN", math.Float32bits(f), got[i])
			}
			continue
		}
		if got[i] != want.Bits() {
			t.Fatalf("F32ToF16(%g = %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got[i], want.Bits())
		}
	}
}

// refF32ToBF16 rounds by comparing distances in float64 to the two bfloat16
// neighbours, ties to the even one: the definition, not the bit trick.
func refF32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	lo := uint16(b >> 16) // truncation: the neighbour towards zero
	if b&0xffff == 0 {
		return lo
	}
	hi := lo + 1 // the neighbour away from zero (0x7f80 = Inf past the largest)
	val := func(u uint16) float64 {
		if u&0x7fff == 0x7f80 { // Inf rounds like the next power of two
			return math.Copysign(0x1p128, float64(f))
		}
		return float64(math.Float32frombits(uint32(u) << 16))
	}
	dlo, dhi := math.Abs(float64(f)-val(lo)), math.Abs(val(hi)-float64(f))
	switch {
	case dlo < dhi:
		return lo
	case dhi < dlo:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

func TestF32ToBF16RoundsToNearestEven(t *testing.T) {
	in := narrowInputs()
	got := make([]uint16, len(in))
	F32ToBF16(got, in)
	for i, f := range in {
		if f != f {
			if got[i]&0x7f80 != 0x7f80 || got[i]&0x7f == 0 {
				t.Fatalf("F32ToBF16(NaN %#08x) = %#04x, not a NaN", math.Float32bits(f), got[i])
			}
			continue
		}
		if want := refF32ToBF16(f); got[i] != want {
			t.Fatalf("F32ToBF16(%g = %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got[i], want)
		}
	}
}

func TestRowTo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	forEachLevel(t, func(t *testing.T) {
		for _, dt := range allTypes {
			for _, cols := range []int{1, 7, 17, 576} {
				w, ref := randMatrix(rng, dt, 5, cols)
				for r := range 5 {
					dst, check := guarded(cols)
					w.RowTo(dst, r)
					check(t)
					for c, got := range dst {
						if float64(got) != ref[r*cols+c] {
							t.Fatalf("%v %dx%d row %d col %d: got %v, want %v", dt, 5, cols, r, c, got, ref[r*cols+c])
						}
					}
				}
			}
		}
	})
}

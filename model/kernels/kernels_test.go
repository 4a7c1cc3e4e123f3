package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

// Shared test helpers: implementation levels, guard bands, oracles.

// oddSizes are lengths that are not multiples of any vector width, plus the
// model widths they straddle.
var oddSizes = []int{1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 127, 576, 577, 1536, 1537}

// levels lists the implementations this CPU can run, generic first.
func levels() []isa {
	best := detectISA()
	var out []isa
	for l := isaGeneric; l <= best; l++ {
		out = append(out, l)
	}
	return out
}

// forEachLevel runs f as a subtest with every available implementation
// forced active. Tests that use it must not run in parallel.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, l := range levels() {
		t.Run(l.String(), func(t *testing.T) {
			old := active
			active = l
			defer func() { active = old }()
			f(t)
		})
	}
}

const guardWidth = 19

var sentinel = math.Float32frombits(0x7fbadbad) // a signalling NaN nobody computes

// guarded returns a slice of n elements whose backing array has guardWidth
// sentinel elements on each side, and a check that the margins are intact.
func guarded(n int) (inner []float32, check func(t *testing.T)) {
	full := make([]float32, n+2*guardWidth)
	for i := range full {
		full[i] = sentinel
	}
	inner = full[guardWidth : guardWidth+n : guardWidth+n]
	return inner, func(t *testing.T) {
		t.Helper()
		for i := range full {
			if i >= guardWidth && i < guardWidth+n {
				continue
			}
			if math.Float32bits(full[i]) != math.Float32bits(sentinel) {
				t.Fatalf("guard band element %d (of %d+2·%d) overwritten with %v", i, n, guardWidth, full[i])
			}
		}
	}
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.Float64()*2 - 1)
	}
	return v
}

// refBF16 and refF16 widen with code independent of convert.go: bf16 by the
// definition (top half of a binary32), f16 with github.com/x448/float16.
func refBF16(u uint16) float32 { return math.Float32frombits(uint32(u) << 16) }
func refF16(u uint16) float32  { return float16.Frombits(u).Float32() }

// randMatrix returns a rows×cols matrix of type t with entries in [-1,1]
// and its exact float64 values.
func randMatrix(rng *rand.Rand, t DType, rows, cols int) (Matrix, []float64) {
	m := Matrix{Rows: rows, Cols: cols, DType: t}
	ref := make([]float64, rows*cols)
	switch t {
	case F32:
		m.F32 = randVec(rng, rows*cols)
		for i, v := range m.F32 {
			ref[i] = float64(v)
		}
	case BF16:
		m.U16 = make([]uint16, rows*cols)
		for i := range m.U16 {
			m.U16[i] = uint16(math.Float32bits(float32(rng.Float64()*2-1)) >> 16)
			ref[i] = float64(refBF16(m.U16[i]))
		}
	case F16:
		m.U16 = make([]uint16, rows*cols)
		for i := range m.U16 {
			m.U16[i] = float16.Fromfloat32(float32(rng.Float64()*2 - 1)).Bits()
			ref[i] = float64(refF16(m.U16[i]))
		}
	}
	return m, ref
}

// refDot returns Σ a·b in float64 and Σ|a·b|, the scale errors are measured on.
func refDot(a []float64, b []float32) (sum, mag float64) {
	for i, v := range a {
		p := v * float64(b[i])
		sum += p
		mag += math.Abs(p)
	}
	return sum, mag
}

// dotTol is the accepted |fast - exact| / Σ|a·b| for float32 accumulation
// over n terms: a few units of 2^-24 times √n, with headroom (the worst
// case n·2^-24 is never approached by FMA with several partial sums).
func dotTol(n int) float64 { return 8 * math.Sqrt(float64(n)+1) * 0x1p-24 }

func closeRel(got float32, want, mag float64, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol*mag+1e-30
}

func sizeName(dims ...int) string {
	s := ""
	for i, d := range dims {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(d)
	}
	return s
}

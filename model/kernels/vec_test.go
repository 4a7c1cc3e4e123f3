package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Element-wise kernels against float64 loops written from the definitions.
// Tolerances: results of single products/sums are within 2 float32 ulps of
// the float64 value (1e-6 relative); reductions use dotTol.

func within(got float32, want, scale, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol*math.Max(math.Abs(want), scale)
}

func TestDotAxpyScaleAdd(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, n := range oddSizes {
			t.Run(sizeName(n), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), 11))
				a, b := randVec(rng, n), randVec(rng, n)
				a64 := make([]float64, n)
				for i, v := range a {
					a64[i] = float64(v)
				}

				want, mag := refDot(a64, b)
				if got := Dot(a, b); !closeRel(got, want, mag, dotTol(n)) {
					t.Errorf("Dot = %v, want %v", got, want)
				}

				const alpha = float32(-0.37)
				dst, check := guarded(n)
				copy(dst, b)
				Axpy(dst, alpha, a)
				check(t)
				for i := range dst {
					if w := float64(b[i]) + float64(alpha)*float64(a[i]); !within(dst[i], w, 1, 1e-6) {
						t.Fatalf("Axpy[%d] = %v, want %v", i, dst[i], w)
					}
				}

				copy(dst, a)
				Scale(dst, alpha)
				check(t)
				for i := range dst {
					if w := float64(a[i]) * float64(alpha); !within(dst[i], w, 0, 1e-6) {
						t.Fatalf("Scale[%d] = %v, want %v", i, dst[i], w)
					}
				}

				copy(dst, a)
				Add(dst, b)
				check(t)
				for i := range dst {
					if w := float64(a[i]) + float64(b[i]); !within(dst[i], w, 1, 1e-6) {
						t.Fatalf("Add[%d] = %v, want %v", i, dst[i], w)
					}
				}
			})
		}
	})
}

func TestRMSNorm(t *testing.T) {
	const eps = 1e-5
	forEachLevel(t, func(t *testing.T) {
		for _, n := range oddSizes {
			rng := rand.New(rand.NewPCG(uint64(n), 12))
			x, weight := randVec(rng, n), randVec(rng, n)
			var ss float64
			for _, v := range x {
				ss += float64(v) * float64(v)
			}
			inv := 1 / math.Sqrt(ss/float64(n)+eps)
			for _, alias := range []bool{false, true} {
				dst, check := guarded(n)
				in := x
				if alias {
					copy(dst, x)
					in = dst
				}
				RMSNorm(dst, in, weight, eps)
				check(t)
				for i := range dst {
					want := float64(x[i]) * inv * float64(weight[i])
					if !within(dst[i], want, 0, 4*dotTol(n)) {
						t.Fatalf("n=%d alias=%v: dst[%d] = %v, want %v", n, alias, i, dst[i], want)
					}
				}
			}
		}
	})
}

// TestRoPE rotates each pair by its angle, as a complex multiplication
// (a + ib)·e^{iθ}, and checks both pairing layouts against it.
func TestRoPE(t *testing.T) {
	for _, half := range []int{1, 3, 32} {
		for _, heads := range []int{1, 3} {
			d := 2 * half
			rng := rand.New(rand.NewPCG(uint64(half), uint64(heads)))
			x := randVec(rng, heads*d)
			cos, sin := make([]float32, half), make([]float32, half)
			theta := make([]float64, half)
			for i := range theta {
				theta[i] = rng.Float64() * 100
				cos[i], sin[i] = float32(math.Cos(theta[i])), float32(math.Sin(theta[i]))
			}
			layouts := []struct {
				name string
				rope func(x, cos, sin []float32)
				pair func(i int) (int, int)
			}{
				{"half", RoPEHalf, func(i int) (int, int) { return i, i + half }},
				{"adjacent", RoPEAdjacent, func(i int) (int, int) { return 2 * i, 2*i + 1 }},
			}
			for _, l := range layouts {
				got := append([]float32(nil), x...)
				l.rope(got, cos, sin)
				for h := range heads {
					for i := range half {
						p, q := l.pair(i)
						p, q = h*d+p, h*d+q
						z := complex(float64(x[p]), float64(x[q])) * complex(float64(cos[i]), float64(sin[i]))
						if !within(got[p], real(z), 1, 1e-6) || !within(got[q], imag(z), 1, 1e-6) {
							t.Fatalf("%s d=%d head %d pair %d: got (%v, %v), want (%v, %v)", l.name, d, h, i, got[p], got[q], real(z), imag(z))
						}
					}
				}
			}
		}
	}
}

func TestArgmax(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name string
		x    []float32
		want int
	}{
		{"single", []float32{-3}, 0},
		{"first of ties", []float32{1, 5, 5, 2}, 1},
		{"last", []float32{1, 2, 3}, 2},
		{"NaN skipped", []float32{nan, 1, nan, 2}, 3},
		{"all NaN", []float32{nan, nan}, 0},
		{"infinities", []float32{-inf, inf, 3}, 1},
		{"all -Inf", []float32{-inf, -inf}, 0},
	}
	for _, c := range cases {
		if got := Argmax(c.x); got != c.want {
			t.Errorf("%s: Argmax(%v) = %d, want %d", c.name, c.x, got, c.want)
		}
	}
}

package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// Exp, Softmax and SiLUMul against math.Exp in float64 (the oracle).

// expSizes are the lengths the exp-based kernels are checked at: around
// every vector width and block size, plus attention-length rows.
var expSizes = []int{1, 3, 7, 8, 15, 16, 17, 31, 63, 64, 65, 127, 128, 129, 1000, 4097}

// expMaxULP is the accuracy Exp promises on every path.
const expMaxULP = 2

// ulpDiff returns |got - want| in units of the float32 spacing at want
// (2^-149 below the normal range). It is 0 when both are NaN or the same
// infinity (want counting as infinite when it rounds to one in float32)
// and +Inf for any other mismatch of special values.
func ulpDiff(got float32, want float64) float64 {
	g := float64(got)
	switch w := float64(float32(want)); {
	case math.IsNaN(want):
		if math.IsNaN(g) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(w, 0):
		if g == w {
			return 0
		}
		return math.Inf(1)
	case math.IsNaN(g) || math.IsInf(g, 0):
		return math.Inf(1)
	}
	ulp := 0x1p-149
	if a := math.Abs(want); a >= 0x1p-126 {
		_, e := math.Frexp(a)
		ulp = math.Ldexp(1, e-24)
	}
	return math.Abs(g-want) / ulp
}

// TestExpAccuracy sweeps the float32 inputs whose e^x is neither 0 nor
// +Inf by much, [-105, 89], every stride-th bit pattern, on every path,
// and checks each result within expMaxULP of math.Exp. The twin (exp32)
// is the generic path. KERNELS_EXHAUSTIVE=1 checks every input (about
// 2.2e9 of them: minutes).
func TestExpAccuracy(t *testing.T) {
	stride := uint32(101)
	if testing.Short() {
		stride = 10007
	}
	if os.Getenv("KERNELS_EXHAUSTIVE") != "" {
		stride = 1
	}
	ranges := []struct {
		name     string
		from, to float32 // same sign, |from| ≤ |to|
	}{
		{"positive", 0, 89},
		{"negative", float32(math.Copysign(0, -1)), -105},
	}
	const batch = 4096
	x := make([]float32, batch)
	want := make([]float64, batch)
	got := make([]float32, batch)
	lv := levels()
	worst := make([]float64, len(lv))
	worstAt := make([]float32, len(lv))
	for _, r := range ranges {
		lo, hi := math.Float32bits(r.from), math.Float32bits(r.to)
		for b := uint64(lo); b <= uint64(hi); {
			n := 0
			for ; n < batch && b <= uint64(hi); b += uint64(stride) {
				x[n] = math.Float32frombits(uint32(b))
				want[n] = math.Exp(float64(x[n]))
				n++
			}
			for li, l := range lv {
				withLevel(l, func() { Exp(got[:n], x[:n]) })
				for i := range n {
					if d := ulpDiff(got[i], want[i]); d > worst[li] {
						worst[li], worstAt[li] = d, x[i]
					}
				}
			}
		}
	}
	for li, l := range lv {
		t.Logf("%s: max error %.3f ulp at x = %v (stride %d)", l, worst[li], worstAt[li], stride)
		if worst[li] > expMaxULP {
			t.Errorf("%s: Exp(%v) is %.3f ulp from math.Exp, want ≤ %d", l, worstAt[li], worst[li], expMaxULP)
		}
	}
}

// withLevel runs f with implementation l active.
func withLevel(l isa, f func()) {
	old := active
	active = l
	defer func() { active = old }()
	f()
}

func TestExpSpecialValues(t *testing.T) {
	inf := math.Inf(1)
	ln2 := math.Ln2
	cases := []struct {
		name string
		x    float32
		want float64 // exact value, or math.Exp(x) when check is "exp"
		exp  bool
	}{
		{name: "zero", x: 0, want: 1},
		{name: "negative zero", x: float32(math.Copysign(0, -1)), want: 1},
		{name: "smallest subnormal input", x: math.SmallestNonzeroFloat32, want: 1},
		{name: "one", x: 1, exp: true},
		{name: "minus one", x: -1, exp: true},
		{name: "rounding boundary of n", x: float32(2.5 * ln2), exp: true},
		{name: "largest finite result", x: 88.72283, exp: true},
		{name: "first overflow", x: 88.72284, want: inf},
		{name: "above the clamp", x: 1000, want: inf},
		{name: "max float", x: math.MaxFloat32, want: inf},
		{name: "+Inf", x: float32(inf), want: inf},
		{name: "smallest normal result", x: -87.33654, exp: true},
		{name: "subnormal result", x: -95, exp: true},
		{name: "smallest subnormal result", x: -103.27893, exp: true},
		{name: "rounds to zero", x: -103.98, want: 0},
		{name: "below the clamp", x: -1000, want: 0},
		{name: "-max float", x: -math.MaxFloat32, want: 0},
		{name: "-Inf", x: float32(-inf), want: 0},
		{name: "NaN", x: float32(math.NaN()), want: math.NaN()},
	}
	forEachLevel(t, func(t *testing.T) {
		for _, c := range cases {
			want := c.want
			if c.exp {
				want = math.Exp(float64(c.x))
			}
			// Fill a 16-wide block, an 8-wide block and a scalar tail.
			x := make([]float32, 27)
			for i := range x {
				x[i] = c.x
			}
			got := make([]float32, len(x))
			Exp(got, x)
			for i, g := range got {
				if d := ulpDiff(g, want); d > expMaxULP || (!c.exp && d != 0) {
					t.Errorf("%s: Exp(%v)[%d] = %v, want %v", c.name, c.x, i, g, want)
				}
			}
		}
	})
}

// TestExpSlices checks lengths, guard bands and in-place use.
func TestExpSlices(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, n := range expSizes {
			rng := rand.New(rand.NewPCG(uint64(n), 21))
			x := randVec(rng, n)
			for i := range x {
				x[i] *= 90
			}
			for _, inPlace := range []bool{false, true} {
				dst, check := guarded(n)
				src := x
				if inPlace {
					copy(dst, x)
					src = dst
				}
				Exp(dst, src)
				check(t)
				for i, g := range dst {
					if d := ulpDiff(g, math.Exp(float64(x[i]))); d > expMaxULP {
						t.Fatalf("n=%d in-place=%v: Exp(%v) = %v (%.2f ulp)", n, inPlace, x[i], g, d)
					}
				}
			}
		}
	})
}

// TestExpTwinAgreement compares every SIMD path with the plain-Go twin:
// both are within expMaxULP of the truth, and in practice within 1 ulp of
// each other (they differ only by FMA rounding).
func TestExpTwinAgreement(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(rng.Float64()*200 - 105)
	}
	got := make([]float32, len(x))
	for _, l := range levels()[1:] {
		withLevel(l, func() { Exp(got, x) })
		worst := 0.0
		for i, g := range got {
			worst = max(worst, ulpDiff(g, float64(exp32(x[i]))))
		}
		t.Logf("%s vs twin: max %.2f ulp", l, worst)
		if worst > 1 {
			t.Errorf("%s differs from exp32 by %.2f ulp, want ≤ 1", l, worst)
		}
	}
}

// cycle returns n elements repeating pattern.
func cycle(n int, pattern ...float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = pattern[i%len(pattern)]
	}
	return out
}

// softmaxRef is the float64 softmax the kernel is checked against.
func softmaxRef(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	out := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// softmaxTol is the guaranteed per-element bound: |got - want| ≤
// 1e-6·want + 2^-149 (one subnormal step).
func softmaxOK(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-6*want+0x1p-149
}

func TestSoftmax(t *testing.T) {
	inf := float32(math.Inf(1))
	cases := []struct {
		name string
		x    []float32
	}{
		{"single", []float32{3}},
		{"equal", []float32{2, 2, 2, 2}},
		{"large values do not overflow", []float32{1000, 999, 998}},
		{"masked entries", []float32{-inf, 1, -inf, 0.5}},
		{"tiny probabilities underflow", []float32{0, -50, -90, -100, -104, -200, 0, 0, 0}},
		{"huge maximum", cycle(41, 3e38, 3e38, -3e38, 0, 1e30, 2.9999998e38)},
		{"huge negative values", cycle(41, -1e20, math.Nextafter32(-1e20, 0), -1e20, -2e20)},
		{"differences not representable", cycle(41, 100, 1e-10, -3.1, 99.99999, -0.0001)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachLevel(t, func(t *testing.T) {
				want := softmaxRef(c.x)
				got := append([]float32(nil), c.x...)
				Softmax(got)
				for i, v := range got {
					if !softmaxOK(v, want[i]) {
						t.Errorf("[%d] = %v, want %v", i, v, want[i])
					}
				}
			})
		})
	}
}

// TestSoftmaxSizes runs attention-like rows of every size through every
// path: scores of spread 1, 10 (peaked) and 60 (most terms underflow),
// with some masked to -Inf, between guard bands.
func TestSoftmaxSizes(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		worst := 0.0
		for _, n := range expSizes {
			for _, spread := range []float32{1, 10, 60} {
				rng := rand.New(rand.NewPCG(uint64(n), uint64(spread)))
				x := randVec(rng, n)
				for i := range x {
					x[i] *= spread
					if n > 2 && rng.IntN(8) == 0 {
						x[i] = float32(math.Inf(-1))
					}
				}
				want := softmaxRef(x)
				got, check := guarded(n)
				copy(got, x)
				Softmax(got)
				check(t)
				var total float64
				for i, v := range got {
					if !softmaxOK(v, want[i]) {
						t.Fatalf("n=%d spread=%v: [%d] = %v, want %v (x = %v)", n, spread, i, v, want[i], x[i])
					}
					if want[i] > 0x1p-126 {
						worst = max(worst, math.Abs(float64(v)-want[i])/want[i])
					}
					total += float64(v)
				}
				if math.Abs(total-1) > 1e-6 {
					t.Errorf("n=%d spread=%v: Σ = %v, want 1", n, spread, total)
				}
			}
		}
		t.Logf("max relative error %.3g", worst)
	})
}

func TestSoftmaxSpecialInputs(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := []struct {
		name string
		x    []float32
	}{
		{"all -Inf", cycle(27, -inf)},
		{"+Inf", append(cycle(26, 0, 1, 2), inf)},
		{"NaN first", append([]float32{nan}, cycle(26, 1, 2, 3)...)},
		{"NaN in the 16-wide block", append(cycle(5, 1, 2), append([]float32{nan}, cycle(21, 3)...)...)},
		{"NaN in the 8-wide block", append(cycle(20, 1, 2), append([]float32{nan}, cycle(6, 3)...)...)},
		{"NaN in the tail", append(cycle(26, 0, 1, 2), nan)},
	}
	forEachLevel(t, func(t *testing.T) {
		for _, c := range cases {
			got := append([]float32(nil), c.x...)
			Softmax(got)
			for i, v := range got {
				if !math.IsNaN(float64(v)) {
					t.Errorf("%s: [%d] = %v, want NaN", c.name, i, v)
				}
			}
		}
	})
}

func TestSiLUMul(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, n := range expSizes {
			rng := rand.New(rand.NewPCG(uint64(n), 13))
			gate, up := randVec(rng, n), randVec(rng, n)
			for i := range gate {
				gate[i] *= 20 // reach both saturated ends of the sigmoid
			}
			specials := []float32{-100, 100, -88.9, 89, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, -200, 1e30}
			for i, g := range specials[:min(n, len(specials))] {
				gate[(i*7)%n] = g
			}
			for _, alias := range []string{"none", "gate", "up"} {
				dst, check := guarded(n)
				g, u := gate, up
				switch alias {
				case "gate":
					copy(dst, gate)
					g = dst
				case "up":
					copy(dst, up)
					u = dst
				}
				SiLUMul(dst, g, u)
				check(t)
				for i := range dst {
					x := float64(gate[i])
					want := x / (1 + math.Exp(-x)) * float64(up[i])
					if !within(dst[i], want, 1e-30, 1e-6) {
						t.Fatalf("n=%d alias=%s: [%d] silu(%v)·%v = %v, want %v", n, alias, i, gate[i], up[i], dst[i], want)
					}
				}
			}
		}
	})
}

func TestSiLUMulSpecialValues(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := []struct {
		name  string
		g     float32
		isNaN bool
		want  float32
	}{
		{name: "+Inf", g: inf, want: inf},
		{name: "-Inf", g: -inf, isNaN: true},
		{name: "NaN", g: nan, isNaN: true},
		{name: "very negative", g: -1e30, want: 0},
	}
	forEachLevel(t, func(t *testing.T) {
		for _, c := range cases {
			gate, up, dst := cycle(27, c.g), cycle(27, 1), make([]float32, 27)
			SiLUMul(dst, gate, up)
			for i, v := range dst {
				if c.isNaN != math.IsNaN(float64(v)) || !c.isNaN && v != c.want {
					t.Errorf("%s: silu(%v)[%d] = %v, want %v (NaN: %v)", c.name, c.g, i, v, c.want, c.isNaN)
				}
			}
		}
	})
}

// TestKernelMisusePanics checks the "kernels: " panics of the new kernels.
func TestKernelMisusePanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"Exp length", func() { Exp(make([]float32, 3), make([]float32, 4)) }},
		{"SiLUMul up length", func() { SiLUMul(make([]float32, 3), make([]float32, 3), make([]float32, 2)) }},
		{"WeightedRowSum dst length", func() { WeightedRowSum(make([]float32, 3), make([]float32, 2), make([]float32, 8), 4) }},
		{"WeightedRowSum rows length", func() { WeightedRowSum(make([]float32, 4), make([]float32, 2), make([]float32, 7), 4) }},
		{"WeightedRowSum negative dim", func() { WeightedRowSum(nil, nil, nil, -1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "kernels: ") {
					t.Errorf("panic %v, want a \"kernels: \" message", r)
				}
			}()
			c.f()
		})
	}
}

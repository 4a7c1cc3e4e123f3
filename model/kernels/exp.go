package kernels

import "math"

// Exp sets dst[i] = e^x[i] in float32. dst may be x itself (but not a
// shifted view of it).
//
// Accuracy: within 2 ulp of the correctly rounded result over the whole
// float32 range (measured: see TestExpAccuracy), including subnormal
// results, which are rounded once (no flush to zero). Special values:
// e^±0 = 1, e^x = +Inf for x > ln(MaxFloat32) ≈ 88.7228 (and x = +Inf),
// e^x = 0 for x < ln(2^-150) ≈ -103.972 (and x = -Inf), NaN gives NaN.
//
// Hot path: Softmax and SiLUMul evaluate exp with the same code.
func Exp(dst, x []float32) {
	checkLen("Exp", "x", len(x), len(dst))
	done := expArch(dst, x)
	for i := done; i < len(dst); i++ {
		dst[i] = exp32(x[i])
	}
}

// The float32 exponential shared by the plain-Go and SIMD paths:
//
//	x = n·ln2 + r, n = round(x·log2 e), |r| ≤ ln2/2 (+ rounding slack)
//	e^r ≈ 1 + r + c2·r² + … + c6·r⁶ (Horner)
//	e^x = e^r · 2^h · 2^(n-h), h = n>>1
//
// The reduction is Cody–Waite: ln2 = expLn2Hi + expLn2Lo with expLn2Hi
// holding 9 significant bits, so n·expLn2Hi and x - n·expLn2Hi are exact
// for the clamped |n| ≤ 151. The coefficients c2…c6 minimise the maximum
// relative error of the polynomial on |r| ≤ ln2/2 + 5e-4 (a Remez fit with
// c0 = c1 = 1 fixed; fitted error 3.1e-9, far below float32 rounding).
// Scaling by 2^n in two steps keeps both factors normal for n in
// [-151, 129]: the first product is exact, the second rounds once, so
// subnormal results and overflow to +Inf come out correctly rounded from
// e^r. The input is first clamped to [expMinArg, expMaxArg] (NaN passes
// through the clamp), which also maps ±Inf to +Inf and 0.
const (
	expMinArg = -104.0 // e^-104 < 2^-150: rounds to 0
	expMaxArg = 89.0   // e^89 > MaxFloat32: overflows to +Inf

	expLog2e = 1.44269504088896340736 // log2(e)
	expLn2Hi = 0.693359375            // 0x3f318000: 355/512
	expLn2Lo = -2.12194440e-4         // ln2 - expLn2Hi, rounded to float32

	expC2 = 0.4999999403953552    // 0x3efffffe
	expC3 = 0.1666651964187622    // 0x3e2aaa48
	expC4 = 0.041668396443128586  // 0x3d2aac7b
	expC5 = 0.008368811570107937  // 0x3c091d57
	expC6 = 0.0013814400881528854 // 0x3ab51170
)

// exp32 is the plain-Go twin of the SIMD exponential: the same algorithm,
// evaluated without FMA (so the results may differ by an ulp).
func exp32(x float32) float32 {
	if x < expMinArg {
		x = expMinArg
	} else if x > expMaxArg {
		x = expMaxArg
	}
	return expReduced32(x, 0)
}

// expDiff32 returns e^(x-m) for x ≤ m (m finite), carrying the rounding
// error of the float32 difference x - m into the reduced argument, so the
// result is as accurate as Exp of the exact difference (rounding x - m
// alone would cost up to |x-m|·2^-24 relative). x is first raised to lo
// (softmaxFloor(m)): that turns x = -Inf into a finite value, and when |m|
// is so large that lo = m - ulp(m), keeps x within a factor 2 of m, where
// x - m is exact. This is the twin of the Softmax kernels.
func expDiff32(x, m, lo float32) float32 {
	if x < lo {
		x = lo
	}
	s := x - m
	// TwoSum: x - m = s + ds exactly.
	bv := s - x
	av := s - bv
	ds := (x - av) - (bv + m)
	if s < expMinArg {
		s = expMinArg
	}
	return expReduced32(s, ds)
}

// softmaxFloor returns the lo bound of expDiff32 for maximum m: m - 110,
// or the next float32 down when rounding left it within 104 of m (large
// |m|), so that e^(lo-m) is always 0 in float32.
func softmaxFloor(m float32) float32 {
	lo := float32(float64(m) - 110)
	if float64(m)-float64(lo) < 104 {
		lo = math.Nextafter32(lo, float32(math.Inf(-1)))
	}
	return lo
}

// expReduced32 returns e^(s+ds) for s in [expMinArg, expMaxArg] (or NaN)
// and |ds| ≤ 2^-17, ds entering after the reduction.
func expReduced32(s, ds float32) float32 {
	n := float32(math.RoundToEven(float64(s * expLog2e)))
	r := s - float32(n*expLn2Hi)
	r -= float32(n * expLn2Lo)
	r += ds
	p := float32(expC6)
	p = float32(p*r) + expC5
	p = float32(p*r) + expC4
	p = float32(p*r) + expC3
	p = float32(p*r) + expC2
	p = float32(p*r) + 1
	p = float32(p*r) + 1
	k := int32(n) // NaN converts to some value: p is already NaN
	h := k >> 1
	p *= math.Float32frombits(uint32(h+127) << 23)
	return p * math.Float32frombits(uint32(k-h+127)<<23)
}

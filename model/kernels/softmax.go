package kernels

// Softmax replaces x by exp(x - max x) / Σ exp(x - max x).
//
// The exponentials are the float32 ones of Exp (within 2 ulp), taken of
// the exact difference x_i - max x (its float32 rounding error is carried
// into the reduced argument); their sum is accumulated in float64. So
// every output is within 1e-6 relative of the float64 softmax of the same
// inputs, whatever len(x) (TestSoftmax*; measured worst case about 3e-7),
// plus one subnormal step (2^-149) for outputs below the normal range.
// Outputs that underflow (x_i - max x < -103.97) are 0.
//
// An empty x is left alone. If every element is -Inf, or x holds +Inf or
// NaN, every output is NaN.
//
// Hot path: once per head per decoded token over the attention scores.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	done, mx := maxArch(x)
	for _, v := range x[done:] {
		if v > mx {
			mx = v
		}
	}
	lo := softmaxFloor(mx)
	done, sum := expShiftSumArch(x, mx, lo)
	for i := done; i < len(x); i++ {
		e := expDiff32(x[i], mx, lo)
		x[i] = e
		sum += float64(e)
	}
	Scale(x, float32(1/sum))
}

package kernels

// SIMD paths of Exp, Softmax and SiLUMul (exp_amd64.s). Each *Arch
// function handles the longest multiple-of-8 prefix and returns its
// length; the AVX-512 kernels take multiples of 16 and leave a last block
// of 8 to the AVX2 kernel, whose results are identical (both scale by 2^n
// with a single rounding).

func expArch(dst, x []float32) int {
	n := len(dst) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	i := 0
	if active == isaAVX512 {
		if i = n &^ 15; i > 0 {
			expAVX512(&dst[0], &x[0], i)
		}
	}
	if i < n {
		expAVX2(&dst[i], &x[i], n-i)
	}
	return n
}

// maxArch returns the length of the prefix it scanned and its maximum.
func maxArch(x []float32) (int, float32) {
	n := len(x) &^ 7
	if active == isaGeneric || n == 0 {
		return 1, x[0]
	}
	return n, maxAVX2(&x[0], n)
}

// expShiftSumArch replaces the prefix x[i] by expDiff32(x[i], shift, lo)
// and returns its length and Σ of the new values in float64.
func expShiftSumArch(x []float32, shift, lo float32) (int, float64) {
	n := len(x) &^ 7
	if active == isaGeneric || n == 0 {
		return 0, 0
	}
	i, sum := 0, 0.0
	if active == isaAVX512 {
		if i = n &^ 15; i > 0 {
			sum = expShiftSumAVX512(&x[0], i, shift, lo)
		}
	}
	if i < n {
		sum += expShiftSumAVX2(&x[i], n-i, shift, lo)
	}
	return n, sum
}

func siluMulArch(dst, gate, up []float32) int {
	n := len(dst) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	i := 0
	if active == isaAVX512 {
		if i = n &^ 15; i > 0 {
			siluMulAVX512(&dst[0], &gate[0], &up[0], i)
		}
	}
	if i < n {
		siluMulAVX2(&dst[i], &gate[i], &up[i], n-i)
	}
	return n
}

// n is a positive multiple of 8 (AVX2) or 16 (AVX-512) in all of these.

//go:noescape
func expAVX2(dst, x *float32, n int)

//go:noescape
func expAVX512(dst, x *float32, n int)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func expShiftSumAVX2(x *float32, n int, shift, lo float32) float64

//go:noescape
func expShiftSumAVX512(x *float32, n int, shift, lo float32) float64

//go:noescape
func siluMulAVX2(dst, gate, up *float32, n int)

//go:noescape
func siluMulAVX512(dst, gate, up *float32, n int)

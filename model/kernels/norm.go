package kernels

import "math"

// RMSNorm sets dst = x / sqrt(mean(x²) + eps) ⊙ weight. dst may be x itself
// (but not a shifted view of it). The sum of squares is accumulated in
// float32 with several partial sums.
//
// Hot path: twice per layer per token.
func RMSNorm(dst, x, weight []float32, eps float32) {
	checkLen("RMSNorm", "x", len(x), len(dst))
	checkLen("RMSNorm", "weight", len(weight), len(dst))
	if len(x) == 0 {
		return
	}
	ss := Dot(x, x)
	inv := float32(1 / math.Sqrt(float64(ss/float32(len(x))+eps)))
	done := mulScaleArch(dst, x, weight, inv)
	for i := done; i < len(dst); i++ {
		dst[i] = x[i] * inv * weight[i]
	}
}

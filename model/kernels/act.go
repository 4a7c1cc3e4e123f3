package kernels

import "math"

// SiLUMul sets dst = silu(gate) ⊙ up with silu(g) = g / (1 + e^-g): the
// SwiGLU activation of the Llama MLP. dst may alias gate or up.
//
// The exponential is that of Exp, taken of -|g| so that it never
// overflows: silu(g) = g·s / (1 + e^-|g|) with s = 1 for g ≥ 0 and
// s = e^-|g| for g < 0. Each output is within 1e-6 relative of the float64
// value, or 1e-36 absolute where that is larger (results that are
// subnormal in float32). silu(+Inf) = +Inf; gate = -Inf gives NaN, as the
// defining formula does in IEEE arithmetic.
func SiLUMul(dst, gate, up []float32) {
	checkLen("SiLUMul", "gate", len(gate), len(dst))
	checkLen("SiLUMul", "up", len(up), len(dst))
	done := siluMulArch(dst, gate, up)
	for i := done; i < len(dst); i++ {
		dst[i] = siluMul32(gate[i], up[i])
	}
}

// siluMul32 is the plain-Go twin of the SIMD SiLU·up step.
func siluMul32(g, u float32) float32 {
	e := exp32(math.Float32frombits(math.Float32bits(g) | 1<<31)) // e^-|g|
	s := float32(1)
	if math.Signbit(float64(g)) {
		s = e
	}
	return g * s / (1 + e) * u
}

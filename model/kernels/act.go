package kernels

import "math"

// SiLUMul sets dst = silu(gate) ⊙ up with silu(g) = g / (1 + e^-g): the
// SwiGLU activation of the Llama MLP. dst may alias gate or up.
func SiLUMul(dst, gate, up []float32) {
	checkLen("SiLUMul", "gate", len(gate), len(dst))
	checkLen("SiLUMul", "up", len(up), len(dst))
	for i, g := range gate {
		s := float64(g) / (1 + math.Exp(-float64(g)))
		dst[i] = float32(s) * up[i]
	}
}

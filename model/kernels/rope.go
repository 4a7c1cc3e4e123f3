package kernels

import "fmt"

// RoPE rotates pairs of x by the angles of one position. cos and sin hold
// cos(pos·θ_i), sin(pos·θ_i) for i < d/2, where d = 2·len(cos) is the head
// dimension; x is one or more heads of d elements each, rotated alike.
//
// The two functions differ only in which elements form a pair.

// RoPEHalf pairs (x[i], x[i+d/2]) within each head: the Hugging Face
// "rotate_half" layout (Llama/Mistral safetensors checkpoints).
func RoPEHalf(x []float32, cos, sin []float32) {
	half := ropeCheck("RoPEHalf", x, cos, sin)
	for h := 0; h < len(x); h += 2 * half {
		lo, hi := x[h:h+half], x[h+half:h+2*half]
		for i, c := range cos[:half] {
			s := sin[i]
			a, b := lo[i], hi[i]
			lo[i] = a*c - b*s
			hi[i] = b*c + a*s
		}
	}
}

// RoPEAdjacent pairs (x[2i], x[2i+1]) within each head: the GGUF/llama2.c
// interleaved layout.
func RoPEAdjacent(x []float32, cos, sin []float32) {
	half := ropeCheck("RoPEAdjacent", x, cos, sin)
	for h := 0; h < len(x); h += 2 * half {
		head := x[h : h+2*half]
		for i, c := range cos[:half] {
			s := sin[i]
			a, b := head[2*i], head[2*i+1]
			head[2*i] = a*c - b*s
			head[2*i+1] = b*c + a*s
		}
	}
}

func ropeCheck(op string, x, cos, sin []float32) int {
	checkLen(op, "sin", len(sin), len(cos))
	half := len(cos)
	if half == 0 || len(x)%(2*half) != 0 {
		panic(fmt.Sprintf("kernels: %s: len(x) = %d is not a multiple of head dim 2·len(cos) = %d", op, len(x), 2*half))
	}
	return half
}

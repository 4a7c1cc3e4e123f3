package kernels

import "math"

// Softmax replaces x by exp(x - max x) / Σ exp(x - max x). Exponentials are
// computed in float64 and the sum accumulated in float64. An empty x is left
// alone; if every element is -Inf the result is NaN.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - mx))
		x[i] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

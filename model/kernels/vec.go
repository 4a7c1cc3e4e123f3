package kernels

import "math"

// Dot returns Σ a[i]·b[i], accumulated in float32 with FMA and several
// partial sums on the SIMD paths.
func Dot(a, b []float32) float32 {
	checkLen("Dot", "b", len(b), len(a))
	done, s := dotArch(a, b)
	for i := done; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

// Axpy adds a·x to dst.
func Axpy(dst []float32, a float32, x []float32) {
	checkLen("Axpy", "x", len(x), len(dst))
	done := axpyArch(dst, a, x)
	for i := done; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}

// Scale multiplies x by a in place.
func Scale(x []float32, a float32) {
	done := scaleArch(x, a)
	for i := done; i < len(x); i++ {
		x[i] *= a
	}
}

// Add adds x to dst (the residual connection).
func Add(dst, x []float32) {
	checkLen("Add", "x", len(x), len(dst))
	done := addArch(dst, x)
	for i := done; i < len(dst); i++ {
		dst[i] += x[i]
	}
}

// Argmax returns the index of the first largest element, ignoring NaNs
// (0 when every element is NaN). It panics on an empty slice.
func Argmax(x []float32) int {
	if len(x) == 0 {
		panic("kernels: Argmax of an empty slice")
	}
	best, bestV := 0, float32(math.Inf(-1))
	found := false
	for i, v := range x {
		if v > bestV || !found && v == bestV {
			best, bestV, found = i, v, true
		}
	}
	return best
}

// Generic twins: the plain loops the SIMD prefixes must agree with.

func dotGo(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

package kernels

// bf16ToF32Arch converts the longest multiple-of-8 prefix with SIMD and
// returns its length; the caller converts the rest.
func bf16ToF32Arch(dst []float32, src []uint16) int {
	n := len(src) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	bf16ToF32AVX2(&dst[0], &src[0], n)
	return n
}

func f16ToF32Arch(dst []float32, src []uint16) int {
	n := len(src) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	f16ToF32AVX2(&dst[0], &src[0], n)
	return n
}

// n is a positive multiple of 8.
//
//go:noescape
func bf16ToF32AVX2(dst *float32, src *uint16, n int)

//go:noescape
func f16ToF32AVX2(dst *float32, src *uint16, n int)

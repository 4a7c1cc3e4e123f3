package kernels

// The vector kernels are memory-light and short (one model row), so the
// AVX-512 level uses the same 256-bit code as AVX2. Each *Arch function
// handles the longest multiple-of-8 prefix and returns its length.

func dotArch(a, b []float32) (int, float32) {
	n := len(a) &^ 7
	if active == isaGeneric || n == 0 {
		return len(a), dotGo(a, b)
	}
	return n, dotAVX2(&a[0], &b[0], n)
}

func axpyArch(dst []float32, a float32, x []float32) int {
	n := len(dst) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	axpyAVX2(&dst[0], a, &x[0], n)
	return n
}

func scaleArch(x []float32, a float32) int {
	n := len(x) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	scaleAVX2(&x[0], a, n)
	return n
}

func addArch(dst, x []float32) int {
	n := len(dst) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	addAVX2(&dst[0], &x[0], n)
	return n
}

func mulScaleArch(dst, x, w []float32, s float32) int {
	n := len(dst) &^ 7
	if active == isaGeneric || n == 0 {
		return 0
	}
	mulScaleAVX2(&dst[0], &x[0], &w[0], s, n)
	return n
}

// n is a positive multiple of 8 in all of these.

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func axpyAVX2(dst *float32, a float32, x *float32, n int)

//go:noescape
func scaleAVX2(x *float32, a float32, n int)

//go:noescape
func addAVX2(dst, x *float32, n int)

// mulScaleAVX2 sets dst[i] = x[i]·s·w[i].
//
//go:noescape
func mulScaleAVX2(dst, x, w *float32, s float32, n int)

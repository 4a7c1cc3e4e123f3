package kernels

// matMulPanel multiplies n activation rows by one packed float32 panel of np
// weight rows, writing dst columns [c0, c0+np). Full 4-row × nr-column tiles
// go to the micro-kernel; edge columns use Dot, leftover activation rows use
// the matrix-vector kernels, and any K remainder past the last full vector
// is added in Go.
func matMulPanel(dst []float32, ldd int, x []float32, n, k int, panel []float32, c0, np int) {
	width := vectorWidth(active)
	kMain := k &^ (width - 1)
	if active == isaGeneric || kMain == 0 {
		matMulPanelGo(dst, ldd, x, n, k, panel, c0, np)
		return
	}
	nr := 3
	if active == isaAVX512 {
		nr = 4
	}
	full := np / nr * nr // panel rows covered by whole tiles
	i0 := 0
	for ; i0+4 <= n; i0 += 4 {
		for j := 0; j < full; j += nr {
			d := &dst[i0*ldd+c0+j]
			if nr == 4 {
				tile4x4AVX512(d, ldd, &x[i0*k], k, &panel[j*k], k, kMain)
			} else {
				tile4x3AVX2(d, ldd, &x[i0*k], k, &panel[j*k], k, kMain)
			}
		}
		for i := i0; i < i0+4; i++ {
			xi := x[i*k : (i+1)*k]
			out := dst[i*ldd+c0 : i*ldd+c0+np]
			if kMain < k {
				for j := range full {
					out[j] += dotGo(xi[kMain:], panel[j*k+kMain:(j+1)*k])
				}
			}
			for j := full; j < np; j++ {
				out[j] = Dot(xi, panel[j*k:(j+1)*k])
			}
		}
	}
	m := Matrix{Rows: np, Cols: k, DType: F32, F32: panel[:np*k]}
	for i := i0; i < n; i++ {
		matVecArch(dst[i*ldd+c0:i*ldd+c0+np], m, x[i*k:(i+1)*k], 0, np)
	}
}

// Micro-kernels in matmul_amd64.s: dst[i*ldd+j] = Σ_{c<k} x[i*ldx+c]·w[j*ldw+c].

//go:noescape
func tile4x4AVX512(dst *float32, ldd int, x *float32, ldx int, w *float32, ldw int, k int)

//go:noescape
func tile4x3AVX2(dst *float32, ldd int, x *float32, ldx int, w *float32, ldw int, k int)

//go:build !amd64

package kernels

func matMulPanel(dst []float32, ldd int, x []float32, n, k int, panel []float32, c0, np int) {
	matMulPanelGo(dst, ldd, x, n, k, panel, c0, np)
}

//go:build !amd64

package kernels

func matVecArch(dst []float32, w Matrix, x []float32, r0, r1 int) { matVecGo(dst, w, x, r0, r1) }

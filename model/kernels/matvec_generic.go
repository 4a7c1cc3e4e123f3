//go:build !amd64

package kernels

func matVecArch(dst []float32, w Matrix, x []float32, r0, r1 int) { matVecGo(dst, w, x, r0, r1) }

func splitForMatVec(*[]float32, Matrix, []float32) []float32 { return nil }

func matVecSplitArch(dst []float32, w Matrix, x, _ []float32, r0, r1 int) {
	matVecGo(dst, w, x, r0, r1)
}

func splitFor([]float32, Matrix) []float32 { return nil }

func pairsCols(Matrix) int { return 0 }

//go:build !amd64

package kernels

func scoreRowsArch(dst, rows, q []float32, dim int, scale float32) int { return 0 }

func weightedRowSumsArch(dst, w, rows []float32, dim int) int { return 0 }

func scoreRowsF16Arch(dst []float32, rows []uint16, q []float32, dim int, scale float32) int {
	return 0
}

func weightedRowSumsF16Arch(dst, w []float32, rows []uint16, dim int) int { return 0 }

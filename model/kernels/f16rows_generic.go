//go:build !amd64

package kernels

func dotRowsF16Arch(dst []float32, rows []uint16, x []float32) int { return 0 }

func weightedRowSumF16Arch(dst, w []float32, rows []uint16, dim int) int { return 0 }

//go:build !amd64

package kernels

func dotArch(a, b []float32) (int, float32)              { return len(a), dotGo(a, b) }
func axpyArch(dst []float32, a float32, x []float32) int { return 0 }
func scaleArch(x []float32, a float32) int               { return 0 }
func addArch(dst, x []float32) int                       { return 0 }
func mulScaleArch(dst, x, w []float32, s float32) int    { return 0 }

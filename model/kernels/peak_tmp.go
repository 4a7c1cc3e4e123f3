package kernels

func peakFMA512(n int)
func peakFMA256(n int)


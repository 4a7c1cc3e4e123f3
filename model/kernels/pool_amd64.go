package kernels

// spinPause executes PAUSE: a polite busy-wait step.
func spinPause()

//go:build !amd64

package kernels

import "runtime"

// spinPause yields the processor between checks of a busy-wait.
func spinPause() { runtime.Gosched() }

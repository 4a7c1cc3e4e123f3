//go:build !linux

package model_test

import "time"

// processCPUTime is not measured here: the CPU metric reads 0.
func processCPUTime() time.Duration { return 0 }

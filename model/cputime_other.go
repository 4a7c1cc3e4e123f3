//go:build !unix

package model

import "time"

// processCPU reports 0: this platform has no per-process CPU clock here.
func processCPU() time.Duration { return 0 }

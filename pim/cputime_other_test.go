//go:build !linux

package pim

import "time"

func threadCPUTime() time.Duration { return 0 }

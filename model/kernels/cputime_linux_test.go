package kernels

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime is the CPU time consumed by the calling OS thread. On a
// shared machine it excludes the time other processes held the core, which
// wall-clock ns/op does not.
func threadCPUTime() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

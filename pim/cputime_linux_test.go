package pim

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime is the CPU time consumed by the calling OS thread (the
// benchmarks that use it lock their goroutine to it): on a shared machine
// it leaves out the time other processes held the core.
func threadCPUTime() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

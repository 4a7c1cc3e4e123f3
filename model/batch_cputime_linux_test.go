package model_test

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPUTime is the CPU time all threads of the process have used. On
// a shared machine it excludes the time other processes held the cores,
// which wall-clock throughput does not.
func processCPUTime() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

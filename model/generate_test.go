package model_test

import (
	"context"
	"runtime"
	"testing"

	"starc/model"
)

// Generate reports the CPU seconds of prefill and decode: on a platform
// with a process CPU clock both are positive (the work took CPU) and at
// most the wall time times the CPUs the process may run on at once
// (GOMAXPROCS: the clock counts the whole process, the garbage collector and
// any parallel test included, not only the state's threads), plus the
// clock's granularity.
func TestGenerateReportsCPUTime(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no process CPU clock on", runtime.GOOS)
	}
	m, _ := stories(t)
	const threads = 2
	st := newState(t, m, 256, threads)
	prompt := make([]int, 200)
	for i := range prompt {
		prompt[i] = 1 + i%200
	}
	stats, err := model.Generate(context.Background(), m, st, prompt, model.GenerateOptions{MaxNew: 40},
		func(int) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	const slack = 0.02 // seconds: getrusage's tick on some kernels
	procs := runtime.GOMAXPROCS(0)
	for _, c := range []struct {
		name      string
		cpu, wall float64
	}{
		{"prefill", stats.PrefillCPUSeconds, stats.PrefillSeconds},
		{"decode", stats.DecodeCPUSeconds, stats.DecodeSeconds},
	} {
		if c.cpu <= 0 || c.cpu > c.wall*float64(procs)+slack {
			t.Errorf("%s: %.6f CPU seconds over %.6f s of wall time with GOMAXPROCS %d; want (0, wall·GOMAXPROCS]", c.name, c.cpu, c.wall, procs)
		}
	}
}

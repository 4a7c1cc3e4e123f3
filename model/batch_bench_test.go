package model_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"starc/model"
)

// BenchmarkBatchDecode measures aggregate decode throughput of SmolLM2-135M
// (full attention, 2 threads) at 2048-token contexts: "forward" is one
// sequence through Forward (today's path), "batchB" is B sequences through
// one Batch step. The prompt is prefilled once and every sequence restored
// from its snapshot; each sequence decodes up to 64 tokens past the prompt
// before it is restored again (outside the timer). tok/s counts tokens of
// all sequences; load1 is the load average at the end of the run (the
// machine is shared: compare ratios from one interleaved run, e.g.
// -count 5, whose sub-benchmarks alternate).
func BenchmarkBatchDecode(b *testing.B) {
	const context, ahead, threads = 2048, 64, 2
	m := loadSmolLM2(b)
	prompt := make([]int, context)
	for i := range prompt {
		prompt[i] = 100 + i%1000
	}
	src, err := model.NewState(m, model.StateOptions{MaxTokens: context, Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Prefill(src, prompt); err != nil {
		b.Fatal(err)
	}
	snap, err := src.Snapshot(nil)
	src.Close()
	if err != nil {
		b.Fatal(err)
	}
	newStates := func(n, threads int) []*model.State {
		states := make([]*model.State, n)
		for i := range states {
			if states[i], err = model.NewState(m, model.StateOptions{MaxTokens: context + ahead, Threads: threads, PrefillBlock: 1}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(states[i].Close)
		}
		return states
	}
	restore := func(states []*model.State) {
		for _, st := range states {
			if _, err := st.Restore(snap); err != nil {
				b.Fatal(err)
			}
		}
	}
	one := newStates(1, threads)[0]
	b.Run(fmt.Sprintf("ctx%d/forward", context), func(b *testing.B) {
		var cpu cpuMeter
		for i := 0; b.Loop(); i++ {
			if i%ahead == 0 {
				cpu.pause(b)
				restore([]*model.State{one})
				cpu.resume(b)
			}
			if _, err := m.Forward(one, 200); err != nil {
				b.Fatal(err)
			}
		}
		cpu.pause(b)
		reportThroughput(b, 1, cpu.total)
	})
	states := newStates(16, 1) // single-threaded: the batch runs their attention in parallel
	tokens := make([]int, len(states))
	for i := range tokens {
		tokens[i] = 200 + i
	}
	for _, size := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("ctx%d/batch%d", context, size), func(b *testing.B) {
			batch, err := model.NewBatch(m, size, threads)
			if err != nil {
				b.Fatal(err)
			}
			defer batch.Close()
			var cpu cpuMeter
			for i := 0; b.Loop(); i++ {
				if i%ahead == 0 {
					cpu.pause(b)
					restore(states[:size])
					cpu.resume(b)
				}
				if _, err := batch.Forward(states[:size], tokens[:size]); err != nil {
					b.Fatal(err)
				}
			}
			cpu.pause(b)
			reportThroughput(b, size, cpu.total)
		})
	}
}

// cpuMeter adds up the process CPU time of the timed parts of a
// benchmark, paused and resumed with its timer.
type cpuMeter struct {
	total, mark time.Duration
	running     bool
}

func (c *cpuMeter) pause(b *testing.B) {
	if c.running {
		c.total += processCPUTime() - c.mark
		c.running = false
	}
	b.StopTimer()
}

func (c *cpuMeter) resume(b *testing.B) {
	b.StartTimer()
	c.mark, c.running = processCPUTime(), true
}

// reportThroughput reports tokens/s for size sequences per iteration, the
// CPU milliseconds per token (all threads; on a loaded machine, the work
// itself) and the one-minute load average.
func reportThroughput(b *testing.B, size int, cpu time.Duration) {
	tokens := float64(b.N * size)
	b.ReportMetric(tokens/b.Elapsed().Seconds(), "tok/s")
	b.ReportMetric(cpu.Seconds()*1e3/tokens, "cpu-ms/tok")
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) > 0 {
			if load, err := strconv.ParseFloat(f[0], 64); err == nil {
				b.ReportMetric(load, "load1")
			}
		}
	}
}

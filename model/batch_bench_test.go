package model_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"starc/attention"
	"starc/model"
	"starc/pim"
)

// BenchmarkBatchDecode measures aggregate decode throughput of SmolLM2-135M
// (2 threads) at a 2048-token context, with full attention (the issue's
// setting) and with STARC at a budget of 256, and at a 512-token context
// with full attention: "forward" is one sequence through Forward (today's
// path), "batchB" is B sequences through one Batch step. The KV cache is
// attention.Dense's float32 rows, or with "-pim" in the name the PIM
// device's FP16 cells (every command's default store), one device per
// sequence, each closing its step's accounting (EndStep) after every
// token as the commands do; full attention skips two dense layers as the
// sparse methods do (the layers are all dense anyway). The prompt is
// prefilled once per context and every sequence restored from its
// snapshot; each decodes up to 64 tokens past the prompt before it is
// restored again, outside the timer, and its first step after a restore
// is not timed either (STARC clusters the prompt there). tok/s counts the tokens of all
// sequences, cpu-ms/tok is the CPU time of all threads per token (idle
// workers' spinning included; on a loaded machine, the work itself), load1
// the load average at the end of the case. The machine is shared: run the
// test binary several times (-count 1 each) so that the cases alternate,
// and compare medians of the ratios.
func BenchmarkBatchDecode(b *testing.B) {
	const ahead, threads = 64, 2
	m := loadSmolLM2(b)
	for _, c := range []struct {
		context int
		method  string
		budget  int
		device  bool
	}{{2048, "full", 0, false}, {2048, "full", 0, true}, {2048, "starc", 256, false}, {2048, "starc", 256, true}, {512, "full", 0, false}} {
		name := fmt.Sprintf("ctx%d", c.context)
		if c.device {
			name += "-pim"
		}
		name += "/" + c.method
		if c.budget > 0 {
			name += fmt.Sprintf("-%d", c.budget)
		}
		b.Run(name, func(b *testing.B) {
			benchmarkBatchDecode(b, m, c.context, ahead, threads, c.method, c.budget, c.device)
		})
	}
}

func benchmarkBatchDecode(b *testing.B, m *model.Model, context, ahead, threads int, method string, budget int, device bool) {
	prompt := make([]int, context)
	for i := range prompt {
		prompt[i] = 100 + i%1000
	}
	capacity := context + ahead + 1 // a restore, one untimed step, then ahead timed ones
	// newStore is a state's KV store: nil (Dense) or a device of its own.
	newStore := func() attention.Store {
		if !device {
			return nil
		}
		d, err := attention.NewPIM(pim.HBM3PIM(true), m.AttentionConfig(capacity), pim.LayoutGQA)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	src, err := model.NewState(m, model.StateOptions{MaxTokens: capacity, Threads: threads, Store: newStore(), Forkable: true})
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
			cfg := m.AttentionConfig(capacity)
			cfg.Budget, cfg.DenseLayers = budget, 2
			meth, err := attention.New(method, cfg)
			if err != nil {
				b.Fatal(err)
			}
			states[i], err = model.NewState(m, model.StateOptions{MaxTokens: capacity, Threads: threads,
				PrefillBlock: 1, Method: meth, DenseLayers: 2, Store: newStore()})
			if err != nil {
				b.Fatal(err)
			}
		}
		return states
	}
	// endSteps closes the step of every device store (as the commands do
	// after each token); nothing for Dense.
	endSteps := func(states []*model.State) {
		for _, st := range states {
			if d, ok := st.Store().(*attention.PIM); ok {
				d.EndStep()
			}
		}
	}
	closeAll := func(states []*model.State) {
		for _, st := range states {
			st.Close()
		}
	}
	restore := func(states []*model.State) {
		for _, st := range states {
			if _, err := st.Restore(snap); err != nil {
				b.Fatal(err)
			}
		}
	}
	one := newStates(1, threads)
	defer closeAll(one)
	b.Run("forward", func(b *testing.B) {
		var cpu cpuMeter
		for i := 0; b.Loop(); i++ {
			if i%ahead == 0 {
				cpu.pause(b)
				restore(one)
				if _, err := m.Forward(one[0], 200); err != nil { // STARC clusters here: not a steady step
					b.Fatal(err)
				}
				endSteps(one)
				cpu.resume(b)
			}
			if _, err := m.Forward(one[0], 200); err != nil {
				b.Fatal(err)
			}
			endSteps(one)
		}
		cpu.pause(b)
		reportThroughput(b, 1, cpu.total)
	})
	states := newStates(16, 1) // single-threaded: the batch runs their attention in parallel
	defer closeAll(states)
	tokens := make([]int, len(states))
	for i := range tokens {
		tokens[i] = 200 + i
	}
	for _, size := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("batch%d", size), func(b *testing.B) {
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
					if _, err := batch.Forward(states[:size], tokens[:size]); err != nil {
						b.Fatal(err)
					}
					endSteps(states[:size])
					cpu.resume(b)
				}
				if _, err := batch.Forward(states[:size], tokens[:size]); err != nil {
					b.Fatal(err)
				}
				endSteps(states[:size])
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
		c.total += model.ProcessCPUTime() - c.mark
		c.running = false
	}
	b.StopTimer()
}

func (c *cpuMeter) resume(b *testing.B) {
	b.StartTimer()
	c.mark, c.running = model.ProcessCPUTime(), true
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

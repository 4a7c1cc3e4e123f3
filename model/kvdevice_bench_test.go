package model_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/model/kernels"
	"starc/tokenizer"
)

// BenchmarkDecodeKVDevice compares decode speed with the KV cache in the
// PIM device (FP16 rows read in place) and in the dense float32 host
// cache, for SmolLM2-135M-Instruct at 2 threads: contexts of 512, 2048 and
// 8000 tokens of Pride and Prejudice, full attention and STARC at a budget
// of 256 (2 dense layers). Each store is prefilled once per context and
// forked into each method; then the two stores decode greedily in
// alternation, chunk after chunk (dense, device, dense, device, ...), so
// both see the same machine load. It reports the median tokens/s of each
// store and their ratio, and logs every chunk with the load average. On a
// loaded machine wall time mostly measures the scheduler's share, so it
// also reports the process CPU time per token (both threads, the worker
// pool's waits included) and the speed ratio it gives. Heavy (minutes,
// mostly the 8000-token prefills): run with -benchtime 1x.
func BenchmarkDecodeKVDevice(b *testing.B) {
	const threads, denseLayers = 2, 2
	m := loadSmolLM2(b)
	tok, err := tokenizer.Load(filepath.Join(testenv.DefaultModel(b), "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	text, err := os.ReadFile(testenv.Shared(b, "data/pg1342_pride_and_prejudice.txt"))
	if err != nil {
		b.Fatal(err)
	}
	ids := tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	cells := []struct {
		method string
		budget int
	}{{"full", 0}, {"starc", 256}}
	for _, ctx := range []int{512, 2048, 8000} {
		b.Run(fmt.Sprintf("ctx%d", ctx), func(b *testing.B) {
			capacity := ctx + kvReps*kvChunk + 1
			newState := func(kv, method string, budget int) *model.State {
				return newMethodState(b, m, kv, capacity, threads, method, budget, denseLayers, true)
			}
			for range b.N {
				snaps := map[string]*model.Snapshot{}
				for _, kv := range []string{"dense", "pim"} {
					st := newState(kv, "full", 0)
					if _, err := m.Prefill(st, ids[:ctx]); err != nil {
						b.Fatal(err)
					}
					if snaps[kv], err = st.Snapshot(nil); err != nil {
						b.Fatal(err)
					}
					st.Close()
				}
				for _, c := range cells {
					name := c.method
					if c.budget > 0 {
						name += fmt.Sprint(c.budget)
					}
					var dense, device decodeRun
					for _, r := range []struct {
						run *decodeRun
						kv  string
					}{{&dense, "dense"}, {&device, "pim"}} {
						st := newState(r.kv, c.method, c.budget)
						logits, err := st.Restore(snaps[r.kv])
						if err != nil {
							b.Fatal(err)
						}
						*r.run = decodeRun{m: m, st: st, next: kernels.Argmax(logits)}
					}
					compareDecode(b, name, &dense, &device)
					dense.st.Close()
					device.st.Close()
				}
			}
		})
	}
}

// kvReps chunks of kvChunk tokens are decoded by each store.
const kvReps, kvChunk = 15, 8

// compareDecode decodes kvReps chunks with each run in alternation and
// reports the medians.
func compareDecode(b *testing.B, name string, dense, device *decodeRun) {
	var rate, cpu [2][]float64 // [dense, device][rep]
	var ratios []float64
	for rep := range kvReps {
		load := kvLoadAverage()
		for i, r := range []*decodeRun{dense, device} {
			tokS, cpuMS := r.decode(b, kvChunk)
			rate[i], cpu[i] = append(rate[i], tokS), append(cpu[i], cpuMS)
		}
		ratios = append(ratios, rate[1][rep]/rate[0][rep])
		b.Logf("%s rep %d: dense %.1f tok/s %.1f CPU ms/tok, device %.1f tok/s %.1f CPU ms/tok (load %s)",
			name, rep, rate[0][rep], cpu[0][rep], rate[1][rep], cpu[1][rep], load)
	}
	if !slices.Equal(dense.ids, device.ids) {
		b.Logf("%s: the greedy tokens differ (FP16 rounding): dense %v, device %v", name, dense.ids, device.ids)
	}
	d, p := kvMedian(rate[0]), kvMedian(rate[1])
	cd, cp := kvMedian(cpu[0]), kvMedian(cpu[1])
	b.Logf("%s: median dense %.2f tok/s, device %.2f tok/s: ratio of medians %.3f, median of paired ratios %.3f; "+
		"CPU per token dense %.1f ms, device %.1f ms: ratio %.3f (load after: %s)",
		name, d, p, p/d, kvMedian(ratios), cd, cp, cd/cp, kvLoadAverage())
	b.ReportMetric(d, name+"/dense-tok/s")
	b.ReportMetric(p, name+"/device-tok/s")
	b.ReportMetric(p/d, name+"/device/dense")
	b.ReportMetric(cd/cp, name+"/device/dense-by-cpu")
}

// decodeRun is one greedy sequence decoded in chunks.
type decodeRun struct {
	m    *model.Model
	st   *model.State
	next int
	ids  []int
}

// decode generates n tokens and returns the rate in tokens/s and the
// process CPU time per token in ms.
func (r *decodeRun) decode(b *testing.B, n int) (tokS, cpuMS float64) {
	dev, _ := r.st.Store().(*attention.PIM)
	c0, t0 := kvProcessCPU(), time.Now()
	for range n {
		r.ids = append(r.ids, r.next)
		logits, err := r.m.Forward(r.st, r.next)
		if err != nil {
			b.Fatal(err)
		}
		if dev != nil {
			dev.EndStep()
		}
		r.next = kernels.Argmax(logits)
	}
	wall := time.Since(t0)
	return float64(n) / wall.Seconds(), float64(kvProcessCPU()-c0) / 1e6 / float64(n)
}

// kvProcessCPU is the user + system CPU time of the process so far.
func kvProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func kvMedian(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func kvLoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

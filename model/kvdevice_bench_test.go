package model_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/model/kernels"
	"starc/pim"
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
// store, the ratio of the medians, and logs every chunk with the load
// average. Heavy (minutes, mostly the 8000-token prefills): run with
// -benchtime 1x.
func BenchmarkDecodeKVDevice(b *testing.B) {
	const threads, denseLayers, chunk, reps = 2, 2, 8, 7
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
	type cell struct {
		method string
		budget int
	}
	cells := []cell{{"full", 0}, {"starc", 256}}
	for _, ctx := range []int{512, 2048, 8000} {
		b.Run(fmt.Sprintf("ctx%d", ctx), func(b *testing.B) {
			capacity := ctx + reps*chunk + 1
			newState := func(kv, method string, budget int) *model.State {
				c := m.AttentionConfig(capacity)
				c.Budget, c.DenseLayers = budget, denseLayers
				meth, err := attention.New(method, c)
				if err != nil {
					b.Fatal(err)
				}
				opt := model.StateOptions{MaxTokens: capacity, Threads: threads, Method: meth, DenseLayers: denseLayers, Forkable: true}
				if kv == "pim" {
					if opt.Store, err = attention.NewPIM(pim.HBM3PIM(true), c, pim.LayoutGQA); err != nil {
						b.Fatal(err)
					}
				}
				st, err := model.NewState(m, opt)
				if err != nil {
					b.Fatal(err)
				}
				return st
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
						name += fmt.Sprintf("%d", c.budget)
					}
					run := map[string]*decodeRun{}
					for _, kv := range []string{"dense", "pim"} {
						st := newState(kv, c.method, c.budget)
						logits, err := st.Restore(snaps[kv])
						if err != nil {
							b.Fatal(err)
						}
						run[kv] = &decodeRun{m: m, st: st, next: kernels.Argmax(logits)}
					}
					var rates = map[string][]float64{}
					var ratios []float64
					for rep := range reps {
						load := kvLoadAverage()
						for _, kv := range []string{"dense", "pim"} {
							rates[kv] = append(rates[kv], run[kv].decode(b, chunk))
						}
						ratios = append(ratios, rates["pim"][rep]/rates["dense"][rep])
						b.Logf("%s rep %d: dense %.1f tok/s, device %.1f tok/s (load %s)", name, rep, rates["dense"][rep], rates["pim"][rep], load)
					}
					if !slices.Equal(run["dense"].ids, run["pim"].ids) {
						b.Logf("%s: greedy tokens differ between the stores (FP16 rounding): dense %v, device %v", name, run["dense"].ids, run["pim"].ids)
					}
					d, p := kvMedian(rates["dense"]), kvMedian(rates["pim"])
					b.Logf("%s: median dense %.2f tok/s, device %.2f tok/s, ratio of medians %.3f, median of paired ratios %.3f (load after: %s)",
						name, d, p, p/d, kvMedian(ratios), kvLoadAverage())
					b.ReportMetric(d, name+"/dense-tok/s")
					b.ReportMetric(p, name+"/device-tok/s")
					b.ReportMetric(p/d, name+"/device/dense")
					for _, r := range run {
						r.st.Close()
					}
				}
			}
		})
	}
}

// decodeRun is one greedy sequence decoded in chunks.
type decodeRun struct {
	m    *model.Model
	st   *model.State
	next int
	ids  []int
}

// decode generates n tokens and returns the rate in tokens/s.
func (r *decodeRun) decode(b *testing.B, n int) float64 {
	dev, _ := r.st.Store().(*attention.PIM)
	t0 := time.Now()
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
	return float64(n) / time.Since(t0).Seconds()
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

package model_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"starc/internal/testenv"
	"starc/model"
	"starc/model/kernels"
	"starc/tokenizer"
)

// BenchmarkSparseDecode8K is issue 11's side-by-side measure of sparse
// decode (SmolLM2-135M-Instruct, 2 threads, dense host KV cache, 2 dense
// layers): full attention at a 512-token context against full, starc,
// quest and topk at budget 256 at an 8000-token context of Pride and
// Prejudice. Each context is prefilled once (full attention, forkable) and
// restored into every cell; the cells then decode greedily in chunks of
// sparseChunk tokens, one chunk per cell in turn, sparseReps rounds, so all
// cells see the same machine load. It reports each cell's median tok/s and
// the ratios of time per token (a cell's over full@512's, and
// topk's over full@8000's), from the medians and as the median of the
// per-round ratios, and logs every round with the load average.
//
// It also measures STARC's clustering at the end of the 8000-token prefill
// (issue 11 item 3): the first decode step of the starc cell clusters the
// whole prefill (every 64-token window of every sparse layer and KV head),
// so its cost is that step's time less the cell's median time per token,
// reported against the prefill's time (wall and process CPU).
//
// STARC_SPARSE_CELLS=starc256,full512 runs only the named cells;
// STARC_SPARSE_PROFILE=DIR writes a CPU profile of each cell's decode
// chunks, DIR/<cell>-<round>.prof (read them together: go tool pprof -top
// model.test DIR/starc256-*.prof). Heavy (two prefills, about a minute on 2 idle cores): run with
// -benchtime 1x.
func BenchmarkSparseDecode8K(b *testing.B) {
	const threads, denseLayers, long, short = 2, 2, 8000, 512
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
	if len(ids) < long {
		b.Fatalf("%d tokens of text, want %d", len(ids), long)
	}
	type cell struct {
		name   string
		method string
		budget int
		ctx    int
	}
	cells := []cell{
		{"full512", "full", 0, short},
		{"full8000", "full", 0, long},
		{"starc256", "starc", 256, long},
		{"quest256", "quest", 256, long},
		{"topk256", "topk", 256, long},
	}
	if only := os.Getenv("STARC_SPARSE_CELLS"); only != "" {
		want := strings.Split(only, ",")
		cells = slices.DeleteFunc(cells, func(c cell) bool { return !slices.Contains(want, c.name) })
	}
	capacity := long + sparseReps*sparseChunk + 2
	for range b.N {
		// Prefill each context once.
		snaps := map[int]*model.Snapshot{}
		var prefill8K [2]time.Duration // wall, CPU
		for _, ctx := range []int{short, long} {
			if !slices.ContainsFunc(cells, func(c cell) bool { return c.ctx == ctx }) {
				continue
			}
			st := newMethodState(b, m, "dense", capacity, threads, "full", 0, denseLayers, true)
			c0, t0 := kvProcessCPU(), time.Now()
			if _, err := m.Prefill(st, ids[:ctx]); err != nil {
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), kvProcessCPU()-c0
			b.Logf("prefill %d tokens: %.2f s wall, %.2f s CPU (load %s)", ctx, wall.Seconds(), cpu.Seconds(), kvLoadAverage())
			if ctx == long {
				b.ReportMetric(wall.Seconds(), "prefill8000-s")
				prefill8K = [2]time.Duration{wall, cpu}
			}
			if snaps[ctx], err = st.Snapshot(nil); err != nil {
				b.Fatal(err)
			}
			st.Close()
		}
		// Restore every cell and take its first step (STARC clusters there).
		runs := make([]*decodeRun, len(cells))
		first := make([][2]time.Duration, len(cells)) // wall, CPU of the first step
		for i, c := range cells {
			st := newMethodState(b, m, "dense", capacity, threads, c.method, c.budget, denseLayers, true)
			logits, err := st.Restore(snaps[c.ctx])
			if err != nil {
				b.Fatal(err)
			}
			runs[i] = &decodeRun{m: m, st: st, next: kernels.Argmax(logits)}
			c0, t0 := kvProcessCPU(), time.Now()
			runs[i].decode(b, 1)
			first[i] = [2]time.Duration{time.Since(t0), kvProcessCPU() - c0}
		}
		// Decode, interleaved.
		rate := make([][]float64, len(cells))
		cpu := make([][]float64, len(cells))
		for rep := range sparseReps {
			var line strings.Builder
			for i, c := range cells {
				stop := sparseProfile(b, c.name, rep)
				tokS, cpuMS := runs[i].decode(b, sparseChunk)
				stop()
				rate[i], cpu[i] = append(rate[i], tokS), append(cpu[i], cpuMS)
				fmt.Fprintf(&line, " %s %.1f tok/s %.1f CPU ms/tok,", c.name, tokS, cpuMS)
			}
			b.Logf("rep %d:%s load %s", rep, line.String(), kvLoadAverage())
		}
		index := func(name string) int {
			return slices.IndexFunc(cells, func(c cell) bool { return c.name == name })
		}
		for i, c := range cells {
			med := kvMedian(rate[i])
			b.ReportMetric(med, c.name+"-tok/s")
			b.Logf("%s: median %.2f tok/s, %.2f ms/token, %.2f CPU ms/token", c.name, med, 1e3/med, kvMedian(cpu[i]))
		}
		// Time per token relative to a reference cell: rate(ref)/rate(cell).
		ratio := func(cellName, refName string) {
			i, r := index(cellName), index(refName)
			if i < 0 || r < 0 {
				return
			}
			var paired []float64
			for rep := range rate[i] {
				paired = append(paired, rate[r][rep]/rate[i][rep])
			}
			med := kvMedian(rate[r]) / kvMedian(rate[i])
			b.ReportMetric(med, cellName+"/"+refName+"-time")
			b.Logf("time per token %s / %s: %.3f (medians), %.3f (median of paired rounds); CPU %.3f",
				cellName, refName, med, kvMedian(paired), kvMedian(cpu[i])/kvMedian(cpu[r]))
		}
		ratio("starc256", "full512")
		ratio("quest256", "full512")
		ratio("topk256", "full512")
		ratio("full8000", "full512")
		ratio("topk256", "full8000")
		if i := index("starc256"); i >= 0 {
			step := time.Duration(1e9 / kvMedian(rate[i]))
			stepCPU := time.Duration(kvMedian(cpu[i]) * 1e6)
			kmWall, kmCPU := first[i][0]-step, first[i][1]-stepCPU
			b.Logf("starc first step (clusters the prefill): %.3f s wall, %.3f s CPU; less a median step: "+
				"clustering %.3f s wall = %.1f%% of the 8000-token prefill, %.3f s CPU = %.1f%% of its CPU",
				first[i][0].Seconds(), first[i][1].Seconds(), kmWall.Seconds(),
				100*kmWall.Seconds()/prefill8K[0].Seconds(), kmCPU.Seconds(), 100*kmCPU.Seconds()/prefill8K[1].Seconds())
			b.ReportMetric(100*kmWall.Seconds()/prefill8K[0].Seconds(), "kmeans-%prefill")
		}
		b.Logf("load after: %s", kvLoadAverage())
		for _, r := range runs {
			r.st.Close()
		}
	}
}

// sparseReps rounds of sparseChunk tokens are decoded by each cell.
const sparseReps, sparseChunk = 15, 8

// sparsePrefill is the wall and CPU time of the last 8000-token prefill.
var sparsePrefill [2]time.Duration

// sparseProfile starts a CPU profile of one cell's chunk when
// STARC_SPARSE_PROFILE names a directory, and returns what stops it.
func sparseProfile(b *testing.B, cell string, rep int) (stop func()) {
	dir := os.Getenv("STARC_SPARSE_PROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%02d.prof", cell, rep)))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

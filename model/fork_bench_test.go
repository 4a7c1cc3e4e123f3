package model_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/model/kernels"
	"starc/tokenizer"
)

// BenchmarkForkVersusReprefill measures issue 8's run of one sample on
// SmolLM2-135M-Instruct: a 2048-token prompt (Pride and Prejudice), then 16
// greedy tokens in each of 7 methods × budgets 128/256/512 (2 dense layers,
// the released default), at 2 threads, with the KV cache dense or in the
// PIM device (kv=dense, kv=pim). "fork"
// prefills once and restores the snapshot into each cell; "reprefill"
// prefills again in each cell. Cell states are built outside the timed
// spans (one at a time, to bound memory), so the metrics are prefill,
// snapshot, restore and decode only (ns/op also counts building them).
// Both runs must produce the same tokens in every cell. Heavy (about a
// minute per iteration on 2 cores): run with -benchtime 1x.
func BenchmarkForkVersusReprefill(b *testing.B) {
	for _, kv := range []string{"dense", "pim"} {
		b.Run("kv="+kv, func(b *testing.B) { benchmarkFork(b, kv) })
	}
}

func benchmarkFork(b *testing.B, kv string) {
	m := loadSmolLM2(b)
	dir := testenv.DefaultModel(b)
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	text, err := os.ReadFile(testenv.Shared(b, "data/pg1342_pride_and_prejudice.txt"))
	if err != nil {
		b.Fatal(err)
	}
	const promptLen, decode, threads, denseLayers = 2048, 16, 2, 2
	ids := tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if len(ids) < promptLen {
		b.Fatalf("%d tokens of text, want %d", len(ids), promptLen)
	}
	prompt := ids[:promptLen]
	capacity := promptLen + decode
	type cell struct {
		method string
		budget int
	}
	var cells []cell
	for _, method := range attention.Names() {
		for _, budget := range []int{128, 256, 512} {
			cells = append(cells, cell{method, budget})
		}
	}
	newState := func(method string, budget int) *model.State {
		return newMethodState(b, m, kv, capacity, threads, method, budget, denseLayers, true)
	}
	greedy := func(st *model.State, logits []float32) []int {
		var out []int
		for range decode {
			id := kernels.Argmax(logits)
			out = append(out, id)
			var err error
			if logits, err = m.Forward(st, id); err != nil {
				b.Fatal(err)
			}
		}
		return out
	}
	var forkTime, reprefillTime, prefillTime, restoreTime time.Duration
	var snapBytes int64
	for range b.N {
		src := newState("full", 0)
		forked := make([][]int, len(cells))
		t0 := time.Now()
		if _, err := m.Prefill(src, prompt); err != nil {
			b.Fatal(err)
		}
		snap, err := src.Snapshot(nil)
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(t0)
		prefillTime += elapsed
		snapBytes = snap.Bytes()
		src.Close()
		for i, c := range cells {
			st := newState(c.method, c.budget)
			t1 := time.Now()
			logits, err := st.Restore(snap)
			if err != nil {
				b.Fatal(err)
			}
			restoreTime += time.Since(t1)
			forked[i] = greedy(st, logits)
			elapsed += time.Since(t1)
			st.Close()
		}
		forkTime += elapsed
		elapsed = 0
		for i, c := range cells {
			st := newState(c.method, c.budget)
			t1 := time.Now()
			logits, err := m.Prefill(st, prompt)
			if err != nil {
				b.Fatal(err)
			}
			got := greedy(st, logits)
			elapsed += time.Since(t1)
			st.Close()
			if !slices.Equal(got, forked[i]) {
				b.Fatalf("%s/%d: re-prefilled tokens %v, forked %v", c.method, c.budget, got, forked[i])
			}
		}
		reprefillTime += elapsed
	}
	n := float64(b.N)
	b.ReportMetric(forkTime.Seconds()/n, "fork_s/sample")
	b.ReportMetric(reprefillTime.Seconds()/n, "reprefill_s/sample")
	b.ReportMetric(reprefillTime.Seconds()/forkTime.Seconds(), "speedup")
	b.ReportMetric(prefillTime.Seconds()/n, "prefill+snapshot_s")
	b.ReportMetric(restoreTime.Seconds()*1e3/n/float64(len(cells)), "restore_ms/cell")
	b.ReportMetric(float64(snapBytes)/1e6, "snapshot_MB")
	b.Logf("%d cells (%s): fork %.1f s/sample, re-prefill %.1f s/sample", len(cells), fmt.Sprint(cells), forkTime.Seconds()/n, reprefillTime.Seconds()/n)
}

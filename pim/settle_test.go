package pim

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// settleStore is a small GQA store with every slot written, and a reader
// of fresh random patterns (new shapes, so that reads stay pending).
func settleStore(t *testing.T) (*KVStore, func(layer, kvHead int)) {
	t.Helper()
	shape := KVShape{Layers: 4, KVHeads: 3, QueryHeads: 9, HeadDim: 64, MaxTokens: 2400}
	st, err := NewKVStore(HBM3PIM(true), shape, LayoutGQA)
	if err != nil {
		t.Fatal(err)
	}
	vec := make([]float32, shape.HeadDim)
	for l := range shape.Layers {
		for h := range shape.KVHeads {
			for s := range shape.MaxTokens {
				st.Write(l, h, s, vec, vec)
			}
		}
	}
	st.EndStep()
	rng := rand.New(rand.NewPCG(1, 2))
	var slots []int
	read := func(layer, kvHead int) {
		slots = slots[:0]
		for _, g := range starcLikeGroups(rng, ceilDiv(shape.MaxTokens, 16)) {
			slots = append(slots, g*16)
		}
		st.Charge(layer, kvHead, slots)
	}
	return st, read
}

// A store's settler has stopped when EndStep returns, and a store dropped
// in the middle of a step with layers handed over leaves no goroutine
// behind.
func TestSettlerLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		st, read := settleStore(t)
		for l := range st.shape.Layers {
			for h := range st.shape.KVHeads {
				read(l, h)
			}
		}
		if st.EndStep(); st.settler.running || len(st.settler.queue) > 0 {
			t.Fatalf("settler running %v with %d layers queued after EndStep", st.settler.running, len(st.settler.queue))
		}
		for l := range st.shape.Layers { // dropped with every layer handed over
			for h := range st.shape.KVHeads {
				read(l, h)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines 10 s after dropping the stores, %d before them", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// Handing a layer to the settler and waiting for it allocates nothing
// (the goroutine's function is made once), once the layer's reads have
// been through the engine.
func TestHandOffAllocatesNothing(t *testing.T) {
	st, read := settleStore(t)
	for h := range st.shape.KVHeads {
		read(0, h) // the last KV head hands the layer over
	}
	if !st.handed[0] || len(st.pending[0]) == 0 {
		t.Fatalf("layer 0 not handed over with pending reads (handed %v, %d pending)", st.handed[0], len(st.pending[0]))
	}
	st.wait()
	want := st.latency[0]
	if a := testing.AllocsPerRun(100, func() {
		st.reopen(0)
		st.handOff(0)
		st.wait()
	}); a != 0 {
		t.Errorf("reopen, handOff and wait allocate %v times, want 0", a)
	}
	if st.latency[0] != want {
		t.Errorf("layer 0 settled again to %d cycles, first %d", st.latency[0], want)
	}
}

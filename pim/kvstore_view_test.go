package pim

import (
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

// Keys and Values are the stored FP16 bits in place: each slot holds the
// x448/float16 rounding of what was written there last (Move included),
// and reading them charges nothing.
func TestKVStoreViewsAreTheStoredBits(t *testing.T) {
	shape := smolShape(300)
	st := newStore(t, shape, LayoutGQA)
	rng := rand.New(rand.NewPCG(3, 4))
	d := shape.HeadDim
	want := map[[3]int][2][]float32{} // (layer, head, slot) → k, v written
	for slot := range 200 {
		for l := range shape.Layers {
			for g := range shape.KVHeads {
				k, v := randVec(rng, d), randVec(rng, d)
				st.Write(l, g, slot, k, v)
				want[[3]int{l, g, slot}] = [2][]float32{k, v}
			}
		}
	}
	// Swap two clusters of slots in one head.
	from, to := []int{10, 11, 12, 40, 41}, []int{40, 41, 12, 10, 11}
	moved := map[int][2][]float32{}
	for n, f := range from {
		moved[to[n]] = want[[3]int{1, 2, f}]
	}
	st.Move(1, 2, from, to)
	for s, kv := range moved {
		want[[3]int{1, 2, s}] = kv
	}
	before := st.EndStep()
	for key, kv := range want {
		l, g, slot := key[0], key[1], key[2]
		keys, values := st.Keys(l, g), st.Values(l, g)
		if len(keys) != st.Len(l, g)*d || cap(keys) != len(keys) || len(values) != len(keys) {
			t.Fatalf("layer %d head %d: view len %d cap %d (values %d), want %d", l, g, len(keys), cap(keys), len(values), st.Len(l, g)*d)
		}
		for i := range d {
			if wk := float16.Fromfloat32(kv[0][i]).Bits(); keys[slot*d+i] != wk {
				t.Fatalf("layer %d head %d slot %d key[%d] = %#04x, want %#04x", l, g, slot, i, keys[slot*d+i], wk)
			}
			if wv := float16.Fromfloat32(kv[1][i]).Bits(); values[slot*d+i] != wv {
				t.Fatalf("layer %d head %d slot %d value[%d] = %#04x, want %#04x", l, g, slot, i, values[slot*d+i], wv)
			}
		}
	}
	if after := st.EndStep(); after.EnergyPJ != 0 || after.Reads != 0 || after.Commands != (CommandCounts{}) {
		t.Errorf("reading the views charged %+v (the step before: %+v)", after, before)
	}
}

// Charge is Read without the copy: the same step report, command for
// command, for the same slots.
func TestKVStoreChargeEqualsRead(t *testing.T) {
	shape := smolShape(600)
	rng := rand.New(rand.NewPCG(5, 6))
	reader, charger := newStore(t, shape, LayoutAttAcc), newStore(t, shape, LayoutAttAcc)
	d := shape.HeadDim
	for slot := range 500 {
		for l := range shape.Layers {
			for g := range shape.KVHeads {
				k, v := randVec(rng, d), randVec(rng, d)
				reader.Write(l, g, slot, k, v)
				charger.Write(l, g, slot, k, v)
			}
		}
	}
	dk, dv := make([]float32, 500*d), make([]float32, 500*d)
	for step := range 5 {
		for l := range shape.Layers {
			for g := range shape.KVHeads {
				var slots []int
				for s := range 500 {
					if rng.IntN(4) == 0 || s < 3*step {
						slots = append(slots, s)
					}
				}
				reader.Read(l, g, slots, dk, dv)
				charger.Charge(l, g, slots)
			}
		}
		if r, c := reader.EndStep(), charger.EndStep(); r != c {
			t.Fatalf("step %d: Read charged %+v, Charge %+v", step, r, c)
		}
	}
}

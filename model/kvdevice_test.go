package model_test

import (
	"testing"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/pim"
	"starc/weights"
)

// TestForwardAllocatesNothing with the KV cache in the PIM device
// (SmolLM2-135M: stories260K's head dim of 8 does not fit the device's
// columns), at 2 threads, for every method. The device's cost model builds
// a simulated device the first time it meets an access shape, so the
// measured tokens are ones whose shapes it has met: full attention inside
// one 16-slot row group, and the same for the sparse methods at a budget
// covering the context.
func TestForwardOnDeviceAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("loads SmolLM2-135M")
	}
	ckpt, err := weights.OpenCheckpoint(testenv.DefaultModel(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	const capacity, prompt = 400, 320
	ids := make([]int, prompt)
	for i := range ids {
		ids[i] = 100 + i%1000
	}
	for _, name := range attention.Names() {
		t.Run(name, func(t *testing.T) {
			c := m.AttentionConfig(capacity)
			c.Budget, c.DenseLayers = capacity, 2
			if name == "full" {
				c.Budget = 0
			}
			meth, err := attention.New(name, c)
			if err != nil {
				t.Fatal(err)
			}
			device, err := attention.NewPIM(pim.HBM3PIM(true), c, pim.LayoutGQA)
			if err != nil {
				t.Fatal(err)
			}
			st, err := model.NewState(m, model.StateOptions{MaxTokens: capacity, Threads: 2, Method: meth, Store: device, DenseLayers: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := m.Prefill(st, ids); err != nil {
				t.Fatal(err)
			}
			step := func() {
				if _, err := m.Forward(st, 261); err != nil {
					t.Fatal(err)
				}
				device.EndStep()
			}
			step() // slots 0..320: row groups 0..20, shapes costed once
			if a := testing.AllocsPerRun(10, step); a != 0 {
				t.Errorf("Forward allocates %.1f times per token with the KV cache in the device, want 0", a)
			}
		})
	}
}

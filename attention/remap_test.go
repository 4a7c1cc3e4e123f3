package attention

import (
	"math/rand/v2"
	"testing"

	"starc/pim"
)

// STARC's remap is physical: after decoding with the KV cache in the device,
// reading the device back slot by slot finds every cluster's key vectors in
// consecutive slots (so in the same or adjacent device rows), each slot
// holding exactly the FP16 key of the token the engine maps there; and the
// attention output equals the one computed over the original token order.
func TestSTARCRemapIsPhysicalInTheDevice(t *testing.T) {
	cfg := Config{Layers: 2, QueryHeads: 4, KVHeads: 2, HeadDim: 64, MaxTokens: 512, Budget: 96, DenseLayers: 1}
	method, err := New("starc", cfg)
	if err != nil {
		t.Fatal(err)
	}
	device, err := NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(cfg, device, method, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	vec := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	qd, kvd, hd := cfg.QueryHeads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim, cfg.HeadDim
	keys := make([][]float32, cfg.MaxTokens) // layer 1's keys by position
	values := make([][]float32, cfg.MaxTokens)
	const prompt = 150
	for l := range cfg.Layers {
		k, v := vec(prompt*kvd), vec(prompt*kvd)
		e.Prefill(l, 0, prompt, vec(prompt*qd), k, v, make([]float32, prompt*qd))
		if l == 1 {
			for p := range prompt {
				keys[p], values[p] = k[p*kvd:(p+1)*kvd], v[p*kvd:(p+1)*kvd]
			}
		}
	}
	for pos := prompt; pos < 400; pos++ {
		for l := range cfg.Layers {
			q, k, v := vec(qd), vec(kvd), vec(kvd)
			out := make([]float32, qd)
			e.Decode(l, pos, q, k, v, out)
			if l == 1 {
				keys[pos], values[pos] = k, v
				checkAgainstOriginalOrder(t, e, q, keys, values, out, pos+1)
			}
		}
	}
	s := method.(*starc)
	kBuf, vBuf := make([]float32, hd), make([]float32, hd)
	moved := 0
	for g := range cfg.KVHeads {
		grp := &s.groups[s.shape.group(1, g)]
		if grp.windows < 5 {
			t.Fatalf("KV head %d: only %d windows clustered", g, grp.windows)
		}
		for c := range grp.start {
			lo, hi := int(grp.start[c]), int(grp.start[c]+grp.size[c])
			for slot := lo; slot < hi; slot++ {
				pos := int(grp.posAt[slot])
				if pos != slot {
					moved++
				}
				if e.SlotOf(1, g, pos) != slot {
					t.Fatalf("KV head %d cluster %d: STARC puts token %d in slot %d, the engine in %d", g, c, pos, slot, e.SlotOf(1, g, pos))
				}
				device.Read(1, g, []int{slot}, kBuf, vBuf)
				for i := range hd {
					if kBuf[i] != pim.F16Round(keys[pos][g*hd+i]) || vBuf[i] != pim.F16Round(values[pos][g*hd+i]) {
						t.Fatalf("KV head %d cluster %d slot %d: the device holds another vector than token %d's", g, c, slot, pos)
					}
				}
				if slot > lo && device.Device().SlotRow(1, g, slot) < device.Device().SlotRow(1, g, slot-1) {
					t.Fatalf("KV head %d cluster %d: slot %d sits in an earlier row than slot %d", g, c, slot, slot-1)
				}
			}
		}
	}
	if moved == 0 {
		t.Fatal("no token left its original slot: the remap was not exercised")
	}
	t.Logf("%d clustered tokens of layer 1 sit in a slot other than their position", moved)
}

// checkAgainstOriginalOrder recomputes layer 1's attention for every query
// head over the selected tokens in original order from the original
// vectors (FP16-rounded, as the device stores them).
func checkAgainstOriginalOrder(t *testing.T, e *Engine, q []float32, keys, values [][]float32, out []float32, n int) {
	t.Helper()
	c := e.cfg
	hd := c.HeadDim
	for h := range c.QueryHeads {
		g := h / c.GroupSize()
		sel := e.sel[h]
		var k, v []float32
		mark := make([]bool, n)
		for _, p := range sel {
			mark[p] = true
		}
		rows := []int{}
		for p := range n {
			if mark[p] {
				for i := range hd {
					k = append(k, pim.F16Round(keys[p][g*hd+i]))
					v = append(v, pim.F16Round(values[p][g*hd+i]))
				}
				rows = append(rows, len(rows))
			}
		}
		want := make([]float32, hd)
		attendRows(want, q[h*hd:(h+1)*hd], k, v, rows, hd, e.task.scale, make([]float32, n), make([]float32, n*hd), make([]float32, n*hd))
		for i := range want {
			if out[h*hd+i] != want[i] {
				t.Fatalf("head %d at %d tokens: output %v, original order %v", h, n, out[h*hd+i], want[i])
			}
		}
	}
}

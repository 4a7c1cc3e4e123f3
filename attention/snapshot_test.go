package attention

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"starc/pim"
)

// forkShape is a small GQA shape the PIM device can hold (HeadDim 64: one
// FP16 vector fills the columns of a bank group).
var forkShape = Config{Layers: 3, QueryHeads: 4, KVHeads: 2, HeadDim: 64, MaxTokens: 256}

const (
	forkPrompt = 160 // prefilled in blocks of forkBlock: STARC clusters 3 windows at the first step
	forkBlock  = 100
	forkSteps  = 70 // past STARC's first recluster (64 buffered tokens)
)

// forkData is a synthetic prompt (post-RoPE q, k, v per layer) and the
// q, k, v of each decode step.
type forkData struct {
	q, k, v    [][]float32   // [layer][forkPrompt*dim]
	dq, dk, dv [][][]float32 // [step][layer][dim]
}

func newForkData(c Config, seed uint64) *forkData {
	rng := rand.New(rand.NewPCG(seed, 11))
	qd, kvd := c.QueryHeads*c.HeadDim, c.KVHeads*c.HeadDim
	d := &forkData{}
	for range c.Layers {
		d.q = append(d.q, gaussianVector(rng, forkPrompt*qd))
		d.k = append(d.k, gaussianVector(rng, forkPrompt*kvd))
		d.v = append(d.v, gaussianVector(rng, forkPrompt*kvd))
	}
	for range forkSteps {
		var q, k, v [][]float32
		for range c.Layers {
			q, k, v = append(q, gaussianVector(rng, qd)), append(k, gaussianVector(rng, kvd)), append(v, gaussianVector(rng, kvd))
		}
		d.dq, d.dk, d.dv = append(d.dq, q), append(d.dk, k), append(d.dv, v)
	}
	return d
}

// prefill runs the prompt through e block by block, layer by layer, as
// model.Prefill does.
func (d *forkData) prefill(e *Engine) {
	c := e.cfg
	qd, kvd := c.QueryHeads*c.HeadDim, c.KVHeads*c.HeadDim
	out := make([]float32, forkBlock*qd)
	for pos0 := 0; pos0 < forkPrompt; pos0 += forkBlock {
		n := min(forkBlock, forkPrompt-pos0)
		for l := range c.Layers {
			e.Prefill(l, pos0, n, d.q[l][pos0*qd:(pos0+n)*qd], d.k[l][pos0*kvd:(pos0+n)*kvd], d.v[l][pos0*kvd:(pos0+n)*kvd], out[:n*qd])
		}
	}
}

// run decodes every step and returns the attention outputs, and with a
// PIM store the device's reports: the prefill's open step, then each
// decode step, then the total.
func (d *forkData) run(e *Engine) (outs [][]float32, reports []pim.StepReport) {
	c := e.cfg
	device, _ := e.store.(*PIM)
	if device != nil {
		reports = append(reports, device.EndStep())
	}
	for s := range forkSteps {
		for l := range c.Layers {
			out := make([]float32, c.QueryHeads*c.HeadDim)
			e.Decode(l, forkPrompt+s, d.dq[s][l], d.dk[s][l], d.dv[s][l], out)
			outs = append(outs, out)
		}
		if device != nil {
			reports = append(reports, device.EndStep())
		}
	}
	if device != nil {
		reports = append(reports, device.Device().Total())
	}
	return outs, reports
}

// newForkEngine builds an engine of forkShape over a new store of kind
// ("dense" or "pim") with the named method.
func newForkEngine(t *testing.T, kind, method string, budget, denseLayers int) *Engine {
	t.Helper()
	c := forkShape
	c.Budget, c.DenseLayers = budget, denseLayers
	var store Store
	var err error
	switch kind {
	case "dense":
		store, err = NewDense(c.Layers, c.KVHeads, c.HeadDim, c.MaxTokens)
	case "pim":
		var device *PIM
		if device, err = NewPIM(pim.HBM3PIM(true), c, pim.LayoutGQA); err == nil {
			device.Device().RecordTrace(true) // the trace is part of what a fork restores
			store = device
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(method, c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(c, store, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// forkSource prefills the data into a full-attention engine with no dense
// layers and takes a snapshot.
func forkSource(t *testing.T, kind string, d *forkData) (*Engine, *Snapshot) {
	t.Helper()
	src := newForkEngine(t, kind, "full", 0, 0)
	src.KeepPrefillKeys()
	d.prefill(src)
	snap, err := src.Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Tokens() != forkPrompt {
		t.Fatalf("snapshot holds %d tokens, prefilled %d", snap.Tokens(), forkPrompt)
	}
	return src, snap
}

func sameOutputs(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("%s: step %d layer %d element %d = %v, re-prefilled %v",
					what, i/forkShape.Layers, i%forkShape.Layers, j, got[i][j], want[i][j])
			}
		}
	}
}

// A cell forked from a full-attention prefill decodes exactly as the same
// method would after prefilling the prompt itself: the same attention
// outputs bit for bit at every step, the same quality sums, and with the
// KV cache in the device the same hardware report (the prefill's step,
// every decode step, the total) and recorded trace. Restoring the same
// cell again after it decoded gives the same run again (nothing of the
// first run survives).
func TestRestoreEqualsPrefill(t *testing.T) {
	d := newForkData(forkShape, 1)
	for _, kind := range []string{"dense", "pim"} {
		_, snap := forkSource(t, kind, d)
		full := newForkEngine(t, kind, "full", 0, 1)
		d.prefill(full)
		fullOuts, _ := d.run(full)
		for _, method := range Names() {
			for _, budget := range []int{8, 32} {
				t.Run(fmt.Sprintf("%s/%s/budget%d", kind, method, budget), func(t *testing.T) {
					ref := newForkEngine(t, kind, method, budget, 1)
					ref.EnableQuality()
					d.prefill(ref)
					want, wantHW := d.run(ref)
					if method != "full" && slices.EqualFunc(want, fullOuts, slices.Equal) {
						t.Fatalf("budget %d does not change any output: the test cannot tell a wrong fork", budget)
					}
					cell := newForkEngine(t, kind, method, budget, 1)
					cell.EnableQuality()
					for try := range 2 {
						if err := cell.Restore(snap); err != nil {
							t.Fatal(err)
						}
						got, gotHW := d.run(cell)
						sameOutputs(t, fmt.Sprintf("restore %d", try+1), got, want)
						if cell.Quality() != ref.Quality() {
							t.Fatalf("restore %d: quality sums %+v, re-prefilled %+v", try+1, cell.Quality(), ref.Quality())
						}
						if kind == "pim" && !reflect.DeepEqual(cell.store.(*PIM).Device().Trace().Steps, ref.store.(*PIM).Device().Trace().Steps) {
							t.Fatalf("restore %d: the device's recorded trace differs from the re-prefilled one", try+1)
						}
						if !reflect.DeepEqual(gotHW, wantHW) {
							for i := range wantHW {
								if gotHW[i] != wantHW[i] {
									t.Fatalf("restore %d: device report %d\n got %+v\nwant %+v", try+1, i, gotHW[i], wantHW[i])
								}
							}
						}
					}
				})
			}
		}
	}
}

// Forks share nothing with their snapshot or with each other: decoding in
// one cell changes neither the snapshot (compared field by field with a
// second snapshot of the same prefill) nor the outcome of another cell.
func TestForksDoNotInterfere(t *testing.T) {
	d := newForkData(forkShape, 2)
	for _, kind := range []string{"dense", "pim"} {
		t.Run(kind, func(t *testing.T) {
			src, snap := forkSource(t, kind, d)
			pristine, err := src.Snapshot(nil)
			if err != nil {
				t.Fatal(err)
			}
			a := newForkEngine(t, kind, "starc", 32, 1)
			b := newForkEngine(t, kind, "topk", 8, 1)
			if err := a.Restore(snap); err != nil {
				t.Fatal(err)
			}
			if err := b.Restore(snap); err != nil {
				t.Fatal(err)
			}
			alone := newForkEngine(t, kind, "starc", 32, 1)
			if err := alone.Restore(pristine); err != nil {
				t.Fatal(err)
			}
			want, _ := d.run(alone)
			// Interleave a and b step by step over the same snapshot.
			c := forkShape
			var got [][]float32
			for s := range forkSteps {
				for l := range c.Layers {
					out := make([]float32, c.QueryHeads*c.HeadDim)
					a.Decode(l, forkPrompt+s, d.dq[s][l], d.dk[s][l], d.dv[s][l], out)
					got = append(got, out)
					b.Decode(l, forkPrompt+s, d.dq[s][l], d.dk[s][l], d.dv[s][l], make([]float32, len(out)))
				}
			}
			sameOutputs(t, "starc beside topk", got, want)
			if !reflect.DeepEqual(snap, pristine) {
				t.Fatal("the snapshot changed while its forks decoded")
			}
		})
	}
}

// Restoring into an engine that already held the prefill allocates
// nothing, and decode steps after a restore still allocate nothing.
func TestRestoreAndDecodeDoNotAllocate(t *testing.T) {
	d := newForkData(forkShape, 3)
	for _, kind := range []string{"dense", "pim"} {
		t.Run(kind, func(t *testing.T) {
			_, snap := forkSource(t, kind, d)
			cell := newForkEngine(t, kind, "topk", 32, 1)
			if device, ok := cell.store.(*PIM); ok {
				device.Device().RecordTrace(false) // a recorded trace grows by design
			}
			if err := cell.Restore(snap); err != nil {
				t.Fatal(err)
			}
			out := make([]float32, forkShape.QueryHeads*forkShape.HeadDim)
			decode := func() {
				for l := range forkShape.Layers {
					cell.Decode(l, forkPrompt, d.dq[0][l], d.dk[0][l], d.dv[0][l], out)
				}
			}
			decode() // warm: the method's scratch grows to the context once
			if a := testing.AllocsPerRun(5, func() {
				if err := cell.Restore(snap); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("Restore allocates %v times", a)
			}
			if a := testing.AllocsPerRun(5, func() {
				if err := cell.Restore(snap); err != nil {
					t.Fatal(err)
				}
				decode()
			}); a != 0 {
				t.Errorf("Restore then one decode step allocates %v times", a)
			}
		})
	}
}

// Snapshots and restores that cannot be honoured are errors that say why.
func TestSnapshotAndRestoreErrors(t *testing.T) {
	d := newForkData(forkShape, 4)
	_, denseSnap := forkSource(t, "dense", d)
	_, pimSnap := forkSource(t, "pim", d)
	small, large := forkShape, forkShape
	small.MaxTokens, large.MaxTokens = 128, 512
	smallDense, err := NewDense(small.Layers, small.KVHeads, small.HeadDim, small.MaxTokens)
	if err != nil {
		t.Fatal(err)
	}
	largePIM, err := NewPIM(pim.HBM3PIM(true), large, pim.LayoutGQA)
	if err != nil {
		t.Fatal(err)
	}
	wide := forkShape
	wide.KVHeads = 4
	wideDense, err := NewDense(wide.Layers, wide.KVHeads, wide.HeadDim, wide.MaxTokens)
	if err != nil {
		t.Fatal(err)
	}
	engine := func(c Config, s Store) *Engine {
		e, err := NewEngine(c, s, full{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	snapshotErrors := []struct {
		name  string
		setup func() *Engine
		want  string
	}{
		{"empty", func() *Engine { return newForkEngine(t, "dense", "full", 0, 0) }, "empty sequence"},
		{"after decode", func() *Engine {
			e := newForkEngine(t, "dense", "full", 0, 0)
			d.prefill(e)
			e.Decode(0, forkPrompt, d.dq[0][0], d.dk[0][0], d.dv[0][0], make([]float32, forkShape.QueryHeads*forkShape.HeadDim))
			return e
		}, "after a decode step"},
		{"pim without keys", func() *Engine {
			e := newForkEngine(t, "pim", "full", 0, 0)
			d.prefill(e)
			return e
		}, "KeepPrefillKeys"},
		{"other store", func() *Engine {
			dense, _ := NewDense(forkShape.Layers, forkShape.KVHeads, forkShape.HeadDim, forkShape.MaxTokens)
			e := engine(forkShape, &f16Dense{Dense: dense})
			d.prefill(e)
			return e
		}, "*attention.f16Dense store cannot be snapshot"},
	}
	for _, tc := range snapshotErrors {
		t.Run("snapshot/"+tc.name, func(t *testing.T) {
			_, err := tc.setup().Snapshot(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	restoreErrors := []struct {
		name string
		into *Engine
		snap *Snapshot
		want string
	}{
		{"empty snapshot", newForkEngine(t, "dense", "full", 0, 0), &Snapshot{}, "empty snapshot"},
		{"dense into pim", newForkEngine(t, "pim", "full", 0, 0), denseSnap, "dense-store snapshot into an engine with a *attention.PIM store"},
		{"pim into dense", newForkEngine(t, "dense", "full", 0, 0), pimSnap, "pim-store snapshot into an engine with a *attention.Dense store"},
		{"kv heads", engine(wide, wideDense), denseSnap, "2 KV heads × dim 64 into an engine of 3 × 4 / 4 × 64"},
		{"capacity", engine(small, smallDense), denseSnap, "160 prefilled tokens into an engine of capacity 128"},
		{"pim capacity", engine(large, largePIM), pimSnap, "MaxTokens:256"},
	}
	for _, tc := range restoreErrors {
		t.Run("restore/"+tc.name, func(t *testing.T) {
			e := tc.into
			err := e.Restore(tc.snap)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

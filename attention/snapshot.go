package attention

import (
	"fmt"

	"starc/pim"
)

// Forking a prefilled sequence.
//
// A prompt is prefilled once (densely, whatever the method) and then
// decoded many times, once per method × budget cell. Engine.Snapshot
// records what the prefill left behind; Engine.Restore puts it into
// another Engine of the same shape and store kind, built with any Method,
// Budget or DenseLayers, so that the cell is indistinguishable from one
// that ran the prefill itself:
//
//   - the store's contents: Dense copies the float32 vectors, PIM the
//     device's FP16 bits with its written lengths, accounting (the open
//     step's commands, energy and cycles, the totals, the step count) and
//     recorded trace (pim.KVSnapshot);
//   - the slot map: the identity, since no token moves before a decode;
//   - the keys Method.Append saw during the prefill, replayed in position
//     order into the cell's freshly reset Method (and quality meter). With
//     Dense they are the stored keys; the device keeps FP16, so a PIM
//     snapshot needs the float32 keys the prefill appended, which the
//     prefilling Engine keeps only after KeepPrefillKeys.
//
// Methods that cluster or page the prefilled keys do it on the cell, at its
// first decode step (STARC clusters in its first Prepare), exactly as after
// a prefill. Only a prefilled Engine can be snapshot: a decode step leaves
// method state (clusters, moved slots) that replaying keys cannot rebuild.

// Snapshot is the state of an Engine after a prefill (see Engine.Snapshot).
// The zero value is empty; its buffers are reused by later snapshots into
// it. Restore only reads it, so one snapshot may seed many Engines, even
// concurrently.
type Snapshot struct {
	layers, queryHeads, kvHeads, headDim int
	n                                    int       // tokens prefilled
	kind                                 storeKind // where the vectors came from
	k, v                                 []float32 // Dense: [layer][kvHead][n*HeadDim]; k also holds the keys to replay
	device                               pim.KVSnapshot
	keys                                 []float32 // PIM: [layer][kvHead][n*HeadDim] float32 keys the prefill appended
}

type storeKind int

const (
	noStore storeKind = iota
	denseStore
	pimStore
)

func (k storeKind) String() string {
	switch k {
	case denseStore:
		return "dense"
	case pimStore:
		return "pim"
	}
	return "none"
}

// Tokens is the number of prefilled tokens the snapshot holds.
func (s *Snapshot) Tokens() int { return s.n }

// Bytes is the host memory the snapshot's vectors and keys take.
func (s *Snapshot) Bytes() int64 {
	return 4*int64(len(s.k)+len(s.v)+len(s.keys)) + s.device.Bytes()
}

// forkState is what the Engine tracks for snapshots.
type forkState struct {
	prefilled int       // tokens written by Prefill since Reset
	decoded   bool      // a Decode ran since Reset
	keys      []float32 // [layer][kvHead][MaxTokens*HeadDim] prefill keys, after KeepPrefillKeys
}

// KeepPrefillKeys makes Prefill keep a float32 copy of every key it
// appends (4 bytes per key element of the capacity), which Snapshot needs
// when the store does not hold float32 keys (PIM). Call it before the
// prefill; it is a no-op with a Dense store.
func (e *Engine) KeepPrefillKeys() {
	if _, ok := e.store.(*Dense); ok || e.fork.keys != nil {
		return
	}
	c := e.cfg
	e.fork.keys = make([]float32, c.Layers*c.KVHeads*c.MaxTokens*c.HeadDim)
}

// keepKey records the prefill key of token pos of (layer, g).
func (e *Engine) keepKey(layer, g, pos int, k []float32) {
	if e.fork.keys == nil {
		return
	}
	c := e.cfg
	o := ((layer*c.KVHeads+g)*c.MaxTokens + pos) * c.HeadDim
	copy(e.fork.keys[o:o+c.HeadDim], k)
}

// Snapshot records the Engine's prefilled state into dst (nil: a new
// Snapshot) and returns it. It fails when a decode step ran since Reset,
// when nothing was prefilled, for a PIM store without KeepPrefillKeys, and
// for stores other than Dense and PIM.
func (e *Engine) Snapshot(dst *Snapshot) (*Snapshot, error) {
	f := &e.fork
	switch {
	case f.decoded:
		return nil, fmt.Errorf("attention: snapshot after a decode step: only a prefilled sequence can be forked")
	case f.prefilled == 0:
		return nil, fmt.Errorf("attention: snapshot of an empty sequence: prefill first")
	}
	if dst == nil {
		dst = new(Snapshot)
	}
	c, n := e.cfg, f.prefilled
	hd := c.HeadDim
	switch st := e.store.(type) {
	case *Dense:
		dst.k, dst.v = growTo(dst.k, c.Layers*c.KVHeads*n*hd), growTo(dst.v, c.Layers*c.KVHeads*n*hd)
		for i := range c.Layers * c.KVHeads {
			l, g := i/c.KVHeads, i%c.KVHeads
			copy(dst.k[i*n*hd:(i+1)*n*hd], st.Keys(l, g))
			copy(dst.v[i*n*hd:(i+1)*n*hd], st.Values(l, g))
		}
		dst.keys = dst.keys[:0]
		dst.kind = denseStore
	case *PIM:
		if f.keys == nil {
			return nil, fmt.Errorf("attention: snapshot of a KV cache in the PIM device needs the prefill's float32 keys: call KeepPrefillKeys before the prefill")
		}
		st.kv.SnapshotTo(&dst.device)
		dst.keys = growTo(dst.keys, c.Layers*c.KVHeads*n*hd)
		for i := range c.Layers * c.KVHeads {
			copy(dst.keys[i*n*hd:(i+1)*n*hd], f.keys[i*c.MaxTokens*hd:])
		}
		dst.k, dst.v = dst.k[:0], dst.v[:0]
		dst.kind = pimStore
	default:
		return nil, fmt.Errorf("attention: a %T store cannot be snapshot (Dense and PIM can)", e.store)
	}
	dst.layers, dst.queryHeads, dst.kvHeads, dst.headDim, dst.n = c.Layers, c.QueryHeads, c.KVHeads, hd, n
	return dst, nil
}

// Restore makes e continue from s, as if it had run the prefill s was taken
// after: store contents (and a device's accounting) copied back, identity
// slot map, Method reset and shown the prefill's keys in position order,
// quality sums cleared. Nothing e held or charged before survives; its
// Method, budget, dense layers and observers stay its own. e must have the
// snapshot's shape and store kind (with PIM: the same part, layout and
// capacity; with Dense: a capacity of at least the prefilled tokens), else
// Restore returns an error and e is unchanged. Restoring into an Engine
// that already held as many tokens does not allocate.
func (e *Engine) Restore(s *Snapshot) error {
	c := e.cfg
	var kind storeKind
	switch e.store.(type) {
	case *Dense:
		kind = denseStore
	case *PIM:
		kind = pimStore
	}
	switch {
	case s.kind == noStore:
		return fmt.Errorf("attention: restore from an empty snapshot")
	case s.kind != kind:
		return fmt.Errorf("attention: restore of a %v-store snapshot into an engine with a %T store", s.kind, e.store)
	case s.layers != c.Layers || s.queryHeads != c.QueryHeads || s.kvHeads != c.KVHeads || s.headDim != c.HeadDim:
		return fmt.Errorf("attention: restore of a snapshot of %d layers × %d query heads / %d KV heads × dim %d into an engine of %d × %d / %d × %d",
			s.layers, s.queryHeads, s.kvHeads, s.headDim, c.Layers, c.QueryHeads, c.KVHeads, c.HeadDim)
	case s.n > c.MaxTokens:
		return fmt.Errorf("attention: restore of %d prefilled tokens into an engine of capacity %d", s.n, c.MaxTokens)
	}
	n, hd := s.n, c.HeadDim
	keys := s.k
	switch st := e.store.(type) {
	case *Dense:
		for i := range c.Layers * c.KVHeads {
			l, g := i/c.KVHeads, i%c.KVHeads
			copy(st.Keys(l, g), s.k[i*n*hd:(i+1)*n*hd])
			copy(st.Values(l, g), s.v[i*n*hd:(i+1)*n*hd])
		}
	case *PIM:
		if err := st.kv.Restore(&s.device); err != nil {
			return fmt.Errorf("attention: %w", err)
		}
		keys = s.keys
	}
	for i := range e.slotOf {
		for p := range e.slotOf[i] {
			e.slotOf[i][p] = p
		}
	}
	e.method.Reset()
	if e.metrics != nil {
		e.metrics.reset()
	}
	for i := range c.Layers * c.KVHeads {
		l, g := i/c.KVHeads, i%c.KVHeads
		for p := range n {
			k := keys[(i*n+p)*hd : (i*n+p+1)*hd]
			e.method.Append(l, g, p, k)
			if e.metrics != nil {
				e.metrics.write(l, g, p, k)
			}
			e.keepKey(l, g, p, k)
		}
	}
	e.fork.prefilled, e.fork.decoded = n, false
	return nil
}

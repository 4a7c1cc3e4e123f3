package model

import (
	"fmt"

	"starc/attention"
)

// Snapshot is a State after a prefill, taken once and restored into one
// State per method × budget cell so that the prompt is never prefilled
// twice. It holds:
//
//   - the KV cache: a Dense store's float32 vectors, or the PIM device's
//     FP16 bits with its accounting (the prefill's open step, totals, step
//     count) and, if recording, its access trace;
//   - the float32 keys the prefill showed the attention method (from a
//     Dense store, its own keys; with PIM, the copy kept because the state
//     was built with StateOptions.Forkable);
//   - the position and the logits after the last prompt token.
//
// Restore gives the cell exactly what it would hold had it prefilled the
// prompt itself with its own method: the store copied back, the slot map
// reset to the identity, the method reset and shown the prefill's keys in
// position order, no model computation. Methods that cluster or page the
// keys do it on the cell at its first decode step (STARC clusters at its
// first Prepare), as after a real prefill. Prefill itself is dense in every
// layer, so the prefilling state's method does not matter. With PIM the
// cell's device holds the prefill's charges in its open step, as after a
// Prefill: close it with EndStep, and each decode step's report then holds
// that cell's accesses only (nothing of another cell survives a Restore).
//
// The prefill's numbers are those of the prefilling state: with a
// different thread count or prefill block size than a cell's, they may
// differ in the last bits from what the cell would have computed.
//
// A Snapshot is only read by Restore: one snapshot may seed any number of
// cells, even concurrently. Its memory (Bytes) is that of the prefilled
// tokens only, whatever the capacity: for SmolLM2-135M, 46 KB per token
// (377 MB at 8K), dense (float32 K and V) or PIM (FP16 K and V plus the
// float32 keys) alike.
type Snapshot struct {
	attn   attention.Snapshot
	pos    int
	logits []float32 // [Vocab] after the last prefilled token
}

// Pos is the number of prefilled tokens (the next token's position).
func (s *Snapshot) Pos() int { return s.pos }

// Logits returns the logits after the last prefilled token (owned by s; do
// not modify).
func (s *Snapshot) Logits() []float32 { return s.logits }

// Bytes is the host memory the snapshot holds.
func (s *Snapshot) Bytes() int64 { return s.attn.Bytes() + 4*int64(cap(s.logits)) }

// Snapshot records st after a prefill into dst and returns it; with a nil
// dst it allocates a new Snapshot, else it reuses dst's buffers (one sample
// after another without reallocating). st must hold a prefill and nothing
// else: no token consumed by Forward since the last Reset. With the KV
// cache in the PIM device, st must have been built with
// StateOptions.Forkable.
func (st *State) Snapshot(dst *Snapshot) (*Snapshot, error) {
	if dst == nil {
		dst = new(Snapshot)
	}
	if st.pos == 0 {
		return nil, fmt.Errorf("model: snapshot of an empty state: prefill the prompt first")
	}
	if _, err := st.Attn.Snapshot(&dst.attn); err != nil {
		if _, pim := st.store.(*attention.PIM); pim && !st.forkable {
			return nil, fmt.Errorf("model: snapshot: the KV cache is in the PIM device and the state was not built with StateOptions.Forkable: %w", err)
		}
		return nil, fmt.Errorf("model: snapshot: %w", err)
	}
	if got := dst.attn.Tokens(); got != st.pos {
		return nil, fmt.Errorf("model: snapshot: the attention holds %d prefilled tokens but the state is at position %d (Forward ran after the prefill)", got, st.pos)
	}
	dst.pos = st.pos
	dst.logits = append(dst.logits[:0], st.logits...)
	return dst, nil
}

// Restore makes st continue from s, as if st had prefilled the same prompt
// with its own method, budget and store, and returns the logits after the
// last prompt token (owned by st, as Prefill's). st keeps its method,
// budget, dense layers, threads and observers; whatever it held or its
// device charged before is gone. st must be a state of the same model with
// the same store kind as the snapshot (Dense: a capacity of at least
// s.Pos(); PIM: the same part, layout and capacity), else Restore returns
// an error and st is unchanged. Restoring into a state that already held as
// many tokens allocates nothing.
func (st *State) Restore(s *Snapshot) ([]float32, error) {
	if s.pos == 0 {
		return nil, fmt.Errorf("model: restore from an empty snapshot (take it with State.Snapshot after a prefill)")
	}
	if len(s.logits) != len(st.logits) {
		return nil, fmt.Errorf("model: restore: snapshot of a model with a vocabulary of %d into a state for %d", len(s.logits), len(st.logits))
	}
	if err := st.Attn.Restore(&s.attn); err != nil {
		return nil, fmt.Errorf("model: restore: %w", err)
	}
	st.pos = s.pos
	copy(st.logits, s.logits)
	return st.logits, nil
}

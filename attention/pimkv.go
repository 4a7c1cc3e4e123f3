package attention

import (
	"fmt"

	"starc/pim"
)

// PIM keeps the KV cache in a simulated HBM-PIM device (package pim): every
// vector is written to the device as FP16 and every attention read comes
// back from it, with the row activations, commands, energy and latency of
// the real access pattern charged to the device. Attention reads the
// device's FP16 bits in place (KeysF16, ValuesF16) and charges each step's
// access pattern (Charge), so nothing is copied per step. pim stays
// ignorant of attention; this is the adapter.
type PIM struct {
	kv *pim.KVStore
}

// NewPIM places a cache for cfg's shape in the device part spec.
func NewPIM(spec pim.Spec, cfg Config, layout pim.Layout) (*PIM, error) {
	kv, err := pim.NewKVStore(spec, pim.KVShape{Layers: cfg.Layers, KVHeads: cfg.KVHeads, QueryHeads: cfg.QueryHeads,
		HeadDim: cfg.HeadDim, MaxTokens: cfg.MaxTokens}, layout)
	if err != nil {
		return nil, fmt.Errorf("attention: KV cache in %s: %w", spec.Name, err)
	}
	return &PIM{kv: kv}, nil
}

// Device returns the device-side store (reports, row mapping).
func (p *PIM) Device() *pim.KVStore { return p.kv }

// Write implements Store.
func (p *PIM) Write(layer, kvHead, slot int, k, v []float32) { p.kv.Write(layer, kvHead, slot, k, v) }

// KeysF16 returns the device's FP16 key bits of (layer, kvHead) in place,
// indexed by slot: attention reads them without a copy.
func (p *PIM) KeysF16(layer, kvHead int) []uint16 { return p.kv.Keys(layer, kvHead) }

// ValuesF16 is KeysF16 for the values.
func (p *PIM) ValuesF16(layer, kvHead int) []uint16 { return p.kv.Values(layer, kvHead) }

// Charge charges the device for reading slots (the access Read would make)
// without copying them.
func (p *PIM) Charge(layer, kvHead int, slots []int) { p.kv.Charge(layer, kvHead, slots) }

// Read implements Store: the vectors come back from the device (FP16-rounded).
func (p *PIM) Read(layer, kvHead int, slots []int, dstK, dstV []float32) {
	p.kv.Read(layer, kvHead, slots, dstK, dstV)
}

// Move implements Store; the device charges the rewrite.
func (p *PIM) Move(layer, kvHead int, from, to []int) { p.kv.Move(layer, kvHead, from, to) }

// Reset implements Store.
func (p *PIM) Reset() { p.kv.Reset() }

// EndStep closes one step of accounting and returns its cost.
func (p *PIM) EndStep() pim.StepReport { return p.kv.EndStep() }

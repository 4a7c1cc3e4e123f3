package attention

import (
	"fmt"

	"starc/pim"
)

// PIM keeps the KV cache in a simulated HBM-PIM device (package pim): every
// vector is written to the device as FP16 and every attention read comes
// back from it, with the row activations, commands, energy and latency of
// the real access pattern charged to the device. pim stays ignorant of
// attention; this is the adapter.
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

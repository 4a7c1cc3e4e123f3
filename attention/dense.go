package attention

import "fmt"

// Dense keeps every key and value as float32 in host memory: the reference
// store, and the fast path (attention reads it in place).
type Dense struct {
	headDim, kvHeads, maxTokens int
	k, v                        []float32 // [layer][kvHead][slot][headDim]
	tmpK, tmpV                  []float32 // Move scratch
}

// NewDense allocates a store for layers × kvHeads × maxTokens vectors of headDim.
func NewDense(layers, kvHeads, headDim, maxTokens int) (*Dense, error) {
	n := layers * kvHeads * maxTokens * headDim
	if layers <= 0 || kvHeads <= 0 || headDim <= 0 || maxTokens <= 0 || n/layers/kvHeads/maxTokens != headDim {
		return nil, fmt.Errorf("attention: dense store shape %d×%d×%d×%d is invalid", layers, kvHeads, maxTokens, headDim)
	}
	return &Dense{headDim: headDim, kvHeads: kvHeads, maxTokens: maxTokens,
		k: make([]float32, n), v: make([]float32, n)}, nil
}

func (d *Dense) base(layer, kvHead int) int {
	return (layer*d.kvHeads + kvHead) * d.maxTokens * d.headDim
}

// Keys returns the keys of (layer, kvHead) indexed by slot.
func (d *Dense) Keys(layer, kvHead int) []float32 {
	b := d.base(layer, kvHead)
	return d.k[b : b+d.maxTokens*d.headDim]
}

// Values returns the values of (layer, kvHead) indexed by slot.
func (d *Dense) Values(layer, kvHead int) []float32 {
	b := d.base(layer, kvHead)
	return d.v[b : b+d.maxTokens*d.headDim]
}

// Write implements Store.
func (d *Dense) Write(layer, kvHead, slot int, k, v []float32) {
	o := d.base(layer, kvHead) + slot*d.headDim
	copy(d.k[o:o+d.headDim], k)
	copy(d.v[o:o+d.headDim], v)
}

// Read implements Store.
func (d *Dense) Read(layer, kvHead int, slots []int, dstK, dstV []float32) {
	b, hd := d.base(layer, kvHead), d.headDim
	for i, s := range slots {
		copy(dstK[i*hd:(i+1)*hd], d.k[b+s*hd:b+(s+1)*hd])
		copy(dstV[i*hd:(i+1)*hd], d.v[b+s*hd:b+(s+1)*hd])
	}
}

// Move implements Store.
func (d *Dense) Move(layer, kvHead int, from, to []int) {
	hd := d.headDim
	if need := len(from) * hd; cap(d.tmpK) < need {
		d.tmpK, d.tmpV = make([]float32, need), make([]float32, need)
	}
	tk, tv := d.tmpK[:len(from)*hd], d.tmpV[:len(from)*hd]
	d.Read(layer, kvHead, from, tk, tv)
	b := d.base(layer, kvHead)
	for i, s := range to {
		copy(d.k[b+s*hd:b+(s+1)*hd], tk[i*hd:(i+1)*hd])
		copy(d.v[b+s*hd:b+(s+1)*hd], tv[i*hd:(i+1)*hd])
	}
}

// Reset implements Store. The bytes stay; slots are overwritten before use.
func (d *Dense) Reset() {}

package attention

// Store is where the keys and values of one sequence physically live,
// addressed by (layer, KV head, slot). Slots are physical places: the Engine
// puts token pos in slot pos, and a Method may later permute the slots of
// tokens it has seen (Mover). The reference store is Dense; PIM puts the
// bytes in rows of a simulated HBM-PIM device, where every Read and Write is
// an access the device charges.
//
// All vectors are [HeadDim] float32 on the way in and out; a store may keep
// them at lower precision (the device keeps f16) and returns what it kept.
type Store interface {
	// Write stores the key and value of one slot.
	Write(layer, kvHead, slot int, k, v []float32)
	// Read copies the vectors of slots, in the order given, into dstK and
	// dstV (len(slots)*HeadDim each). A device charges the access here.
	Read(layer, kvHead int, slots []int, dstK, dstV []float32)
	// Move relocates vectors: after the call slot to[i] holds what slot
	// from[i] held before it. The from slots are a permutation of the to
	// slots.
	Move(layer, kvHead int, from, to []int)
	// Reset forgets every vector.
	Reset()
}

// viewer is implemented by stores whose vectors already sit in host memory
// as float32, so attention can read them in place instead of through Read.
type viewer interface {
	// Keys and Values return [MaxTokens*HeadDim] slices indexed by slot.
	Keys(layer, kvHead int) []float32
	Values(layer, kvHead int) []float32
}

// halfViewer is implemented by stores that keep the vectors as FP16 bits in
// host memory (the PIM device's cells): attention reads those bits in place
// with the FP16 kernels and charges the access through Charge instead of
// copying through Read.
type halfViewer interface {
	// KeysF16 and ValuesF16 return slices indexed by slot ([slot*HeadDim:
	// (slot+1)*HeadDim]) covering every written slot; they are valid until
	// the next Write, Move or Reset.
	KeysF16(layer, kvHead int) []uint16
	ValuesF16(layer, kvHead int) []uint16
	// Charge accounts for reading slots, exactly as Read would.
	Charge(layer, kvHead int, slots []int)
}

// KeySource is the store's keys as a method reads them, so that a method
// that scores keys needs no copy of its own: the Engine binds itself to
// every method implementing keyReader when its store keeps the vectors in
// host memory (Dense, PIM).
type KeySource interface {
	// Keys returns the keys of slots lo..hi-1 of (layer, kvHead), row-major
	// ([slot-lo][HeadDim]), in place: float32 from a Dense store (f16 nil)
	// or the device's FP16 bits (f32 nil). The rows are read-only and valid
	// until the next write to the store. A method that never moves tokens
	// reads position p at slot p.
	Keys(layer, kvHead, lo, hi int) (f32 []float32, f16 []uint16)
}

// keyReader is implemented by methods that read the keys from a KeySource
// once one is bound, instead of keeping the keys Append shows them. Bound
// before the first Append and never unbound; a method that is never bound
// (used without an Engine, or over a store with no view) keeps its copy.
type keyReader interface {
	readKeysFrom(KeySource)
}

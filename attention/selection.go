package attention

import "math"

// Selection primitives shared by the sparse methods. None of them sorts
// all candidates: a step picks a few hundred of several thousand tokens
// (topk, sparq), a few dozen of hundreds of pages (quest) or a few dozen of
// hundreds of clusters (starc), so a full sort would cost more than the
// selection it serves. Each is tested against a full stable sort.

// appendTopK appends to dst the indices of the k largest scores (ties:
// lower index first; NaN ranks as −Inf, −0 as +0) and returns dst. work is
// scratch of len(scores). The appended indices are ascending.
//
// Hot path: a radix selection of the k-th largest score (one pass over all
// scores, then passes over the few sharing its leading bytes) and one scan;
// no sort of the n scores.
func appendTopK(dst []int, scores []float32, k int, work []uint32) []int {
	n := len(scores)
	if k >= n {
		return appendRange(dst, 0, n)
	}
	if k <= 0 {
		return dst
	}
	cand := work[:n]
	need, thr, shift := k, uint32(0), 24
	if n >= wideTopKFrom {
		// First digit wide: the keys and a histogram of their top wideBits
		// bits in one pass, then one pass keeps the keys of the k-th
		// largest key's bin (few, as 12 bits reach into the mantissa).
		var hist [1 << wideBits]int32
		for i, v := range scores {
			x := orderKey(v)
			cand[i] = x
			hist[x>>(32-wideBits)]++
		}
		bin, above := len(hist)-1, 0
		for ; above+int(hist[bin]) < need; bin-- {
			above += int(hist[bin])
		}
		need -= above
		thr = uint32(bin) << (32 - wideBits)
		kept := 0
		for _, x := range cand {
			if x>>(32-wideBits) == uint32(bin) {
				cand[kept] = x
				kept++
			}
		}
		cand = cand[:kept]
		shift = 32 - wideBits - 8 // then 8-bit digits, the last one narrower
	} else {
		for i, v := range scores {
			cand[i] = orderKey(v)
		}
	}
	// Most significant byte first: find the byte of the k-th largest key
	// among the candidates, keep only the candidates with that byte.
	for ; shift > -8; shift -= 8 {
		width := 8
		if shift < 0 { // the last digit, below a wide first one
			width, shift = 8+shift, 0
		}
		mask := uint32(1)<<width - 1
		var hist [256]int32
		for _, x := range cand {
			hist[x>>shift&mask]++
		}
		bin, above := int(mask), 0
		for ; above+int(hist[bin]) < need; bin-- {
			above += int(hist[bin])
		}
		need -= above
		thr |= uint32(bin) << shift
		kept := 0
		for _, x := range cand {
			if x>>shift&mask == uint32(bin) {
				cand[kept] = x
				kept++
			}
		}
		cand = cand[:kept]
		if shift == 0 {
			break
		}
	}
	// thr is the k-th largest key; need of the keys equal to it are taken,
	// lowest index first.
	for i, v := range scores {
		switch x := orderKey(v); {
		case x > thr:
			dst = append(dst, i)
		case x == thr && need > 0:
			dst = append(dst, i)
			need--
		}
	}
	return dst
}

// A selection over wideTopKFrom scores or more starts with a digit of
// wideBits bits (sign, exponent and 3 mantissa bits): its histogram costs
// a 16 KB clear, paid back by a first pass that already keeps few keys.
const wideTopKFrom, wideBits = 2048, 12

// orderKey maps a score to an integer of the same order: NaN as −Inf and
// −0 as +0, larger score → larger key.
func orderKey(v float32) uint32 {
	b := math.Float32bits(v)
	switch abs := b &^ (1 << 31); {
	case abs > 0x7f800000: // NaN ranks as −Inf
		b = 0xff800000
	case abs == 0: // −0 ranks as +0
		b = 0
	}
	// Negative: flip every bit; positive: set the sign bit.
	return b ^ (uint32(int32(b)>>31) | 1<<31)
}

// rankKey packs a cluster's score and id into one integer whose ascending
// order is descending score, then ascending id (NaN as −Inf, −0 = +0).
// Keys of distinct ids are distinct, so any correct ordering of them is
// the same ordering.
func rankKey(score float32, id int) uint64 {
	return uint64(^orderKey(score))<<32 | uint64(uint32(id))
}

// rankHeap is a binary min-heap of rank keys: the best candidate is h[0].
// Building it is one linear pass; each pop costs O(log len), so taking the
// first j of n candidates in rank order costs O(n + j·log n) instead of a
// sort's O(n·log n).
type rankHeap []uint64

// init establishes the heap order over the keys in h.
func (h rankHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// pop removes and returns the smallest key; h must not be empty.
func (h *rankHeap) pop() uint64 {
	s := *h
	top, last := s[0], len(s)-1
	s[0] = s[last]
	s = s[:last]
	if last > 0 {
		s.down(0)
	}
	*h = s
	return top
}

func (h rankHeap) down(i int) {
	n, x := len(h), h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r] < h[c] {
			c = r
		}
		if x <= h[c] {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = x
}

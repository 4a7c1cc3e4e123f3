package ruler

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// stream is a seeded random stream whose every draw is defined here from
// PCG-DXSM's 64-bit outputs (math/rand/v2's PCG, a fixed algorithm), so the
// values are the same on every platform and Go release (rand.Rand's
// bounded draws differ between 32- and 64-bit platforms).
type stream struct{ src *rand.PCG }

// newStream returns the stream of one purpose ("search", "sample",
// "example") of one run (seed, task, length), and index (the sample).
func newStream(seed int64, task string, length int, purpose string, index int) *stream {
	h := sha256.Sum256(fmt.Appendf(nil, "starc/eval/ruler/v1\x00%d\x00%s\x00%d\x00%s\x00%d", seed, task, length, purpose, index))
	return &stream{src: rand.NewPCG(binary.LittleEndian.Uint64(h[0:8]), binary.LittleEndian.Uint64(h[8:16]))}
}

// below returns a uniform integer in [0, n) (Lemire's multiply-and-reject).
func (s *stream) below(n int) int {
	if n <= 0 {
		panic("ruler: below of a non-positive bound")
	}
	un := uint64(n)
	hi, lo := bits.Mul64(s.src.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(s.src.Uint64(), un)
		}
	}
	return int(hi)
}

// between returns a uniform integer in [lo, hi], both included (Python's
// random.randint).
func (s *stream) between(lo, hi int) int { return lo + s.below(hi-lo+1) }

// shuffle permutes n items in place through swap (Fisher-Yates).
func (s *stream) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, s.below(i+1))
	}
}

// sample returns k distinct integers of [0, n) in random order (Python's
// random.sample(range(n), k)), by a partial Fisher-Yates.
func (s *stream) sample(n, k int) []int {
	if k > n {
		panic("ruler: sample larger than its population")
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for i := 0; i < k; i++ {
		j := i + s.below(n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:k:k]
}

// letters returns k letters drawn uniformly from alphabet (random.choices).
func (s *stream) letters(alphabet string, k int) string {
	b := make([]byte, k)
	for i := range b {
		b[i] = alphabet[s.below(len(alphabet))]
	}
	return string(b)
}

// uuid4 returns a version-4 UUID from 128 random bits, as Python's
// uuid.UUID(int=random.getrandbits(128), version=4) formats it.
func (s *stream) uuid4() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], s.src.Uint64())
	binary.BigEndian.PutUint64(b[8:16], s.src.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

const (
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
)

func sortInts(s []int) { slices.Sort(s) }

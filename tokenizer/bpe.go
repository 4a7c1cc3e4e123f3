package tokenizer

import (
	"fmt"
	"sync"
	"unicode/utf8"
)

type bpeOptions struct {
	unkToken     string
	hasUnk       bool
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
}

// mergeRule is what a pair of adjacent symbols turns into, and how early (lower rank first).
type mergeRule struct {
	rank  int32
	newID int32
}

// bpeModel is HF's BPE model without dropout or subword prefixes/suffixes.
type bpeModel struct {
	vocab   map[string]int
	pieces  []string // id -> token ("" for ids the vocab does not use)
	merges  map[uint64]mergeRule
	opt     bpeOptions
	unkID   int
	byteIDs [256]int32 // byte fallback ids of <0xNN>, -1 if absent

	mu    sync.Mutex
	cache map[string][]int32
}

// wordCacheMaxLen and wordCacheMaxEntries bound the word cache (HF caches words shorter
// than 256 bytes, up to a fixed number of entries).
const (
	wordCacheMaxLen     = 256
	wordCacheMaxEntries = 1 << 17
)

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func newBPE(path string, vocab map[string]int, merges [][2]string, opt bpeOptions) (*bpeModel, error) {
	m := &bpeModel{vocab: vocab, opt: opt, unkID: -1, cache: make(map[string][]int32)}
	if m.vocab == nil {
		m.vocab = map[string]int{}
	}
	// Ids index dense tables, so they must stay near the vocab size (real vocabularies use
	// 0..len-1); this also keeps a corrupt id from allocating gigabytes.
	limit := 2*len(m.vocab) + 1024
	maxID := -1
	for tok, id := range m.vocab {
		if id < 0 || id >= limit {
			return nil, fmt.Errorf("%s.vocab: token %q has invalid id %d (vocab of %d tokens)", path, tok, id, len(m.vocab))
		}
		maxID = max(maxID, id)
	}
	m.pieces = make([]string, maxID+1)
	for tok, id := range m.vocab {
		m.pieces[id] = tok
	}
	if opt.hasUnk {
		id, ok := m.vocab[opt.unkToken]
		if !ok {
			return nil, fmt.Errorf("%s.unk_token: %q is not in the vocab", path, opt.unkToken)
		}
		m.unkID = id
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
		if id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteIDs[b] = int32(id)
		}
	}
	m.merges = make(map[uint64]mergeRule, len(merges))
	for i, mg := range merges {
		a, okA := m.vocab[mg[0]]
		b, okB := m.vocab[mg[1]]
		if !okA || !okB {
			return nil, fmt.Errorf("%s.merges[%d]: %q %q: part not in the vocab", path, i, mg[0], mg[1])
		}
		n, ok := m.vocab[mg[0]+mg[1]]
		if !ok {
			return nil, fmt.Errorf("%s.merges[%d]: %q %q: merged token %q not in the vocab", path, i, mg[0], mg[1], mg[0]+mg[1])
		}
		// A later duplicate overrides an earlier one, as in HF's HashMap collect.
		m.merges[pairKey(int32(a), int32(b))] = mergeRule{rank: int32(i), newID: int32(n)}
	}
	return m, nil
}

// tokenize appends the ids of one pre-tokenized word to dst.
func (m *bpeModel) tokenize(w string, dst []int) []int {
	if w == "" {
		return dst
	}
	if m.opt.ignoreMerges {
		if id, ok := m.vocab[w]; ok {
			return append(dst, id)
		}
	}
	cacheable := len(w) < wordCacheMaxLen
	if cacheable {
		m.mu.Lock()
		ids, ok := m.cache[w]
		m.mu.Unlock()
		if ok {
			for _, id := range ids {
				dst = append(dst, int(id))
			}
			return dst
		}
	}
	ids := m.mergeWord(w)
	if cacheable {
		m.mu.Lock()
		if len(m.cache) >= wordCacheMaxEntries {
			clear(m.cache)
		}
		m.cache[w] = ids
		m.mu.Unlock()
	}
	for _, id := range ids {
		dst = append(dst, int(id))
	}
	return dst
}

// symbol is one node of the doubly linked list a word is merged in.
type symbol struct {
	id         int32
	prev, next int32 // indices into the symbol slice, -1 at the ends
	dead       bool  // merged into its left neighbour
}

// mergeCand is a queued merge of the symbol at pos with its right neighbour.
type mergeCand struct {
	rank, pos, newID int32
}

func candLess(a, b mergeCand) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

// mergeHeap is a binary min-heap ordered by (rank, pos), as HF's BinaryHeap of Merge.
type mergeHeap []mergeCand

func (h *mergeHeap) push(c mergeCand) {
	*h = append(*h, c)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !candLess(q[i], q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeCand {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(q) {
			break
		}
		c := l
		if r := l + 1; r < len(q) && candLess(q[r], q[l]) {
			c = r
		}
		if !candLess(q[c], q[i]) {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	*h = q
	return top
}

// initialSymbols splits w into per-character ids, with byte fallback and unknown handling
// as in HF's BPE::merge_word.
func (m *bpeModel) initialSymbols(w string) []int32 {
	ids := make([]int32, 0, len(w))
	unk, unkPending := int32(-1), false
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		ch := w[i : i+n]
		i += n
		if id, ok := m.vocab[ch]; ok {
			if unkPending {
				ids = append(ids, unk)
				unkPending = false
			}
			ids = append(ids, int32(id))
			continue
		}
		if m.opt.byteFallback {
			all := true
			for k := 0; k < len(ch); k++ {
				if m.byteIDs[ch[k]] < 0 {
					all = false
					break
				}
			}
			if all {
				// HF appends the byte tokens without flushing a pending unknown.
				for k := 0; k < len(ch); k++ {
					ids = append(ids, m.byteIDs[ch[k]])
				}
				continue
			}
		}
		if m.unkID < 0 {
			continue // HF fails the whole encode here; we drop the character
		}
		if unkPending && !m.opt.fuseUnk {
			ids = append(ids, unk)
		}
		unk, unkPending = int32(m.unkID), true
	}
	if unkPending {
		ids = append(ids, unk)
	}
	return ids
}

// mergeWord runs the BPE merges on one word: repeatedly merge the adjacent pair with the
// lowest merge rank, leftmost first, exactly as HF's Word::merge_all.
//
// Hot path: runs once per distinct word (the cache catches repeats).
func (m *bpeModel) mergeWord(w string) []int32 {
	ids := m.initialSymbols(w)
	if len(ids) < 2 || len(m.merges) == 0 {
		return ids
	}
	syms := make([]symbol, len(ids))
	for i, id := range ids {
		syms[i] = symbol{id: id, prev: int32(i - 1), next: int32(i + 1)}
	}
	syms[len(syms)-1].next = -1
	heap := make(mergeHeap, 0, len(ids))
	for i := 0; i+1 < len(ids); i++ {
		if r, ok := m.merges[pairKey(ids[i], ids[i+1])]; ok {
			heap.push(mergeCand{rank: r.rank, pos: int32(i), newID: r.newID})
		}
	}
	for len(heap) > 0 {
		top := heap.pop()
		cur := &syms[top.pos]
		if cur.dead || cur.next < 0 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		// Skip stale entries: the pair must still produce the same token.
		if r, ok := m.merges[pairKey(cur.id, right.id)]; !ok || r.newID != top.newID {
			continue
		}
		cur.id = top.newID
		cur.next = right.next
		syms[nextPos].dead = true
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if r, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				heap.push(mergeCand{rank: r.rank, pos: cur.prev, newID: r.newID})
			}
		}
		if cur.next >= 0 {
			if r, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				heap.push(mergeCand{rank: r.rank, pos: top.pos, newID: r.newID})
			}
		}
	}
	out := ids[:0]
	for i := 0; i >= 0; i = int(syms[i].next) {
		out = append(out, syms[i].id)
	}
	return out
}

package attention

import (
	"fmt"

	"starc/model/kernels"
)

// quest is Quest's page selection (Tang et al., ICML'24; starc.md §2) as in
// its accuracy-evaluation code, per query head:
//
//   - tokens are grouped by position into pages of PageSize (16); the last
//     page may be partial;
//   - each page keeps the element-wise max M and min m of its keys, updated
//     on every Append;
//   - page score Σ_i max(q_i·M_i, q_i·m_i), an upper bound of q·k over the
//     page;
//   - the k = min(max(3, Budget/PageSize), pages) best pages are attended
//     (ties: lower page first). The partial last page is an ordinary
//     candidate.
//
// Quest selects whole pages, so it does not return exactly Budget tokens:
// up to k·PageSize (more than Budget when Budget is not a multiple of
// PageSize or below 3 pages), fewer when the partial last page is chosen.
// Pages are aligned to positions, and positions to slots (Quest never
// moves tokens), so with PageSize 16 each page is one 16-vector row.
//
// "quest-kernel" is the variant of Quest's CUDA kernels
// (quest/utils/controller.py): the last page is always attended and counts
// against the k pages; the other k−1 are the best of the remaining pages.
type quest struct {
	shape  methodShape
	kernel bool
	groups []questGroup   // [Layers*KVHeads]
	heads  []questScratch // [Layers*QueryHeads]
}

type questScratch struct {
	headBuffer           // page scores and selection scratch
	qPos, qNeg []float32 // [HeadDim] max(q, 0), min(q, 0)
	qNegDot    []float32 // [pages] q⁻·m

	// selectGroup, first head of each group only.
	gPos, gNeg     []float32 // [GroupSize*HeadDim] the group's q⁺, q⁻
	gUpper, gLower []float32 // [GroupSize*pages] q⁺·M, q⁻·m
}

func (s *questScratch) lower(n int) []float32 { s.qNegDot = growTo(s.qNegDot, n); return s.qNegDot }

type questGroup struct {
	maxK, minK []float32 // [pages*HeadDim] per-page element-wise bounds
	n          int       // keys appended
}

func newQuest(c Config) (Method, error)       { return newQuestVariant(c, false) }
func newQuestKernel(c Config) (Method, error) { return newQuestVariant(c, true) }

func newQuestVariant(c Config, kernel bool) (Method, error) {
	if c.PageSize < 1 {
		return nil, fmt.Errorf("attention: quest: page size %d must be positive", c.PageSize)
	}
	name := "quest"
	if kernel {
		name = "quest-kernel"
	}
	return &quest{
		shape:  newMethodShape(name, c),
		kernel: kernel,
		groups: make([]questGroup, c.Layers*c.KVHeads),
		heads:  make([]questScratch, c.Layers*c.QueryHeads),
	}, nil
}

func (m *quest) Name() string { return m.shape.name }

func (m *quest) Append(layer, kvHead, pos int, key []float32) {
	if m.shape.dense(layer, kvHead) {
		return
	}
	c := m.shape.cfg
	g := &m.groups[m.shape.group(layer, kvHead)]
	if pos != g.n {
		panic(fmt.Sprintf("attention: %s: key of position %d appended after %d keys (want position order)", m.shape.name, pos, g.n))
	}
	if len(key) != c.HeadDim {
		panic(fmt.Sprintf("attention: %s: key has %d values, want head dim %d", m.shape.name, len(key), c.HeadDim))
	}
	if g.maxK == nil {
		pages := (c.MaxTokens + c.PageSize - 1) / c.PageSize
		g.maxK = make([]float32, 0, pages*c.HeadDim)
		g.minK = make([]float32, 0, pages*c.HeadDim)
	}
	if pos%c.PageSize == 0 { // a new page starts with this key as both bounds
		g.maxK = append(g.maxK, key...)
		g.minK = append(g.minK, key...)
	} else {
		hi, lo := g.maxK[len(g.maxK)-c.HeadDim:], g.minK[len(g.minK)-c.HeadDim:]
		for i, v := range key {
			hi[i] = max(hi[i], v)
			lo[i] = min(lo[i], v)
		}
	}
	g.n++
}

func (m *quest) Prepare(layer, kvHead, n int, _ Mover) {
	m.groups[m.shape.group(layer, kvHead)].check(m.shape.name, n)
}

func (g *questGroup) check(name string, n int) {
	if n < 1 || n > g.n {
		panic(fmt.Sprintf("attention: %s: %d tokens requested but %d keys appended", name, n, g.n))
	}
}

// pagesFor is the number of pages Quest attends to out of pages.
func (m *quest) pagesFor(pages int) int {
	return min(max(3, m.shape.cfg.Budget/m.shape.cfg.PageSize), pages)
}

func (m *quest) Select(layer, head int, q []float32, n int, dst []int) []int {
	buf := &m.heads[m.shape.head(layer, head)]
	if all, ok := m.shape.all(n); ok {
		return appendRange(dst, 0, all)
	}
	g := &m.groups[m.shape.group(layer, m.shape.kvHead(head))]
	g.check(m.shape.name, n)
	k, candidates, some := m.plan(n)
	if !some {
		return appendRange(dst, 0, n)
	}
	scores := m.pageScores(buf, q[:m.shape.cfg.HeadDim], g, candidates)
	return m.pick(buf, scores, k, n, dst)
}

// selectGroup is Select for every query head of KV group kvHead, with the
// page bounds read once for all of them: two ScoreRows passes give each
// head the q⁺·M and q⁻·m that Select computes for it, bit for bit.
func (m *quest) selectGroup(layer, kvHead int, q []float32, n int, dst [][]int) {
	gs, hd := m.shape.cfg.GroupSize(), m.shape.cfg.HeadDim
	h0 := kvHead * gs
	g := &m.groups[m.shape.group(layer, kvHead)]
	_, all := m.shape.all(n)
	k, candidates, some := m.plan(n)
	if all || !some {
		for i := range gs {
			dst[i] = m.Select(layer, h0+i, q[i*hd:(i+1)*hd], n, dst[i])
		}
		return
	}
	g.check(m.shape.name, n)
	lead := &m.heads[m.shape.head(layer, h0)]
	lead.gPos, lead.gNeg = growTo(lead.gPos, gs*hd), growTo(lead.gNeg, gs*hd)
	for i, v := range q[:gs*hd] {
		lead.gPos[i], lead.gNeg[i] = max(v, 0), min(v, 0)
	}
	upper, lower := growTo(lead.gUpper, gs*candidates), growTo(lead.gLower, gs*candidates)
	lead.gUpper, lead.gLower = upper, lower
	kernels.ScoreRows(upper, g.maxK[:candidates*hd], lead.gPos, hd, 1)
	kernels.ScoreRows(lower, g.minK[:candidates*hd], lead.gNeg, hd, 1)
	for i := range gs {
		scores := upper[i*candidates : (i+1)*candidates]
		for p, v := range lower[i*candidates : (i+1)*candidates] {
			scores[p] += v
		}
		dst[i] = m.pick(&m.heads[m.shape.head(layer, h0+i)], scores, k, n, dst[i])
	}
}

// plan returns how many pages are chosen among how many candidates at n
// tokens, and false when every token is attended.
func (m *quest) plan(n int) (k, candidates int, some bool) {
	pages := (n + m.shape.cfg.PageSize - 1) / m.shape.cfg.PageSize
	k = m.pagesFor(pages)
	if k >= pages {
		return 0, 0, false
	}
	if m.kernel { // the last page is always kept and counts against k
		return k - 1, pages - 1, true
	}
	return k, pages, true
}

// pick appends the tokens of the k best pages by scores (plus the last
// page for quest-kernel), ascending.
func (m *quest) pick(buf *questScratch, scores []float32, k, n int, dst []int) []int {
	ps := m.shape.cfg.PageSize
	first := len(dst)
	dst = appendTopK(dst, scores, k, buf.work(len(scores)))
	if m.kernel {
		dst = append(dst, (n-1)/ps)
	}
	// Expand the chosen pages (held in dst[first:]) into their tokens, in
	// place from the back so no page index is overwritten before it is read.
	chosen := len(dst) - first
	total := 0
	for _, p := range dst[first:] {
		total += min((p+1)*ps, n) - p*ps
	}
	dst = extend(dst, first+total)
	w := first + total
	for i := first + chosen - 1; i >= first; i-- {
		p := dst[i]
		for t := min((p+1)*ps, n) - 1; t >= p*ps; t-- {
			w--
			dst[w] = t
		}
	}
	return dst
}

// pageScores computes the bound of pages 0..pages-1 as q⁺·M + q⁻·m with
// q⁺ = max(q, 0) and q⁻ = min(q, 0): term by term this is
// max(q_i·M_i, q_i·m_i) (Quest's sign trick), done as two matrix-vector
// products.
func (m *quest) pageScores(buf *questScratch, q []float32, g *questGroup, pages int) []float32 {
	hd := len(q)
	buf.qPos, buf.qNeg = growTo(buf.qPos, hd), growTo(buf.qNeg, hd)
	for i, v := range q {
		buf.qPos[i], buf.qNeg[i] = max(v, 0), min(v, 0)
	}
	scores, lower := buf.scores(pages), buf.lower(pages)
	kernels.ScoreRows(scores, g.maxK[:pages*hd], buf.qPos, hd, 1) // = MatVec, bit for bit
	kernels.ScoreRows(lower, g.minK[:pages*hd], buf.qNeg, hd, 1)
	for p, v := range lower {
		scores[p] += v
	}
	return scores
}

func (m *quest) Reset() {
	for i := range m.groups {
		g := &m.groups[i]
		g.maxK, g.minK, g.n = g.maxK[:0], g.minK[:0], 0
	}
}

package attention

import (
	"fmt"

	"starc/cluster"
	"starc/model/kernels"
)

// starc is STARC's selection (arXiv 2505.05772) as the released code does
// it (evaluation/starc_attention.py; starc.md §1.4), per KV head g of each
// sparse layer:
//
//  1. First Prepare (the first decode step): every token cached so far is
//     split, in position order, into windows of Window (64) tokens, the last
//     one possibly shorter. Each window is clustered by K-means on its unit
//     keys (cluster package; K = ceil(len/ClusterSize), 4 for a full
//     window) and its tokens are rewritten, stably sorted by cluster, into
//     the window's own slot range through Mover.Move. Clusters are therefore
//     contiguous in the physical layout.
//  2. Later Prepares: new tokens stay in a buffer, at slot = position, until
//     ReclusterInterval (64) of them have accumulated; then they are
//     clustered and rewritten the same way, as new windows. Clustered tokens
//     are never moved again (append-only).
//  3. Select for query head h (GQA: it uses KV head h/GroupSize; each query
//     head selects on its own): the buffer is always attended and counts
//     against the budget. The clusters are ranked by q·μ (μ: the mean of the
//     members' unit keys, not re-normalised; the 1/√d of the released score
//     is left out as it does not change the ranking; ties: earlier cluster
//     first). Whole clusters are taken best first while they fit in
//     Budget − buffer; the first cluster that does not fit is cut to its
//     first leftover tokens in physical order (= ascending position).
//
// So Select returns exactly min(Budget, n) positions whenever the buffer
// fits in the budget (always with Budget ≥ ReclusterInterval). With a
// smaller Budget the released behaviour is kept: the whole buffer, up to
// ReclusterInterval−1 tokens, is attended and nothing else.
//
// At a clustering step the current token has just been clustered, so it is
// attended only if its cluster ranks high enough (released behaviour).
//
// Physical layout: STARC assumes a token it has not clustered sits at slot =
// position (the Engine's identity layout), so each Move is a permutation of
// one window's slots. Every token of the window is listed, whether or not it
// changes slot: the released code and the paper rewrite the whole window.
// A nil Mover is allowed; the layout is then only tracked here.
//
// Options (starc.md §1.8): KMeansInit "first" (released), "random" (paper)
// or "kmeans++" (arXiv v1), seeded per (Seed, layer, KV head, window);
// KMeansMetric "euclidean" (released) or "cosine" (paper); Window,
// ClusterSize, ReclusterInterval and KMeansIters. When ReclusterInterval
// exceeds Window, each batch of buffered tokens is clustered in windows.
type starc struct {
	shape  methodShape
	src    KeySource // the store's keys once bound; nil: each group's keys holds copies
	km     cluster.KMeans
	groups []starcGroup   // [Layers*KVHeads]
	heads  []starcScratch // [Layers*QueryHeads]
}

// starcGroup is the state of one (layer, KV head). Slots 0..clustered-1
// hold the windows, cluster by cluster; slots clustered..n-1 the buffer.
type starcGroup struct {
	keys      keyLog    // counts the keys; holds them only when no KeySource is bound
	window    []float32 // [Window*HeadDim] one window of FP16 keys, widened for K-means
	started   bool      // first decode Prepare done
	clustered int       // tokens in windows; the rest is the buffer
	windows   int       // windows clustered so far
	posAt     []int32   // [clustered] token position held by each clustered slot
	centroids []float32 // [clusters*HeadDim] in window order, empty clusters included
	start     []int32   // [clusters] first slot of each cluster
	size      []int32   // [clusters] tokens in each cluster

	fit      cluster.Result
	next     []int // [K] next free slot per cluster while sorting a window
	movePos  []int // [Window] Move arguments
	moveSlot []int
}

type starcScratch struct {
	scores []float32 // [clusters] q·μ
	ranks  rankHeap  // [non-empty clusters] rankKey
	group  []float32 // [GroupSize*clusters] the group's scores (selectGroup; first head of the group only)
}

func newSTARC(c Config) (Method, error) {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"window", c.Window}, {"cluster size", c.ClusterSize},
		{"recluster interval", c.ReclusterInterval}, {"k-means iterations", c.KMeansIters},
	} {
		if f.v < 1 {
			return nil, fmt.Errorf("attention: starc: %s %d must be positive", f.name, f.v)
		}
	}
	init, err := cluster.ParseInit(c.KMeansInit)
	if err != nil {
		return nil, fmt.Errorf("attention: starc: %w", err)
	}
	metric, err := cluster.ParseMetric(c.KMeansMetric)
	if err != nil {
		return nil, fmt.Errorf("attention: starc: %w", err)
	}
	return &starc{
		shape:  newMethodShape("starc", c),
		km:     cluster.KMeans{MaxIter: c.KMeansIters, Init: init, Metric: metric},
		groups: make([]starcGroup, c.Layers*c.KVHeads),
		heads:  make([]starcScratch, c.Layers*c.QueryHeads),
	}, nil
}

func (m *starc) Name() string { return "starc" }

func (m *starc) readKeysFrom(src KeySource) { m.src = src }

func (m *starc) Append(layer, kvHead, pos int, key []float32) {
	if m.shape.dense(layer, kvHead) {
		return
	}
	m.groups[m.shape.group(layer, kvHead)].keys.append(pos, key, m.shape.cfg, m.src == nil)
}

// Prepare clusters what the released code clusters at this step and moves
// the clustered tokens into cluster order.
//
// Hot path at reclustering steps: one K-means of ReclusterInterval keys.
func (m *starc) Prepare(layer, kvHead, n int, mover Mover) {
	g := &m.groups[m.shape.group(layer, kvHead)]
	g.keys.check(n)
	if n < g.clustered {
		panic(fmt.Sprintf("attention: starc: Prepare with %d tokens after %d were clustered", n, g.clustered))
	}
	c := m.shape.cfg
	if !g.started {
		g.started = true
		m.clusterRange(g, layer, kvHead, 0, n, mover)
		return
	}
	for n-g.clustered >= c.ReclusterInterval {
		m.clusterRange(g, layer, kvHead, g.clustered, g.clustered+c.ReclusterInterval, mover)
	}
}

// clusterRange clusters tokens lo..hi-1 in windows of Window tokens.
func (m *starc) clusterRange(g *starcGroup, layer, kvHead, lo, hi int, mover Mover) {
	for w := lo; w < hi; w += m.shape.cfg.Window {
		m.clusterWindow(g, layer, kvHead, w, min(w+m.shape.cfg.Window, hi), mover)
	}
}

// clusterWindow clusters tokens lo..hi-1 (at slots lo..hi-1) and rewrites
// them cluster by cluster, in ascending position inside each cluster.
func (m *starc) clusterWindow(g *starcGroup, layer, kvHead, lo, hi int, mover Mover) {
	c := m.shape.cfg
	hd, size := c.HeadDim, hi-lo
	km := m.km
	km.K = (size + c.ClusterSize - 1) / c.ClusterSize
	km.Seed = windowSeed(c.Seed, layer, kvHead, g.windows)
	km.Fit(&g.fit, m.windowKeys(g, layer, kvHead, lo, hi), size, hd)

	g.next = growTo(g.next, km.K)
	slot := lo
	for k, members := range g.fit.Sizes {
		g.next[k] = slot
		g.start = append(g.start, int32(slot))
		g.size = append(g.size, int32(members))
		g.centroids = append(g.centroids, g.fit.Centroids[k*hd:(k+1)*hd]...)
		slot += members
	}
	g.posAt = extend(g.posAt, hi)
	g.movePos, g.moveSlot = growTo(g.movePos, size), growTo(g.moveSlot, size)
	for i, label := range g.fit.Labels[:size] { // counting sort: stable
		s := g.next[label]
		g.next[label]++
		g.posAt[s] = int32(lo + i)
		g.movePos[i], g.moveSlot[i] = lo+i, s
	}
	if mover != nil {
		mover.Move(layer, kvHead, g.movePos, g.moveSlot)
	}
	g.clustered = hi
	g.windows++
}

// windowKeys returns the keys of the not yet clustered tokens lo..hi-1,
// which sit at slots lo..hi-1: the store's float32 keys in place, the
// device's FP16 keys widened into the group's window scratch, or the
// method's own copy when no KeySource is bound.
func (m *starc) windowKeys(g *starcGroup, layer, kvHead, lo, hi int) []float32 {
	hd := m.shape.cfg.HeadDim
	if m.src == nil {
		return g.keys.keys[lo*hd : hi*hd]
	}
	f32, f16 := m.src.Keys(layer, kvHead, lo, hi)
	if f16 == nil {
		return f32
	}
	g.window = growTo(g.window, len(f16))
	kernels.F16ToF32(g.window, f16)
	return g.window
}

// windowSeed gives every window its own reproducible k-means seed.
func windowSeed(seed uint64, layer, kvHead, window int) uint64 {
	z := seed ^ uint64(layer)<<48 ^ uint64(kvHead)<<32 ^ uint64(window)
	// splitmix64 finaliser
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Select ranks the clusters for q and fills the budget (see starc).
//
// Hot path: one dot product per cluster, then a heap of the clusters
// popped only as far as the budget reaches (no sort of all clusters).
func (m *starc) Select(layer, head int, q []float32, n int, dst []int) []int {
	s := &m.heads[m.shape.head(layer, head)]
	if all, ok := m.shape.all(n); ok {
		return appendRange(dst, 0, all)
	}
	g := m.selecting(layer, m.shape.kvHead(head), n)
	if m.shape.cfg.Budget > n-g.clustered {
		hd := m.shape.cfg.HeadDim
		s.scores = growTo(s.scores, len(g.size))
		kernels.ScoreRows(s.scores, g.centroids, q[:hd], hd, 1) // = MatVec, bit for bit
	}
	return m.fill(g, s, s.scores, n, dst)
}

// selectGroup is Select for every query head of KV group kvHead, with the
// centroids scored in one pass for all of them (ScoreRows: each head's
// scores as Select computes them, bit for bit).
func (m *starc) selectGroup(layer, kvHead int, q []float32, n int, dst [][]int) {
	gs, hd := m.shape.cfg.GroupSize(), m.shape.cfg.HeadDim
	h0 := kvHead * gs
	if _, all := m.shape.all(n); all {
		for i := range gs {
			dst[i] = m.Select(layer, h0+i, q[i*hd:(i+1)*hd], n, dst[i])
		}
		return
	}
	g := m.selecting(layer, kvHead, n)
	clusters := len(g.size)
	scores := m.heads[m.shape.head(layer, h0)].group
	if m.shape.cfg.Budget > n-g.clustered {
		scores = growTo(scores, gs*clusters)
		m.heads[m.shape.head(layer, h0)].group = scores
		kernels.ScoreRows(scores, g.centroids, q[:gs*hd], hd, 1)
	}
	for i := range gs {
		var si []float32
		if len(scores) >= (i+1)*clusters {
			si = scores[i*clusters : (i+1)*clusters]
		}
		dst[i] = m.fill(g, &m.heads[m.shape.head(layer, h0+i)], si, n, dst[i])
	}
}

// selecting returns the state of (layer, kvHead) for a Select over n
// tokens, checking the call.
func (m *starc) selecting(layer, kvHead, n int) *starcGroup {
	g := &m.groups[m.shape.group(layer, kvHead)]
	if !g.started {
		panic("attention: starc: Select before the first Prepare")
	}
	g.keys.check(n)
	if n < g.clustered {
		panic(fmt.Sprintf("attention: starc: Select over %d tokens after %d were clustered", n, g.clustered))
	}
	return g
}

// fill appends the buffer, then the best clusters by scores (q·μ of every
// cluster; unused when the buffer fills the budget) to the budget.
func (m *starc) fill(g *starcGroup, s *starcScratch, scores []float32, n int, dst []int) []int {
	dst = appendRange(dst, g.clustered, n) // the buffer is always attended
	left := m.shape.cfg.Budget - (n - g.clustered)
	if left <= 0 {
		return dst
	}
	ranks := s.ranks[:0]
	for id, members := range g.size {
		if members > 0 {
			ranks = append(ranks, rankKey(scores[id], id))
		}
	}
	s.ranks = ranks
	// Best first, popped one at a time: only the clusters taken are ranked.
	ranks.init()
	for left > 0 && len(ranks) > 0 {
		id := uint32(ranks.pop())
		first, members := int(g.start[id]), int(g.size[id])
		take := min(members, left)
		for _, p := range g.posAt[first : first+take] {
			dst = append(dst, int(p))
		}
		left -= take
	}
	return dst
}

func (m *starc) Reset() {
	for i := range m.groups {
		g := &m.groups[i]
		g.keys.reset()
		g.started, g.clustered, g.windows = false, 0, 0
		g.posAt, g.centroids, g.start, g.size = g.posAt[:0], g.centroids[:0], g.start[:0], g.size[:0]
	}
}

// extend returns s with length n, keeping its contents; the capacity grows
// amortised.
func extend[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	return append(s[:cap(s)], make([]T, n-cap(s))...)[:n]
}

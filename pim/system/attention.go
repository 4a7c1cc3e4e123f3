package system

import "math"

// Counts are PIM command counts of one channel (one head) for one decode step's
// attention; the same quantities as pim.AttentionCommands.
type Counts struct {
	MAC  int64 // all-bank MAC (MACAB): one 32 B column read in every bank of the channel
	SFM  int64 // softmax on the buffer die
	MVGB int64 // move softmax buffer -> GEMV buffers
	MVSB int64 // move GEMV results -> softmax buffer
	WRGB int64 // write the query into the GEMV buffers
}

func (c Counts) add(o Counts) Counts {
	return Counts{c.MAC + o.MAC, c.SFM + o.SFM, c.MVGB + o.MVGB, c.MVSB + o.MVSB, c.WRGB + o.WRGB}
}

// dataPath is the number of data-path commands (they share the channel's
// column-command slot with MACs but not the MAC timing).
func (c Counts) dataPath() int64 { return c.MVGB + c.MVSB + c.WRGB }

// CyclesFunc gives the cycles (tCK) and command counts of one decode step's
// attention (score, softmax, context) on one channel holding one head whose
// effective context is R rows of 16 tokens (R = ceil(L_eff/16)).
type CyclesFunc func(R int) (cycles int64, c Counts)

// ClusterParams describes STARC's decode-time re-clustering (starc.md §1.2 to
// §1.4), used without AttAccCompat.
type ClusterParams struct {
	Window     int // tokens per clustering window (64)
	RowTokens  int // tokens per cluster target / DRAM row (16)
	Iterations int // K-means iterations charged (16, the cap)
}

// DefaultClusterParams are STARC's released constants.
func DefaultClusterParams() ClusterParams {
	return ClusterParams{Window: 64, RowTokens: 16, Iterations: 16}
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// attaccClusterCounts are the commands AttAcc's trace generator adds to one
// channel for STARC's clustering pass at context L (attacc.md §4.5): norm
// squares, norm divide, the scheduled prefix of the similarity groups, 16
// centroid updates and the K/V remap.
func attaccClusterCounts(L int64) Counts {
	rows := ceilDiv(L, 16)       // n_idx rows
	groups256 := ceilDiv(L, 256) // MV_GB groups
	centroids := ceilDiv(L, 64)  // K = L/64
	sim := ceilDiv(L*L, 65536)   // similarity MAC groups scheduled
	const iters = 16             // hard-coded in the generator
	var c Counts
	c.MAC = 2*rows + 2*sim                             // norm squares + similarity
	c.MVSB = 8*ceilDiv(rows, 16) + 8*sim               // their flushes
	c.MVGB = 8*groups256 + iters*8*groups256 + 16*rows // divide + updates + remap
	c.WRGB = iters*8*ceilDiv(centroids, 16) + 16*rows  // centroid writes + remap
	return c
}

// windowClusterCost is one STARC clustering window of n tokens on one channel
// (one KV head) from the command counts of the STARC paper's Table 1
// (starc.md §5.3) with K = ceil(n/RowTokens) clusters, dh-wide keys, and the
// remap of the window's K and V rows (AttAcc's remap rule). VNORM commands are
// returned separately: they occupy MAC slots but read no cells.
func windowClusterCost(n, dh int64, p ClusterParams) (c Counts, vnorm int64) {
	rowTok := int64(p.RowTokens)
	k := ceilDiv(n, rowTok)
	td := ceilDiv(dh, 64) // MACAB per dot product: 4 banks × 16 MACs
	tk := ceilDiv(k, 16)  // centroid tiles per sample
	it := int64(p.Iterations)
	c.MAC = n*td + it*(n*td*tk+n*td) // self-dot + (assignment + update) per iteration
	vnorm = n * td
	c.MVSB = n + it*n*tk
	remap := 2 * 4 * td * ceilDiv(n, rowTok) // K and V, 4 banks, td columns, per row
	c.WRGB = it*(n+1) + remap
	c.MVGB = it*n + remap
	return c, vnorm
}

// clusterCycles is the issue-bound estimate of a clustering pass on one channel:
// every MAC slot at nCCDAB, every data-path command at nBL, nothing overlapped.
func (d PIMDevice) clusterCycles(c Counts, vnorm int64) int64 {
	return int64(d.NCCDAB)*(c.MAC+vnorm) + int64(d.NBL)*c.dataPath()
}

// pimEnergy is the DRAM (cell + IO) energy in pJ of the given per-AttAcc command
// totals, summed over all AttAccs. ioScale is 1 for AttAcc's per-byte use of its
// per-bit IO constants, 8 for per bit.
func (h *Hardware) pimEnergy(c Counts, ioScale float64) float64 {
	d := h.PIM
	col := float64(d.ColumnBytes)
	cell := float64(c.MAC) * col * float64(d.BanksPerChannel())
	si := float64(c.WRGB) * col
	tsv := float64(c.dataPath()) * col
	e := h.Energy
	return (cell*e.PIMCellPerByte + si*e.IOInterposer*ioScale + tsv*(e.IOTSV+e.IOGIOMux+e.IOBGMux)*ioScale) * float64(h.AttAccs)
}

// softmax is AttAcc's analytic softmax unit for nh heads over ctx tokens.
func (h *Hardware) softmax(ctx, nh, dbyte float64) layerCost {
	flops := 5 * ctx * nh
	bytes := 2 * ctx * nh * dbyte
	rate := h.StackExtBW * float64(h.StacksPerAcc)
	var c layerCost
	tComp := flops / (rate * float64(int(2/dbyte)))
	tMem := bytes / rate
	c.computeBound = tComp > tMem
	c.time = math.Max(tComp, tMem)
	c.energy[eMem] = bytes * h.Energy.PIMSRAMPerByte * float64(h.AttAccs)
	c.energy[eALU] = flops / 2 * h.Energy.ALUPerMAC * float64(h.AttAccs)
	return c
}

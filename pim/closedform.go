package pim

// Closed-form (row-level) model of one AttAcc decode-step attention on one
// channel: the fast path for sweeps. It is exact where the schedule is
// regular (full attention or a row-packed sparse selection of R token groups,
// one head per channel, head dim 128, FP16) and is held equal to the
// command-level engine (SimulateAttention) by tests, and to Ramulator2 by the
// parity tests on ../shared/docs/attacc.
//
// The rules (attacc.md §5 item 3 and its Appendix, re-derived and extended
// from the command-level schedule this package simulates):
//   - MACs every nCCDAB; a row switch costs MAC→PREA (nRTPL, but not before
//     ACTAB+nRAS) → ACTAB (nRP) → MAC (nRCDRD);
//   - a refresh requested while a MAC row is open waits for that row's PREA:
//     REFab one cycle later (or at its request), the next ACTAB nRFC after it;
//     a refresh due by the last cycle is still served (PREA + one REFab per
//     pseudo-channel) before the channel is idle;
//   - between score and context: the MV_SB/SFM tail of the score phase, then
//     the 8·ceil(R/16) MV_GB issued from the PIM queue (mvgbOffsets); the V row
//     is opened when the first context MAC enters the queue;
//   - the context ends with the last MV_SB flush; when the last output slice's
//     MACs sit inside one row without starting it, the previous flush's
//     bank-0 MV_SB is held back by the open-row rule until the last MAC (two
//     cycles more), and for tiny R the two flushes (16 MV_SB, nBL apart) bound
//     the end.

import (
	"math/bits"
	"sync"
)

// AttAccHeadDim is the head dimension of AttAcc's trace generator.
const AttAccHeadDim = 128

// AttentionCommands counts the PIM commands of one head's attention in one
// decode step on one channel.
type AttentionCommands struct {
	MAC  int64 `json:"mac"`  // MACAB (all-bank MAC), score and context
	SFM  int64 `json:"sfm"`  // softmax on the buffer die
	MVGB int64 `json:"mvgb"` // scores moved back to the GEMV buffers
	MVSB int64 `json:"mvsb"` // results moved to the softmax buffer
	WRGB int64 `json:"wrgb"` // query written to the GEMV buffers
}

// Add returns the element-wise sum.
func (a AttentionCommands) Add(b AttentionCommands) AttentionCommands {
	return AttentionCommands{a.MAC + b.MAC, a.SFM + b.SFM, a.MVGB + b.MVGB, a.MVSB + b.MVSB, a.WRGB + b.WRGB}
}

// Scale returns every count multiplied by n.
func (a AttentionCommands) Scale(n int64) AttentionCommands {
	return AttentionCommands{a.MAC * n, a.SFM * n, a.MVGB * n, a.MVSB * n, a.WRGB * n}
}

// CommandsPerHead returns the command counts of one head on one channel for
// R token groups per partition (R = ceil(L/16) in AttAcc's layout), head dim
// 128, FP16: MAC = 4R, MVGB = 8·ceil(R/16), MVSB = 8·ceil(R/16)+16, WRGB = 8,
// SFM = 1 (attacc.md §5 item 2).
func CommandsPerHead(R int) AttentionCommands {
	return attAccGeometry(HBM3PIM(true), AttAccHeadDim).commands(R)
}

// ClosedFormAttention returns the cycles (in tCK of s) and command counts of
// one decode step's attention for one head on one channel with R token
// groups per partition, in AttAcc's layout (head dim 128, FP16, bank-level
// PIM, <= 16 heads per stack so one head per channel). Refresh is included.
// R <= 0 gives zero.
func ClosedFormAttention(s Spec, R int) (cycles int64, c AttentionCommands) {
	if s.PIM == PIMNone {
		panic("pim: ClosedFormAttention: part " + s.Name + " has no GEMV units")
	}
	if R <= 0 {
		return 0, AttentionCommands{}
	}
	g := attAccGeometry(s, AttAccHeadDim)
	return g.closedFormCycles(s.Timing, R), g.commands(R)
}

// geometry is the channel layout of one head as AttAcc's generator builds it.
type geometry struct {
	partitions   int // pCH × ranks × BG: tokens processed in parallel by one MAC (16)
	rankBG       int // ranks × BG of one pCH: MV_SB / MV_GB targets (8)
	bankGroupsN  int // bank groups per rank (4)
	banksPerBG   int // a key is split over the banks of one BG (4)
	colsPerToken int // columns per token per bank = headDim·2 B / (banks·column bytes) (2)
	colsPerRow   int // MACs per row switch (32)
	groupTokens  int // n_idx per score MV_SB flush (16 = elements per column)
	queue        int // PIM request queue entries (33)
	vRowBase     int // first row of V (AttAcc: byte 2^23 = row 8192)
}

func attAccGeometry(s Spec, headDim int) geometry {
	o := s.Org
	elems := o.ColumnBytes / 2
	cpt := (headDim + o.Banks*elems - 1) / (o.Banks * elems)
	q := s.PIMQueueEntries
	if q <= 0 {
		q = 33
	}
	return geometry{
		partitions:   o.PseudoChannels * o.Ranks * o.BankGroups,
		rankBG:       o.Ranks * o.BankGroups,
		bankGroupsN:  o.BankGroups,
		banksPerBG:   o.Banks,
		colsPerToken: cpt,
		colsPerRow:   o.Columns,
		groupTokens:  elems,
		queue:        q,
		vRowBase:     (1 << 23) / o.RowBytes(),
	}
}

func (g geometry) bankGroups() int { return g.bankGroupsN }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (g geometry) scoreGroups(R int) int { return ceilDiv(R, g.groupTokens) }

func (g geometry) commands(R int) AttentionCommands {
	if R <= 0 {
		return AttentionCommands{}
	}
	C := int64(g.scoreGroups(R))
	k := int64(g.colsPerToken)
	rb := int64(g.rankBG)
	return AttentionCommands{
		MAC:  2 * k * int64(R),
		SFM:  1,
		MVGB: rb * C,
		MVSB: rb*C + int64(g.banksPerBG*(g.rankBG/g.bankGroupsN))*k,
		WRGB: int64(g.banksPerBG) * k,
	}
}

// Schedule constants of AttAcc's tail schedule, in cycles, as the
// command-level engine produces them (see the tests that hold the two equal).
const (
	// mvgbLead: first MV_GB after the last score MAC (MV_SB tail + SFM).
	mvgbLead = 18
)

// closedFormCycles is the row-level event model (see the file comment). Runs
// of full rows are crossed with rowJumps in O(log rows), refreshes included,
// so a call costs O(log R) after the first with the same timing (held equal
// to the row-by-row walk by TestClosedFormSkipsRowsExactly).
func (g geometry) closedFormCycles(t Timing, R int) int64 {
	c := t.CCDAB
	k := g.colsPerToken
	C := g.scoreGroups(R)
	cpr := g.colsPerRow
	nRows := ceilDiv(k*R, cpr)        // rows per phase (K, then V)
	lastRow := k*R - (nRows-1)*cpr    // MACs in the last row of a phase
	mvsbTail := (g.rankBG-1)*t.BL + 1 // last MV_SB of the final flush, after the last MAC

	// First score MAC: the WR_GB of the query (banks × k, same bank group, so
	// nCCDL apart, from cycle 1), the barrier drops, the MAC issues next cycle;
	// the ACTAB issued at cycle 1 next to the first WR_GB must have had nRCDRD.
	nwrgb := g.banksPerBG * k
	act := 1
	tm := max(1+(nwrgb-1)*t.CCDL+1, act+t.RCDRD)
	nextRef := t.REFI

	// preaAfter: the PREA closing a row opened at act whose last MAC is e.
	preaAfter := func(e int) int { return max(e+t.RTPL, act+t.RAS) }
	// refreshInRow: a refresh requested up to lim is served after the row's
	// PREA: REFab one cycle later, or at its request time.
	refreshInRow := func(prea, lim int) (refAt int, ok bool) {
		for nextRef <= lim {
			if !ok {
				refAt, ok = max(nextRef, prea+1), true
			}
			nextRef += t.REFI
		}
		return
	}
	// nextRow: PREA, optional refresh, ACTAB, first MAC of the next row.
	nextRow := func(e int) {
		prea := preaAfter(e)
		next := prea + t.RP
		if refAt, ok := refreshInRow(prea, prea+t.RP); ok {
			next = max(next, refAt+t.RFC)
		}
		act = next
		tm = next + t.RCDRD
	}
	// skipRows crosses full rows j, j+1, ... up to limit (each row's MACs,
	// PREA, any refresh, ACTAB of the next row) once the current row's ACTAB
	// is nRCDRD before its first MAC, the state rowJumps tabulates.
	jumps := rowJumpsFor(t, c, cpr)
	skipRows := func(j, limit int) int {
		if act != tm-t.RCDRD || j >= limit {
			return j
		}
		d, ok := jumps.index(nextRef - tm)
		if !ok {
			return j
		}
		for n := limit - j; n > 0; {
			k := min(bits.Len(uint(n))-1, len(jumps.next)-1)
			tm += jumps.elapsed[k][d]
			d = int(jumps.next[k][d])
			n -= 1 << k
		}
		nextRef = tm + d + jumps.dMin
		act = tm - t.RCDRD
		return limit
	}
	size := func(j int) int {
		if j == nRows-1 {
			return lastRow
		}
		return cpr
	}
	for j := 0; j < nRows; j++ { // score (K) rows
		if j = skipRows(j, nRows-1); j < nRows-1 {
			nextRow(tm + c*(cpr-1))
			continue
		}
		e := tm + c*(lastRow-1)
		// Last score row, then the MV_GB phase and the opening of the V row.
		preaK := preaAfter(e)
		refAt, ok := refreshInRow(preaK, preaK)
		off := mvgbSchedule(C, g.rankBG, g.queue, t.CCDL, t.BL)
		first := e + mvgbLead
		last := first + off.last
		preaV := preaK
		if off.freeOK {
			preaV = max(preaV, first+off.free+1)
		}
		actV := preaV + t.RP
		normal := max(last+1, actV+t.RCDRD)
		if !ok && nextRef < normal {
			tau := nextRef
			switch {
			case tau < preaV:
				refAt, ok = tau+1, true
			case tau <= actV:
				refAt, ok = tau, true
			case actV+t.RAS < normal:
				refAt, ok = max(tau, actV+t.RAS)+1, true
			}
			// Otherwise the context MACs start first and the refresh waits for
			// the end of the first context row (handled as an in-row refresh).
			if ok {
				nextRef += t.REFI
			}
		}
		act, tm = actV, normal
		if ok {
			act = max(actV, refAt+t.RFC)
			tm = max(normal, act+t.RCDRD)
		}
	}
	// The last context slice's MACs are [a, b] (V column index). If they sit
	// inside one row without starting it, the previous slice's first MV_SB
	// (bank 0, like the MACs) is held back by the open-row rule until the last
	// MAC, and the final flush ends two cycles later.
	a, b := (k-1)*R, k*R-1
	if a/cpr == b/cpr && a%cpr != 0 {
		mvsbTail += t.BL
	}
	// The previous slice's flush starts one cycle after its last MAC (index
	// a−1, at e0) and the last flush follows it on the same data path:
	// 2·8 MV_SB nBL apart.
	nflush := g.banksPerBG * (g.rankBG / g.bankGroupsN)
	e0 := -1
	rowA := -1 // the V row holding MAC a−1
	if a > 0 {
		rowA = (a - 1) / cpr
	}
	for j := 0; j < nRows; j++ { // context (V) rows
		limit := nRows - 1
		if j <= rowA {
			limit = rowA
		}
		j = skipRows(j, limit)
		n := size(j)
		if j == rowA {
			e0 = tm + c*(a-1-j*cpr)
		}
		e := tm + c*(n-1)
		if j == nRows-1 {
			end := e + mvsbTail
			if e0 >= 0 {
				end = max(end, e0+1+(2*nflush-1)*t.BL)
			}
			// A refresh requested by the end is still served before the
			// channel is idle: PREA, then one REFab per pseudo-channel.
			if nextRef <= end {
				prea := max(nextRef, preaAfter(e))
				end = max(end, prea+g.partitions/g.rankBG)
			}
			return int64(end)
		}
		nextRow(e)
	}
	return 0 // unreachable for R > 0
}

// rowJumps tabulates full-row transitions of the closed form. In the state
// where a row's ACTAB is nRCDRD before its first MAC (every row but a
// phase's first), the next row's state depends only on d = next refresh
// request − first MAC, which stays in (−nRCDRD, nREFI] whenever nREFI exceeds
// a row plus nRFC (checked while building; otherwise there is no table); the
// table gives, for 2^k rows from each d, the d reached and the cycles elapsed.
type rowJumps struct {
	dMin    int
	next    [][]int32 // [k][d−dMin]
	elapsed [][]int   // [k][d−dMin]
}

// rowJumpLevels bounds the table to 2^23-row jumps (longer runs repeat the top one).
const rowJumpLevels = 24

type rowJumpKey struct {
	t       Timing
	c, cols int
}

var rowJumpCache sync.Map // rowJumpKey → *rowJumps

// index returns d's table index, false outside the tabulated range or
// when the timing has no table (rows are then walked one by one).
func (r *rowJumps) index(d int) (int, bool) {
	i := d - r.dMin
	return i, r.next != nil && i >= 0 && i < len(r.next[0])
}

// rowJumpsFor returns the table for timing t, MACs c cycles apart and rows of
// cols MACs, building it on first use.
func rowJumpsFor(t Timing, c, cols int) *rowJumps {
	key := rowJumpKey{t, c, cols}
	if v, ok := rowJumpCache.Load(key); ok {
		return v.(*rowJumps)
	}
	hold := max(c*(cols-1)+t.RTPL, t.RAS-t.RCDRD) // first MAC → PREA of a full row
	r := &rowJumps{dMin: -t.RCDRD}
	n := t.REFI + t.RCDRD + 1
	next, elapsed := make([]int32, n), make([]int, n)
	for i := range n {
		// One row from first MAC 0 with the next refresh request at d (the
		// rules of nextRow in closedFormCycles).
		nextRef, prea := i+r.dMin, hold
		start := prea + t.RP
		if nextRef <= prea+t.RP {
			refAt := max(nextRef, prea+1)
			for nextRef <= prea+t.RP {
				nextRef += t.REFI
			}
			start = max(start, refAt+t.RFC)
		}
		tm := start + t.RCDRD
		j := nextRef - tm - r.dMin
		if j < 0 || j >= n { // a timing whose refresh cycle outlasts its interval
			r.next = nil
			v, _ := rowJumpCache.LoadOrStore(key, r)
			return v.(*rowJumps)
		}
		next[i], elapsed[i] = int32(j), tm
	}
	r.next, r.elapsed = [][]int32{next}, [][]int{elapsed}
	for k := 1; k < rowJumpLevels; k++ {
		pn, pe := r.next[k-1], r.elapsed[k-1]
		nn, ne := make([]int32, n), make([]int, n)
		for i := range n {
			mid := pn[i]
			nn[i], ne[i] = pn[mid], pe[i]+pe[mid]
		}
		r.next, r.elapsed = append(r.next, nn), append(r.elapsed, ne)
	}
	v, _ := rowJumpCache.LoadOrStore(key, r)
	return v.(*rowJumps)
}

// mvgbTimes is what the closed form needs of one channel's MV_GB schedule:
// the offset of the last MV_GB and, when the schedule has at least queue−1
// commands, of the one that frees the queue entry the first context MAC needs
// (index n−(queue−1)).
type mvgbTimes struct {
	last, free int
	freeOK     bool
}

var mvgbCache sync.Map // key mvgbKey -> mvgbTimes (a few words per distinct C)

type mvgbKey struct{ C, groups, queue, ccdl, bl int }

// mvgbSchedule returns mvgbTimes for C MV_GB per (rank, BG) group. Past
// mvgbLinearFrom·queue commands per group both offsets grow by groups·ccdl per
// command (one group fills the queue and issues every nCCDL), so they are
// extrapolated from two simulated points; TestMVGBScheduleLinear holds the
// extrapolation equal to the simulation.
func mvgbSchedule(C, groups, queue, ccdl, bl int) mvgbTimes {
	key := mvgbKey{C, groups, queue, ccdl, bl}
	if v, ok := mvgbCache.Load(key); ok {
		return v.(mvgbTimes)
	}
	var m mvgbTimes
	if c0 := mvgbLinearFrom * queue; C > c0+1 {
		a := mvgbSchedule(c0, groups, queue, ccdl, bl)
		b := mvgbSchedule(c0+1, groups, queue, ccdl, bl)
		d := C - c0
		m = mvgbTimes{last: a.last + d*(b.last-a.last), free: a.free + d*(b.free-a.free), freeOK: true}
	} else {
		off := mvgbOffsets(C, groups, queue, ccdl, bl)
		m.last = off[len(off)-1]
		if kk := len(off) - (queue - 1); kk >= 0 {
			m.free, m.freeOK = off[kk], true
		}
	}
	mvgbCache.Store(key, m)
	return m
}

// mvgbLinearFrom × queue is the number of MV_GB per group from which the
// schedule is periodic (measured: from about 2 × queue).
const mvgbLinearFrom = 4

// mvgbOffsets returns the issue times, relative to the first, of the
// groups·C MV_GB of one channel: groups (rank, BG) of C commands each in
// (rank, BG)-major order, issued from an in-order queue of `queue` entries,
// oldest ready first; the same (rank, BG) at least ccdl apart, any two at
// least bl apart.
func mvgbOffsets(C, groups, queue, ccdl, bl int) []int {
	n := groups * C
	win := make([]int, 0, queue) // group ids in the queue, oldest first
	next := 0
	for next < n && len(win) < queue {
		win = append(win, next/C)
		next++
	}
	last := make([]int, groups)
	for i := range last {
		last[i] = -1 << 30
	}
	lastAny := -1 << 30
	times := make([]int, 0, n)
	for t := 0; len(win) > 0; t++ {
		if t-lastAny < bl {
			continue
		}
		pick := -1
		for i, gid := range win {
			if t-last[gid] >= ccdl {
				pick = i
				break
			}
		}
		if pick < 0 {
			continue
		}
		gid := win[pick]
		win = append(win[:pick], win[pick+1:]...)
		last[gid], lastAny = t, t
		times = append(times, t)
		if next < n {
			win = append(win, next/C)
			next++
		}
	}
	for i := range times {
		times[i] -= times[0]
	}
	return times
}

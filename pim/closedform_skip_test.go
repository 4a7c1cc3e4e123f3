package pim

import "testing"

// The closed form skips full rows between refreshes and extrapolates the MV_GB
// schedule of long contexts. These tests hold both shortcuts equal to the
// straightforward walks they replace: every row one after another, every
// MV_GB simulated.

func TestClosedFormSkipsRowsExactly(t *testing.T) {
	mvgb := map[mvgbKey][]int{}
	offsets := func(C, groups, queue, ccdl, bl int) []int {
		k := mvgbKey{C, groups, queue, ccdl, bl}
		if o, ok := mvgb[k]; ok {
			return o
		}
		o := mvgbOffsets(C, groups, queue, ccdl, bl)
		mvgb[k] = o
		return o
	}
	for _, power := range []bool{true, false} {
		s := HBM3PIM(power)
		g := attAccGeometry(s, AttAccHeadDim)
		check := func(t *testing.T, tm Timing, R int) {
			want := g.rowByRowCycles(tm, R, offsets)
			if got := g.closedFormCycles(tm, R); got != want {
				t.Fatalf("power limit %v, nREFI %d, R=%d: %d cycles, row by row %d", power, tm.REFI, R, got, want)
			}
		}
		for R := 1; R <= 3000; R++ {
			check(t, s.Timing, R)
		}
		for _, R := range []int{4095, 4096, 4097, 10007, 16384, 33333, 65536, 262144} {
			check(t, s.Timing, R)
		}
		// Refreshes every few rows, and a refresh interval shorter than a row
		// plus nRFC (no jump table: rows walked one by one).
		for _, refi := range []int{1500, 700, 400} {
			tm := s.Timing
			tm.REFI = refi
			for R := 1; R <= 600; R++ {
				check(t, tm, R)
			}
			check(t, tm, 20011)
		}
	}
}

func TestMVGBScheduleLinear(t *testing.T) {
	for _, tc := range []struct{ groups, queue, ccdl, bl int }{
		{8, 33, 4, 2}, // HBM3-PIM: 8 (rank, BG), 33 queue entries, nCCDL 4, nBL 2
		{8, 17, 4, 2},
		{4, 33, 3, 2},
	} {
		for C := 1; C <= 12*tc.queue; C++ {
			off := mvgbOffsets(C, tc.groups, tc.queue, tc.ccdl, tc.bl)
			got := mvgbSchedule(C, tc.groups, tc.queue, tc.ccdl, tc.bl)
			want := mvgbTimes{last: off[len(off)-1]}
			if kk := len(off) - (tc.queue - 1); kk >= 0 {
				want.free, want.freeOK = off[kk], true
			}
			if got != want {
				t.Fatalf("%+v, C=%d: %+v, simulated %+v", tc, C, got, want)
			}
		}
	}
}

// rowByRowCycles is closedFormCycles as first written: every row walked, the
// MV_GB schedule simulated in full.
// rows splits n MACs into rows of g.colsPerRow (the last row holds the rest).
func (g geometry) rowSizes(n int) []int {
	out := make([]int, 0, ceilDiv(n, g.colsPerRow))
	for n > 0 {
		m := min(n, g.colsPerRow)
		out = append(out, m)
		n -= m
	}
	return out
}

// closedFormCycles is the row-level event model (see the file comment).
func (g geometry) rowByRowCycles(t Timing, R int, mvgbOffsets func(C, groups, queue, ccdl, bl int) []int) int64 {
	c := t.CCDAB
	k := g.colsPerToken
	C := g.scoreGroups(R)
	rows := g.rowSizes(k * R)
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
	for j, n := range rows { // score (K) rows
		e := tm + c*(n-1)
		if j < len(rows)-1 {
			nextRow(e)
			continue
		}
		// Last score row, then the MV_GB phase and the opening of the V row.
		preaK := preaAfter(e)
		refAt, ok := refreshInRow(preaK, preaK)
		off := mvgbOffsets(C, g.rankBG, g.queue, t.CCDL, t.BL)
		first := e + mvgbLead
		last := first + off[len(off)-1]
		preaV := preaK
		if kk := len(off) - (g.queue - 1); kk >= 0 {
			preaV = max(preaV, first+off[kk]+1)
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
	if a/g.colsPerRow == b/g.colsPerRow && a%g.colsPerRow != 0 {
		mvsbTail += t.BL
	}
	// The previous slice's flush starts one cycle after its last MAC (index
	// a−1, at e0) and the last flush follows it on the same data path:
	// 2·8 MV_SB nBL apart.
	nflush := g.banksPerBG * (g.rankBG / g.bankGroupsN)
	e0 := -1
	idx := 0
	for j, n := range rows { // context (V) rows
		if a > 0 && a-1 >= idx && a-1 < idx+n {
			e0 = tm + c*(a-1-idx)
		}
		idx += n
		e := tm + c*(n-1)
		if j == len(rows)-1 {
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

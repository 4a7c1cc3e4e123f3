package pim

// Bounds on one read's cycles, without the engine.
//
// A decode step's latency is the sum over layers of the slowest channel
// (KVStore.EndStep), so of a layer's reads only the slowest one's cycles
// are ever seen. The store brackets every new read between cycleBounds'
// lower and upper bound and runs the engine only on reads that could be
// the slowest of their layer (KVStore.settleLayer, settle.go).
//
// The lower bound is a longest path through rules every schedule of the
// request stream (placement.appendRequests) obeys, whatever the scheduler
// chooses:
//   - MACs: consecutive MACs nCCDAB apart; between the last MAC of a row and
//     the first of the next, a PREA (nRTPL after that MAC, nRAS after the
//     row's ACTAB), an ACTAB nRP later and the MAC nRCDRD after it
//     (channel-level rules; the stream reads each row in one run);
//   - data path: every WR_GB, MV_SB, MV_GB and SFM is in pseudo-channel 0,
//     so after any of them the next WR_GB, MV_SB or MV_GB waits nBL; an SFM
//     only needs a column slot of its own; the query's WR_GB all go to one
//     bank group (nCCDL apart);
//   - barriers: nothing after a barrier issues before everything before it
//     has, nor in the same cycle as the last of those (a cycle has one
//     column slot, and MACs and the data path are column commands); row
//     commands behind a barrier may run ahead, bounded by the rules above.
//
// Refresh only delays commands, so the lower bound holds with it too.
//
// The upper bound is measured, not derived. On top of the lower bound the
// engine spends
//   - at each score-block boundary inside a row (block j−1's last MAC and
//     block j's first read the same row), the q MV_SB twins of bank 0's
//     bank group, nCCDL apart, that the open-row rule holds until the
//     block's last MAC (they share the MACs' bank), less the nCCDAB the
//     next MAC waits anyway;
//   - at most (q−1)·nCCDL for the same twins at the last score block and
//     at each of the k−1 context-slice boundaries (a context flush also
//     names bank 0);
//   - and a few cycles of queue admission at the K→V turn: the tests find
//     at most 2·nBL; the bound allows 4·nBL.
//
// Refresh is not in it: the store charges a read whose upper bound reaches
// nREFI with the engine. TestCycleBounds holds lower ≤ engine ≤ upper on
// random, STARC-like and full reads for 1 to 8 query heads, head dims 64
// to 256 and both parts, TestCycleBoundsOnRecordedTraces on recorded
// STARC and Quest reads, and BenchmarkChargeTrace on any trace given.

// cycleBounds returns a lower and an upper bound on the engine's cycles
// for reading the sorted, distinct, non-empty groups with q query heads
// (see the file comment).
func (p placement) cycleBounds(t Timing, groups []int, q int) (lo, hi int64) {
	g := p.g
	k, cpr := g.colsPerToken, g.colsPerRow
	n := len(groups)
	C := ceilDiv(n, g.groupTokens)
	BL, CCDAB := int64(t.BL), int64(t.CCDAB)
	RTPL, RAS, RP, RCDRD := int64(t.RTPL), int64(t.RAS), int64(t.RP), int64(t.RCDRD)
	scoreFlush := int64(q * g.rankBG)                                // MV_SB per score flush
	ctxFlush := int64(q * g.banksPerBG * (g.rankBG / g.bankGroupsN)) // MV_SB per context flush
	wrgb := int64(q * g.banksPerBG * k)                              // query WR_GB, one bank group
	mvgb := int64(q * g.rankBG * C)                                  // scores back to the GEMV buffers

	act, last := int64(1), int64(0) // the open row's ACTAB (cycle 1 at the earliest), the last MAC
	row := -1                       // the open row, -1 before the first
	// mac issues the next MAC, on row r, no earlier than from.
	mac := func(r int, from int64) {
		at := last + CCDAB
		if r != row {
			if row >= 0 {
				act = max(last+RTPL, act+RAS) + RP
			}
			at = act + RCDRD
		}
		row, last = r, max(at, from)
	}
	// A segment ends at a barrier; the next one starts a cycle after its
	// last command. from is the current segment's first cycle.
	from := 1 + (wrgb-1)*int64(t.CCDL) + 1 // after the query's WR_GB
	dataEnd := int64(-1 << 40)             // the latest data-path command
	flush := func(size int64) { dataEnd = max(from, dataEnd+BL) + (size-1)*BL }
	inRow := 0 // score-block boundaries inside a row

	// Score phase: block j's MACs, block j−1's flush, a barrier.
	for j := 0; j <= C; j++ {
		if j < C {
			block := groups[j*g.groupTokens : min(n, (j+1)*g.groupTokens)]
			if j > 0 && block[0]*k/cpr == row {
				inRow++
			}
			for _, grp := range block {
				for kk := range k {
					mac((grp*k+kk)/cpr, from)
				}
			}
		}
		if j > 0 {
			flush(scoreFlush)
		}
		from = max(last, dataEnd) + 1
	}
	// The last flush shares its segment with the q SFM and the MV_GB: an
	// SFM takes a cycle and holds the data path for nBL like an MV_SB, but
	// may follow one a cycle later, so each adds at least one cycle.
	dataEnd += mvgb*BL + int64(q)
	from = dataEnd + 1
	// Context phase: slice j's MACs, slice j−1's flush, a barrier.
	for j := 0; j <= k; j++ {
		if j < k {
			for _, grp := range groups {
				mac(p.vAddr(0, grp, j).Row, from)
			}
		}
		if j > 0 {
			flush(ctxFlush)
		}
		from = max(last, dataEnd) + 1
	}
	twins := max(0, int64((q-1)*t.CCDL+2-t.CCDAB))
	return dataEnd, dataEnd + int64(inRow)*twins + int64(k*(q-1)*t.CCDL+4*t.BL)
}

// readCommands returns the commands the engine issues for reading the
// sorted, distinct, non-empty groups with q query heads when no refresh
// falls due (cycles < nREFI): one ACTAB per run of MACs on one row (the
// stream reads each row in one run, and the open-row rule keeps a row open
// while a queued MAC hits it), a PREA before each ACTAB but the first, and
// the data-path commands the stream names (TestReadCommandsMatchEngine).
func (p placement) readCommands(groups []int, q int) (c [numCommands]int64) {
	g := p.g
	k, cpr := g.colsPerToken, g.colsPerRow
	n := int64(len(groups))
	C := int64(ceilDiv(len(groups), g.groupTokens))
	rows := int64(0)
	row := -1
	for _, grp := range groups {
		for kk := range k {
			if r := (grp*k + kk) / cpr; r != row {
				rows, row = rows+1, r
			}
		}
	}
	for j := range k {
		row = -1
		for _, grp := range groups {
			if r := p.vAddr(0, grp, j).Row; r != row {
				rows, row = rows+1, r
			}
		}
	}
	qq, kk, rb := int64(q), int64(k), int64(g.rankBG)
	c[CmdACTAB] = rows
	c[CmdPREA] = rows - 1
	c[CmdMACAB] = 2 * kk * n
	c[CmdWRGB] = qq * int64(g.banksPerBG) * kk
	c[CmdMVSB] = qq*rb*C + qq*int64(g.banksPerBG*(g.rankBG/g.bankGroupsN))*kk
	c[CmdMVGB] = qq * rb * C
	c[CmdSFM] = qq
	return c
}

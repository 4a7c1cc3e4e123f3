package pim

// AttAccRequests returns the PIM request stream of one head's attention on
// one channel for one decode step with R token groups per partition, in the
// order of AttAcc's bank-level trace generator (tail schedule, <= 16 heads
// per stack; attacc.md §4.2–4.3): the query WR_GB, a barrier, the score MACs
// in blocks of 16 token groups each followed by the previous block's MV_SB
// and a barrier, the last MV_SB, SFM, the MV_GB of the scores, a barrier,
// then per output slice the context MACs followed by the previous slice's
// MV_SB and a barrier, and the last MV_SB. K starts at row 0 and V at byte
// 2^23 (row 8192), with AttAcc's column walk: score MAC idx = k + n·cols,
// context MAC idx = n + k·R, row = idx / columns.
func AttAccRequests(s Spec, R int) []Request {
	return attAccGeometry(s, AttAccHeadDim).requests(R)
}

func (g geometry) requests(R int) []Request {
	if R <= 0 {
		return nil
	}
	k := g.colsPerToken
	C := g.scoreGroups(R)
	barrier := Request{CmdBarrier, Addr{0, 0, 0, 0, 0, 0}}
	mac := func(base, idx int) Request {
		return Request{CmdMACAB, Addr{0, 0, 0, 0, base + idx/g.colsPerRow, idx % g.colsPerRow}}
	}
	ranks := g.rankBG / g.bankGroups()
	out := make([]Request, 0, 4*k*R+g.rankBG*(2*C+k)+4*C+64)
	for ba := 0; ba < g.banksPerBG; ba++ {
		for col := 0; col < k; col++ {
			out = append(out, Request{CmdWRGB, Addr{0, 0, 0, ba, 0, 0}})
		}
	}
	out = append(out, barrier)
	scoreFlush := func() {
		for bg := 0; bg < g.bankGroups(); bg++ {
			for r := 0; r < ranks; r++ {
				out = append(out, Request{CmdMVSB, Addr{0, r, bg, 0, 0, 0}})
			}
		}
	}
	for j := 0; j <= C; j++ {
		if j < C {
			for n := j * g.groupTokens; n < min(R, (j+1)*g.groupTokens); n++ {
				for kk := 0; kk < k; kk++ {
					out = append(out, mac(0, kk+n*k))
				}
			}
		}
		if j > 0 {
			scoreFlush()
		}
		if j < C {
			out = append(out, barrier)
		}
	}
	out = append(out, Request{CmdSFM, Addr{0, 0, 0, 0, 0, 0}})
	for r := 0; r < ranks; r++ {
		for bg := 0; bg < g.bankGroups(); bg++ {
			for col := 0; col < C; col++ {
				out = append(out, Request{CmdMVGB, Addr{0, r, bg, 0, g.vRowBase, 0}})
			}
		}
	}
	out = append(out, barrier)
	contextFlush := func() {
		for ba := 0; ba < g.banksPerBG; ba++ {
			for r := 0; r < ranks; r++ {
				out = append(out, Request{CmdMVSB, Addr{0, r, 0, ba, g.vRowBase, 0}})
			}
		}
	}
	for j := 0; j <= k; j++ {
		if j < k {
			for kk := 0; kk < R; kk++ {
				out = append(out, mac(g.vRowBase, kk+j*R))
			}
		}
		if j > 0 {
			contextFlush()
		}
		if j < k {
			out = append(out, barrier)
		}
	}
	return out
}

// SimulateAttention runs AttAccRequests(s, R) through a fresh device channel
// and controller (the command-level engine) and returns the cycles and the
// command counts observed.
func SimulateAttention(s Spec, R int) (cycles int64, c AttentionCommands) {
	if R <= 0 {
		return 0, AttentionCommands{}
	}
	d := NewDevice(s)
	var cnt CommandCounter
	d.AddObserver(&cnt)
	ctl := NewController(d)
	cycles = ctl.Run(AttAccRequests(s, R))
	return cycles, cnt.Attention()
}

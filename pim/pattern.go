package pim

import (
	"fmt"
	"slices"
)

// AttentionPattern is one head's attention access in one decode step on one
// channel of a KV store laid out as LayoutAttAcc/LayoutGQA: which 16-slot
// groups (STARC's rows: slot/16) are read, in a layout sized for MaxTokens.
type AttentionPattern struct {
	HeadDim   int   // elements per K/V vector (FP16)
	MaxTokens int   // slots the layout reserves per head (fixes the V layout)
	Groups    []int // distinct groups read, any order
	// Queries is the number of query heads served by one read of K/V
	// (1 for LayoutAttAcc; the GQA group size for LayoutGQA).
	Queries int
}

// SimulatePattern runs the command-level engine on one pattern and returns
// the cycles and the command counts. Query, score and softmax data-path
// commands (WR_GB, MV_SB, SFM, MV_GB) scale with Queries; MACs do not (one
// column read feeds every query in the GEMV buffers).
func SimulatePattern(s Spec, p AttentionPattern) (cycles int64, c AttentionCommands, err error) {
	if err := p.validate(s); err != nil {
		return 0, AttentionCommands{}, err
	}
	groups := slices.Clone(p.Groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	pl := newPlacement(s, p.HeadDim, p.MaxTokens)
	cost := pl.simulate(s, groups, max(p.Queries, 1))
	return cost.cycles, cost.attention(), nil
}

func (p AttentionPattern) validate(s Spec) error {
	if p.HeadDim <= 0 || p.MaxTokens <= 0 {
		return fmt.Errorf("pim: attention pattern: HeadDim %d and MaxTokens %d must be > 0", p.HeadDim, p.MaxTokens)
	}
	if (2*p.HeadDim)%(s.Org.Banks*s.Org.ColumnBytes) != 0 {
		return fmt.Errorf("pim: attention pattern: a %d-element FP16 vector does not split into whole %d-byte columns over %d banks",
			p.HeadDim, s.Org.ColumnBytes, s.Org.Banks)
	}
	G := ceilDiv(p.MaxTokens, s.Org.PseudoChannels*s.Org.Ranks*s.Org.BankGroups)
	for _, g := range p.Groups {
		if g < 0 || g >= G {
			return fmt.Errorf("pim: attention pattern: group %d outside [0, %d) for %d tokens", g, G, p.MaxTokens)
		}
	}
	return nil
}

// placement maps (slot) to rows of one head's region in one channel:
//
//	group g = slot / 16 (16 partitions pCH×rank×BG, one token of the group each)
//	K: column index g·k + kk (kk < k columns per bank), row = idx / columns
//	V: slice n < k, column index n·Gmax + g, row = kRows + idx / columns
//
// Gmax is the group capacity rounded up to whole rows, so each V slice
// starts on a row boundary.
type placement struct {
	g            geometry
	groupsMax    int
	kRows, vRows int // rows of the K area and of each V slice
	rowsPerHead  int // K + k·V rows of one (layer, head) region
}

func newPlacement(s Spec, headDim, maxTokens int) placement {
	g := attAccGeometry(s, headDim)
	G := ceilDiv(maxTokens, g.partitions)
	G = ceilDiv(G, g.colsPerRow) * g.colsPerRow
	p := placement{g: g, groupsMax: G}
	p.kRows = ceilDiv(G*g.colsPerToken, g.colsPerRow)
	p.vRows = G / g.colsPerRow
	p.rowsPerHead = p.kRows + g.colsPerToken*p.vRows
	return p
}

func (p placement) kRow(group int) int { return group * p.g.colsPerToken / p.g.colsPerRow }

func (p placement) kAddr(base, group, kk int) Addr {
	idx := group*p.g.colsPerToken + kk
	return Addr{0, 0, 0, 0, base + idx/p.g.colsPerRow, idx % p.g.colsPerRow}
}

func (p placement) vAddr(base, group, n int) Addr {
	idx := n*p.groupsMax + group
	return Addr{0, 0, 0, 0, base + p.kRows + idx/p.g.colsPerRow, idx % p.g.colsPerRow}
}

// requests builds the channel's request stream for reading the sorted,
// distinct groups with q query heads, in AttAcc's schedule (see
// AttAccRequests) with the store's fixed layout.
func (p placement) requests(groups []int, q int) []Request { return p.appendRequests(nil, groups, q) }

// appendRequests is requests appending to out.
func (p placement) appendRequests(out []Request, groups []int, q int) []Request {
	g := p.g
	k := g.colsPerToken
	n := len(groups)
	if n == 0 {
		return out
	}
	C := ceilDiv(n, g.groupTokens)
	ranks := g.rankBG / g.bankGroupsN
	barrier := Request{CmdBarrier, Addr{}}
	out = slices.Grow(out, 2*k*n+q*(g.rankBG*(C+2+k)+4*k)+2*C+8)
	for qi := 0; qi < q; qi++ {
		for ba := 0; ba < g.banksPerBG; ba++ {
			for col := 0; col < k; col++ {
				out = append(out, Request{CmdWRGB, Addr{0, 0, 0, ba, 0, 0}})
			}
		}
	}
	out = append(out, barrier)
	scoreFlush := func() {
		for qi := 0; qi < q; qi++ {
			for bg := 0; bg < g.bankGroupsN; bg++ {
				for r := 0; r < ranks; r++ {
					out = append(out, Request{CmdMVSB, Addr{0, r, bg, 0, 0, 0}})
				}
			}
		}
	}
	for j := 0; j <= C; j++ {
		if j < C {
			for _, grp := range groups[j*g.groupTokens : min(n, (j+1)*g.groupTokens)] {
				for kk := 0; kk < k; kk++ {
					out = append(out, Request{CmdMACAB, p.kAddr(0, grp, kk)})
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
	for qi := 0; qi < q; qi++ {
		out = append(out, Request{CmdSFM, Addr{}})
	}
	for qi := 0; qi < q; qi++ {
		for r := 0; r < ranks; r++ {
			for bg := 0; bg < g.bankGroupsN; bg++ {
				for col := 0; col < C; col++ {
					out = append(out, Request{CmdMVGB, Addr{0, r, bg, 0, 0, 0}})
				}
			}
		}
	}
	out = append(out, barrier)
	contextFlush := func() {
		for qi := 0; qi < q; qi++ {
			for ba := 0; ba < g.banksPerBG; ba++ {
				for r := 0; r < ranks; r++ {
					out = append(out, Request{CmdMVSB, Addr{0, r, 0, ba, 0, 0}})
				}
			}
		}
	}
	for j := 0; j <= k; j++ {
		if j < k {
			for _, grp := range groups {
				out = append(out, Request{CmdMACAB, p.vAddr(0, grp, j)})
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

// patternCost is what one read of a pattern costs on its channel.
type patternCost struct {
	cycles   int64
	n        [numCommands]int64
	energyPJ float64 // filled by the KV store's cache
}

func (c patternCost) attention() AttentionCommands {
	return AttentionCommands{MAC: c.n[CmdMACAB], SFM: c.n[CmdSFM], MVGB: c.n[CmdMVGB], MVSB: c.n[CmdMVSB], WRGB: c.n[CmdWRGB]}
}

func (p placement) simulate(s Spec, groups []int, q int) patternCost {
	return p.simulateOn(newSimulator(s), groups, q)
}

// simulator is a device channel, its controller and a request buffer,
// reused from one simulated read to the next (a KV store meets a new
// access pattern at almost every sparse read).
type simulator struct {
	dev  *Device
	ctl  *Controller
	cnt  CommandCounter
	reqs []Request
}

func newSimulator(s Spec) *simulator {
	m := &simulator{dev: NewDevice(s)}
	m.dev.AddObserver(&m.cnt)
	m.ctl = NewController(m.dev)
	return m
}

// simulateOn runs the engine on m, from a device with every bank closed
// and a controller at cycle 0, as a fresh NewDevice and NewController
// would.
func (p placement) simulateOn(m *simulator, groups []int, q int) patternCost {
	if len(groups) == 0 {
		return patternCost{}
	}
	m.dev.Reset()
	m.ctl.reset()
	m.cnt = CommandCounter{}
	m.reqs = p.appendRequests(m.reqs[:0], groups, q)
	cycles := m.ctl.Run(m.reqs)
	return patternCost{cycles: cycles, n: m.cnt.N}
}

package pim

import "fmt"

// Levels of the device hierarchy inside one channel.
const (
	levelChannel = iota
	levelPseudoChannel
	levelRank
	levelBankGroup
	levelBank
	numLevels
)

// scope is the lowest level a command's readiness is checked at (Ramulator's
// command scope; commands scoped to "row"/"column" check down to the bank).
var scope = [numCommands]int{
	CmdACT: levelBank, CmdPRE: levelBank, CmdPREA: levelChannel, CmdRD: levelBank, CmdWR: levelBank,
	CmdREFab: levelChannel, CmdACTAB: levelBank, CmdMACAB: levelBank,
	CmdWRGB: levelBank, CmdMVSB: levelBank, CmdMVGB: levelBank, CmdSFM: levelChannel,
	CmdBarrier: levelBank, CmdNone: levelBank,
}

// constraint says: after `prev` at a node of `level`, `next` may issue at
// that node no earlier than `latency` cycles later.
type constraint struct {
	level      int
	prev, next []Command
	latency    int
}

// constraints builds AttAcc's HBM3-PIM timing table (HBM3-PIM.cpp,
// populate_timingcons; attacc.md §2.4) from named timings. Rules on
// commands this package does not model (same-bank/per-bank PIM, REFsb) and
// the four-activation window nFAW are left out.
func constraints(t Timing) []constraint {
	data := []Command{CmdWRGB, CmdMVSB, CmdMVGB, CmdSFM, CmdRD, CmdWR}
	c := func(level int, prev, next []Command, lat int) constraint {
		return constraint{level, prev, next, lat}
	}
	one := func(x Command) []Command { return []Command{x} }
	return []constraint{
		// PIM all-bank MAC.
		c(levelChannel, one(CmdACTAB), []Command{CmdACTAB, CmdACT, CmdPRE, CmdPREA, CmdREFab}, 2),
		c(levelChannel, one(CmdMACAB), one(CmdMACAB), t.CCDAB),
		c(levelChannel, one(CmdACTAB), one(CmdACTAB), t.RC),
		c(levelChannel, one(CmdACTAB), one(CmdMACAB), t.RCDRD),
		c(levelChannel, one(CmdACTAB), one(CmdPREA), t.RAS),
		c(levelChannel, one(CmdMACAB), one(CmdPREA), t.RTPL),
		c(levelChannel, one(CmdPREA), one(CmdACTAB), t.RP),
		c(levelPseudoChannel, one(CmdACTAB), one(CmdREFab), t.RC),
		c(levelPseudoChannel, one(CmdPREA), one(CmdREFab), t.RP),
		c(levelPseudoChannel, one(CmdREFab), one(CmdACTAB), t.RFC),
		// PIM data path (separate from the MAC path).
		c(levelPseudoChannel, data, data, t.BL),
		c(levelRank, data, data, t.CCDS),
		c(levelBankGroup, data, data, t.CCDL),
		// Plain DRAM.
		c(levelChannel, one(CmdACT), []Command{CmdACT, CmdPRE, CmdPREA, CmdREFab}, 2),
		c(levelPseudoChannel, one(CmdRD), one(CmdRD), t.BL),
		c(levelPseudoChannel, one(CmdWR), one(CmdWR), t.BL),
		c(levelPseudoChannel, one(CmdRD), one(CmdPREA), t.RTPS),
		c(levelPseudoChannel, one(CmdWR), one(CmdPREA), t.CWL+t.BL+t.WR),
		c(levelPseudoChannel, one(CmdACT), one(CmdPREA), t.RAS),
		c(levelPseudoChannel, one(CmdPREA), one(CmdACT), t.RP),
		c(levelPseudoChannel, one(CmdACT), one(CmdREFab), t.RC),
		c(levelPseudoChannel, []Command{CmdPRE, CmdPREA}, one(CmdREFab), t.RP),
		c(levelPseudoChannel, one(CmdREFab), one(CmdACT), t.RFC),
		c(levelRank, one(CmdACT), one(CmdACT), t.RRDS),
		c(levelRank, one(CmdRD), one(CmdRD), t.CCDS),
		c(levelRank, one(CmdWR), one(CmdWR), t.CCDS),
		c(levelRank, one(CmdRD), one(CmdWR), t.CL+t.BL+2-t.CWL),
		c(levelRank, one(CmdWR), one(CmdRD), t.CWL+t.BL+t.WTRS),
		c(levelRank, one(CmdACT), one(CmdPREA), t.RAS),
		c(levelRank, one(CmdPREA), one(CmdACT), t.RP),
		c(levelBankGroup, one(CmdRD), one(CmdRD), t.CCDL),
		c(levelBankGroup, one(CmdWR), one(CmdWR), t.CCDL),
		c(levelBankGroup, one(CmdWR), one(CmdRD), t.CWL+t.BL+t.WTRL),
		c(levelBankGroup, one(CmdACT), one(CmdACT), t.RRDL),
		c(levelBank, one(CmdACT), one(CmdACT), t.RC),
		c(levelBank, one(CmdACT), one(CmdRD), t.RCDRD),
		c(levelBank, one(CmdACT), one(CmdWR), t.RCDWR),
		c(levelBank, one(CmdACT), one(CmdPRE), t.RAS),
		c(levelBank, one(CmdPRE), one(CmdACT), t.RP),
		c(levelBank, one(CmdRD), one(CmdPRE), t.RTPL),
		c(levelBank, one(CmdWR), one(CmdPRE), t.CWL+t.BL+t.WR),
	}
}

type latency struct {
	next Command
	lat  int64
}

// Observer is told about every command the device accepts. Accounting
// (counts, energy, bytes, traces) lives in observers, not in the device.
type Observer interface {
	OnIssue(cmd Command, a Addr, clk int64)
}

// Device is the state of one channel: per-bank open rows and, per node of
// the hierarchy, the earliest cycle each command may issue. It has no clock
// of its own: the caller (a Controller) passes the cycle to Ready and Issue.
type Device struct {
	spec  Spec
	org   Organization
	nodes [numLevels]int
	// ready[level][node*numCommands+cmd] = earliest cycle (−1: unconstrained).
	ready [numLevels][]int64
	cons  [numLevels][numCommands][]latency

	openRow []int32 // per bank, −1 closed
	nOpen   int     // banks open
	rowOpen int32   // the row every open bank holds, −1 if open banks disagree
	obs     []Observer
	version uint64 // bumped by every Issue and Reset (lets callers cache Prerequisite and Earliest)
	// Finer: rowVer is bumped when the row state changes (Prerequisite and
	// row hits may change) and cmdVer[c] when some node's earliest cycle for
	// c moves; Reset bumps them all. A cached Prerequisite p and Earliest of
	// p stay right while rowVer and cmdVer[p] stay the same.
	rowVer uint64
	cmdVer [numCommands]uint64
}

// NewDevice returns a device channel of part s with every bank closed. It
// panics on a spec that does not Validate (programmer misuse: validate
// specs from outside first).
func NewDevice(s Spec) *Device {
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("pim: NewDevice: %v", err))
	}
	o := s.Org
	d := &Device{spec: s, org: o}
	d.nodes = [numLevels]int{1, o.PseudoChannels, o.PseudoChannels * o.Ranks,
		o.PseudoChannels * o.Ranks * o.BankGroups, o.BanksPerChannel()}
	for l := range d.ready {
		d.ready[l] = make([]int64, d.nodes[l]*int(numCommands))
	}
	for _, c := range constraints(s.Timing) {
		for _, p := range c.prev {
			for _, n := range c.next {
				d.cons[c.level][p] = append(d.cons[c.level][p], latency{n, int64(c.latency)})
			}
		}
	}
	d.openRow = make([]int32, o.BanksPerChannel())
	d.Reset()
	return d
}

// Reset closes every bank and forgets all timing history (observers stay).
func (d *Device) Reset() {
	for l := range d.ready {
		for i := range d.ready[l] {
			d.ready[l][i] = -1
		}
	}
	for i := range d.openRow {
		d.openRow[i] = -1
	}
	d.nOpen, d.rowOpen = 0, -1
	d.version++
	d.rowVer = d.version
	for c := range d.cmdVer {
		d.cmdVer[c] = d.version
	}
}

// Spec returns the part.
func (d *Device) Spec() Spec { return d.spec }

// AddObserver registers o; it sees every later Issue.
func (d *Device) AddObserver(o Observer) { d.obs = append(d.obs, o) }

// path holds the node index at each level for an address, −1 past the first
// broadcast (negative) component.
type path [numLevels]int32

func (d *Device) pathOf(a Addr) path {
	o := d.org
	p := path{0, -1, -1, -1, -1}
	if a.PseudoChannel < 0 {
		return p
	}
	p[1] = int32(a.PseudoChannel)
	if a.Rank < 0 {
		return p
	}
	p[2] = p[1]*int32(o.Ranks) + int32(a.Rank)
	if a.BankGroup < 0 {
		return p
	}
	p[3] = p[2]*int32(o.BankGroups) + int32(a.BankGroup)
	if a.Bank < 0 {
		return p
	}
	p[4] = p[3]*int32(o.Banks) + int32(a.Bank)
	return p
}

// Earliest is the first cycle at which cmd to a would be ready given the
// commands issued so far (−1 if unconstrained).
func (d *Device) Earliest(cmd Command, a Addr) int64 { return d.earliest(cmd, d.pathOf(a)) }

func (d *Device) earliest(cmd Command, p path) int64 {
	e := int64(-1)
	last := scope[cmd]
	for l := 0; l <= last; l++ {
		n := p[l]
		if n < 0 {
			break
		}
		if r := d.ready[l][int(n)*int(numCommands)+int(cmd)]; r > e {
			e = r
		}
	}
	return e
}

// Ready reports whether cmd to a satisfies every timing constraint at clk.
// It does not check the row state: see Prerequisite.
func (d *Device) Ready(cmd Command, a Addr, clk int64) bool {
	return d.earliest(cmd, d.pathOf(a)) <= clk
}

// Issue applies cmd to a at clk: timing constraints for later commands and
// the row state. It panics if cmd is not ready at clk or its row
// prerequisite is not met (controller bug).
func (d *Device) Issue(cmd Command, a Addr, clk int64) {
	d.issue(cmd, a, d.pathOf(a), clk)
}

func (d *Device) issue(cmd Command, a Addr, p path, clk int64) {
	if e := d.earliest(cmd, p); e > clk {
		panic(fmt.Sprintf("pim: %v %v issued at cycle %d before it is ready (cycle %d)", cmd, a, clk, e))
	}
	if pre := d.Prerequisite(cmd, a); pre != cmd {
		panic(fmt.Sprintf("pim: %v %v issued at cycle %d needs %v first", cmd, a, clk, pre))
	}
	d.version++
	for l := 0; l < numLevels; l++ {
		n := p[l]
		if n < 0 {
			break
		}
		base := int(n) * int(numCommands)
		r := d.ready[l]
		for _, c := range d.cons[l][cmd] {
			if v := clk + c.lat; v > r[base+int(c.next)] {
				r[base+int(c.next)] = v
				d.cmdVer[c.next] = d.version
			}
		}
	}
	switch cmd {
	case CmdACTAB, CmdPREA, CmdACT, CmdPRE:
		d.rowVer = d.version
	}
	switch cmd {
	case CmdACTAB:
		for i := range d.openRow {
			d.openRow[i] = int32(a.Row)
		}
		d.nOpen, d.rowOpen = len(d.openRow), int32(a.Row)
	case CmdPREA:
		for i := range d.openRow {
			d.openRow[i] = -1
		}
		d.nOpen, d.rowOpen = 0, -1
	case CmdACT:
		d.openRow[p[levelBank]] = int32(a.Row)
		d.nOpen++
		d.refreshSummary()
	case CmdPRE:
		d.openRow[p[levelBank]] = -1
		d.nOpen--
		d.refreshSummary()
	}
	for _, o := range d.obs {
		o.OnIssue(cmd, a, clk)
	}
}

func (d *Device) refreshSummary() {
	d.rowOpen = -1
	for _, r := range d.openRow {
		if r < 0 {
			continue
		}
		if d.rowOpen < 0 {
			d.rowOpen = r
		} else if d.rowOpen != r {
			d.rowOpen = -1
			return
		}
	}
}

// OpenRow returns the row open in bank (pCH, rank, BG, bank) of a, or −1.
func (d *Device) OpenRow(a Addr) int { return int(d.openRow[d.pathOf(a)[levelBank]]) }

// Prerequisite returns the command that must issue next on the way to
// `final` at a, given the row state: ACTAB/PREA before an all-bank MAC,
// PREA before a refresh while any bank is open, ACT/PRE before RD/WR; or
// final itself.
func (d *Device) Prerequisite(final Command, a Addr) Command {
	switch final {
	case CmdMACAB:
		if d.nOpen == len(d.openRow) && d.rowOpen >= 0 {
			if d.rowOpen == int32(a.Row) {
				return CmdMACAB
			}
			return CmdPREA
		}
		// Mixed state: the first bank in order decides, as Ramulator's
		// RequireAllBanksRowOpen does.
		for _, r := range d.openRow {
			if r < 0 {
				return CmdACTAB
			}
			if r != int32(a.Row) {
				return CmdPREA
			}
		}
		return CmdMACAB
	case CmdREFab:
		if d.nOpen > 0 {
			return CmdPREA
		}
		return CmdREFab
	case CmdRD, CmdWR:
		r := d.openRow[d.pathOf(a)[levelBank]]
		switch {
		case r < 0:
			return CmdACT
		case r != int32(a.Row):
			return CmdPRE
		}
	}
	return final
}

// RowHit reports whether a column command to a finds its row open.
func (d *Device) RowHit(cmd Command, a Addr) bool {
	switch cmd {
	case CmdMACAB, CmdRD, CmdWR:
		return d.openRow[d.pathOf(a)[levelBank]] == int32(a.Row)
	}
	return false
}

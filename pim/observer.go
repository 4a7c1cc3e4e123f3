package pim

// CommandCounter counts issued commands by kind.
type CommandCounter struct {
	N [numCommands]int64
}

// OnIssue implements Observer.
func (c *CommandCounter) OnIssue(cmd Command, _ Addr, _ int64) { c.N[cmd]++ }

// Count returns how many cmd were issued.
func (c *CommandCounter) Count(cmd Command) int64 { return c.N[cmd] }

// Attention returns the PIM command counts in AttentionCommands form.
func (c *CommandCounter) Attention() AttentionCommands {
	return AttentionCommands{MAC: c.N[CmdMACAB], SFM: c.N[CmdSFM], MVGB: c.N[CmdMVGB], MVSB: c.N[CmdMVSB], WRGB: c.N[CmdWRGB]}
}

// IssuedCommand is one line of a command trace.
type IssuedCommand struct {
	Clk  int64
	Cmd  Command
	Addr Addr
}

// CommandLog records every issued command (the optional command trace; it
// grows without bound, so attach it only to short runs).
type CommandLog struct {
	Lines []IssuedCommand
}

// OnIssue implements Observer.
func (l *CommandLog) OnIssue(cmd Command, a Addr, clk int64) {
	l.Lines = append(l.Lines, IssuedCommand{clk, cmd, a})
}

// Times returns the issue cycles of every cmd in order.
func (l *CommandLog) Times(cmd Command) []int64 {
	var out []int64
	for _, x := range l.Lines {
		if x.Cmd == cmd {
			out = append(out, x.Clk)
		}
	}
	return out
}

// CommandEnergyPJ is the energy of one command of part s in pJ, modelling
// the hardware as it is (per-bit constants applied per bit):
//   - MACAB: every bank reads one column from its cells
//     (ActPre + CellRead per bit; row activation is folded into ActPre, as in
//     AttAcc's table) and its GEMV unit does MACsPerCol MACs for each of
//     `queries` query vectors;
//   - WRGB: one column from the host over the interposer, TSV, GIO and BG muxes;
//   - MVSB, MVGB: one column over TSV, GIO and BG muxes;
//   - WR, RD (KV store writes and moves): one column of cell write/read plus
//     the interposer and I/O path;
//   - ACTAB, PREA, ACT, PRE, REFab, SFM: 0 (activation is folded into the
//     per-bit read cost; refresh and the softmax unit are not in AttAcc's
//     table; the softmax energy belongs to the analytic system model).
func CommandEnergyPJ(s Spec, cmd Command, queries int) float64 {
	e := s.Energy
	colBits := float64(s.Org.ColumnBytes * 8)
	io := e.TSVPJPerBit + e.GIOMuxPJPerBit + e.BGMuxPJPerBit
	switch cmd {
	case CmdMACAB:
		banks := float64(s.Org.BanksPerChannel())
		return banks*colBits*(e.ActPrePJPerBit+e.CellReadPJPerBit) +
			banks*float64(s.MACsPerCol*max(queries, 1))*e.MACPJ
	case CmdWRGB:
		return colBits * (e.InterposerPJPerBit + io)
	case CmdMVSB, CmdMVGB:
		return colBits * io
	case CmdWR:
		return colBits * (e.WritePJPerBit + e.InterposerPJPerBit + io)
	case CmdRD:
		return colBits * (e.ActPrePJPerBit + e.CellReadPJPerBit + e.InterposerPJPerBit + io)
	}
	return 0
}

// EnergyMeter sums CommandEnergyPJ over issued commands.
type EnergyMeter struct {
	Spec    Spec
	Queries int // query heads per MAC (1 unless GQA)
	PJ      float64
}

// OnIssue implements Observer.
func (m *EnergyMeter) OnIssue(cmd Command, _ Addr, _ int64) {
	m.PJ += CommandEnergyPJ(m.Spec, cmd, m.Queries)
}

// ByteMeter counts bytes the GEMV units read from the cells (FetchedBytes:
// every bank's column of every MACAB) and bytes written into the cells.
type ByteMeter struct {
	Spec         Spec
	FetchedBytes int64
	WrittenBytes int64
}

// OnIssue implements Observer.
func (m *ByteMeter) OnIssue(cmd Command, _ Addr, _ int64) {
	switch cmd {
	case CmdMACAB:
		m.FetchedBytes += int64(m.Spec.Org.BanksPerChannel() * m.Spec.Org.ColumnBytes)
	case CmdWR:
		m.WrittenBytes += int64(m.Spec.Org.ColumnBytes)
	}
}

package pim

import (
	"errors"
	"fmt"
)

// Organization is the geometry of one device part. Counts are per parent
// level (banks per bank group, bank groups per rank, ...).
type Organization struct {
	Stacks         int // HBM stacks per device (AttAcc: 5 per GPU)
	Channels       int // legacy channels per stack
	PseudoChannels int // pseudo-channels per channel
	Ranks          int // ranks (stack IDs) per pseudo-channel
	BankGroups     int // bank groups per rank
	Banks          int // banks per bank group
	Rows           int // rows per bank
	Columns        int // columns per row
	ColumnBytes    int // bytes moved by one column access (DQ width × prefetch / 8)

	// ChannelDensityMbit is the stated density of one channel in Mbit (as in
	// Ramulator's org presets). Validate recomputes it from the counts above.
	ChannelDensityMbit int
}

// BanksPerChannel is the number of banks an all-bank command reaches.
func (o Organization) BanksPerChannel() int {
	return o.PseudoChannels * o.Ranks * o.BankGroups * o.Banks
}

// RowBytes is the size of one row of one bank.
func (o Organization) RowBytes() int { return o.Columns * o.ColumnBytes }

// ChannelBytes is the capacity of one channel computed from the counts.
func (o Organization) ChannelBytes() int64 {
	return int64(o.BanksPerChannel()) * int64(o.Rows) * int64(o.RowBytes())
}

// StackBytes is the capacity of one stack computed from the counts.
func (o Organization) StackBytes() int64 { return int64(o.Channels) * o.ChannelBytes() }

// DeviceBytes is the capacity of all stacks computed from the counts.
func (o Organization) DeviceBytes() int64 { return int64(o.Stacks) * o.StackBytes() }

// TimingNS holds the datasheet timing parameters in nanoseconds. They are
// converted once to cycles by Cycles (JEDEC rounding, as Ramulator does).
type TimingNS struct {
	BL, CL, RCDRD, RCDWR, RP, RAS, RC, WR, RTPS, RTPL, CWL float64
	CCDS, CCDL                                             float64 // column to column, different / same bank group
	CCDAB, CCDSB                                           float64 // all-bank / same-bank MAC to MAC (power limit lives here)
	RRDS, RRDL                                             float64
	WTRS, WTRL                                             float64
	RTW                                                    float64
	FAW                                                    float64
	RFC                                                    float64 // all-bank refresh cycle time
	REFI                                                   float64 // average refresh interval
	RREFD                                                  float64
}

// Timing holds the same parameters as TimingNS; all fields in tCK cycles.
type Timing struct {
	BL, CL, RCDRD, RCDWR, RP, RAS, RC, WR, RTPS, RTPL, CWL int
	CCDS, CCDL                                             int
	CCDAB, CCDSB                                           int
	RRDS, RRDL                                             int
	WTRS, WTRL                                             int
	RTW                                                    int
	FAW                                                    int
	RFC                                                    int
	REFI                                                   int
	RREFD                                                  int
}

// jedecCycles converts a time in ns to cycles of tckPS picoseconds with the
// JEDEC rounding rule (round up, with a 2.6 % guard band):
// nCK = floor(t_ps·1000/tCK_ps + 974)/1000, all in integer arithmetic.
func jedecCycles(ns float64, tckPS int) int {
	tps := int64(ns*1000 + 0.5)
	return int((tps*1000/int64(tckPS) + 974) / 1000)
}

// Cycles converts every parameter to cycles of tckPS picoseconds.
func (t TimingNS) Cycles(tckPS int) Timing {
	c := func(ns float64) int { return jedecCycles(ns, tckPS) }
	return Timing{
		BL: c(t.BL), CL: c(t.CL), RCDRD: c(t.RCDRD), RCDWR: c(t.RCDWR), RP: c(t.RP),
		RAS: c(t.RAS), RC: c(t.RC), WR: c(t.WR), RTPS: c(t.RTPS), RTPL: c(t.RTPL), CWL: c(t.CWL),
		CCDS: c(t.CCDS), CCDL: c(t.CCDL), CCDAB: c(t.CCDAB), CCDSB: c(t.CCDSB),
		RRDS: c(t.RRDS), RRDL: c(t.RRDL), WTRS: c(t.WTRS), WTRL: c(t.WTRL),
		RTW: c(t.RTW), FAW: c(t.FAW), RFC: c(t.RFC), REFI: c(t.REFI), RREFD: c(t.RREFD),
	}
}

// Energy holds the energy constants of the part. Per-bit values are in
// pJ per bit moved; MACPJ is per multiply-accumulate (one FP16 FMA).
type Energy struct {
	ActPrePJPerBit     float64 // row activation + precharge, folded per bit read from the cells
	CellReadPJPerBit   float64 // cell array read to the bank I/O
	InterposerPJPerBit float64 // host <-> stack over the interposer (WRGB payload)
	TSVPJPerBit        float64 // through-silicon vias, core die <-> buffer die
	GIOMuxPJPerBit     float64 // global I/O mux
	BGMuxPJPerBit      float64 // bank-group mux
	SRAMPJPerBit       float64 // softmax / GEMV buffer SRAM access
	MACPJ              float64 // one FP16 multiply-accumulate in a GEMV unit
	WritePJPerBit      float64 // cell write (KV store writes); not in AttAcc's table
}

// PIMPlacement says where the GEMV units sit (AttAcc's --pim flag).
type PIMPlacement int

const (
	PIMNone      PIMPlacement = iota // plain memory, no GEMV units
	PIMBank                          // one GEMV unit per bank (AttAcc --pim bank, the paper setting)
	PIMBankGroup                     // one unit per bank group
	PIMBuffer                        // units on the buffer die per pseudo-channel
)

func (p PIMPlacement) String() string {
	switch p {
	case PIMNone:
		return "none"
	case PIMBank:
		return "bank"
	case PIMBankGroup:
		return "bankgroup"
	case PIMBuffer:
		return "buffer"
	}
	return fmt.Sprintf("PIMPlacement(%d)", int(p))
}

// Spec is one device part as data: organisation, timing, energy and PIM
// placement. Build it with a preset (HBM3PIM, HBM3) or by hand and call
// Validate.
type Spec struct {
	Name string
	Org  Organization

	RateMbps int      // data rate per pin
	TCKPS    int      // command clock period in ps (Ramulator: 1e6/(rate/4), integer)
	TimingNS TimingNS // datasheet values
	Timing   Timing   // TimingNS.Cycles(TCKPS); all fields in tCK cycles

	Energy Energy

	PIM        PIMPlacement
	MACsPerCol int  // FP16 MACs a GEMV unit does per column access (32 B / 2 B = 16)
	PowerLimit bool // nCCDAB stretched to respect the HBM power budget (AttAcc --powerlimit)

	// PIMQueueEntries is the depth of the controller's in-order PIM request
	// buffer (Ramulator: max_size 32, enqueue while size <= 32, so 33).
	PIMQueueEntries int
}

// TCKNS is the command clock period in ns.
func (s Spec) TCKNS() float64 { return float64(s.TCKPS) / 1000 }

// ErrSpec is wrapped by every Validate error.
var ErrSpec = errors.New("pim: invalid spec")

// Validate checks the organisation counts, recomputes the channel density
// from them and compares it with the stated density, and checks that the
// cycle table is the conversion of the ns table.
func (s Spec) Validate() error {
	o := s.Org
	fields := []struct {
		name string
		v    int
	}{
		{"Stacks", o.Stacks}, {"Channels", o.Channels}, {"PseudoChannels", o.PseudoChannels},
		{"Ranks", o.Ranks}, {"BankGroups", o.BankGroups}, {"Banks", o.Banks},
		{"Rows", o.Rows}, {"Columns", o.Columns}, {"ColumnBytes", o.ColumnBytes},
		{"ChannelDensityMbit", o.ChannelDensityMbit},
	}
	for _, f := range fields {
		if f.v <= 0 {
			return fmt.Errorf("%w: %s: Org.%s = %d, must be > 0", ErrSpec, s.Name, f.name, f.v)
		}
	}
	bits := o.ChannelBytes() * 8
	if mbit := bits >> 20; mbit != int64(o.ChannelDensityMbit) || bits&(1<<20-1) != 0 {
		return fmt.Errorf("%w: %s: channel capacity from the organisation is %d Mbit "+
			"(%d pCH × %d ranks × %d BG × %d banks × %d rows × %d cols × %d B), stated density is %d Mbit",
			ErrSpec, s.Name, mbit, o.PseudoChannels, o.Ranks, o.BankGroups, o.Banks, o.Rows,
			o.Columns, o.ColumnBytes, o.ChannelDensityMbit)
	}
	if s.TCKPS <= 0 {
		return fmt.Errorf("%w: %s: TCKPS = %d, must be > 0", ErrSpec, s.Name, s.TCKPS)
	}
	if s.RateMbps > 0 {
		if want := 1000000 / (s.RateMbps / 4); want != s.TCKPS {
			return fmt.Errorf("%w: %s: TCKPS = %d ps but %d Mbps gives %d ps", ErrSpec, s.Name, s.TCKPS, s.RateMbps, want)
		}
	}
	if got := s.TimingNS.Cycles(s.TCKPS); got != s.Timing {
		return fmt.Errorf("%w: %s: Timing is not TimingNS converted at %d ps (have %+v, want %+v)",
			ErrSpec, s.Name, s.TCKPS, s.Timing, got)
	}
	t := s.Timing
	for _, f := range []struct {
		name string
		v    int
	}{{"BL", t.BL}, {"RCDRD", t.RCDRD}, {"RP", t.RP}, {"RAS", t.RAS}, {"RTPL", t.RTPL},
		{"CCDS", t.CCDS}, {"CCDL", t.CCDL}, {"RFC", t.RFC}, {"REFI", t.REFI}} {
		if f.v <= 0 {
			return fmt.Errorf("%w: %s: Timing.%s = %d cycles, must be > 0", ErrSpec, s.Name, f.name, f.v)
		}
	}
	if s.PIM != PIMNone {
		if t.CCDAB <= 0 {
			return fmt.Errorf("%w: %s: Timing.CCDAB = %d cycles, must be > 0 for a PIM part", ErrSpec, s.Name, t.CCDAB)
		}
		if s.MACsPerCol <= 0 {
			return fmt.Errorf("%w: %s: MACsPerCol = %d, must be > 0 for a PIM part", ErrSpec, s.Name, s.MACsPerCol)
		}
		if s.PIMQueueEntries <= 0 {
			return fmt.Errorf("%w: %s: PIMQueueEntries = %d, must be > 0", ErrSpec, s.Name, s.PIMQueueEntries)
		}
	}
	return nil
}

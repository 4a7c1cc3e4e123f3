package pim

import "fmt"

// Command is one DRAM or PIM command of the HBM3-PIM device (AttAcc's
// HBM3-PIM command set, bank-level PIM subset, plus plain RD/WR/ACT/PRE).
type Command uint8

const (
	CmdNone    Command = iota
	CmdACT             // open one row in one bank
	CmdPRE             // close one bank
	CmdPREA            // close every bank of the channel
	CmdRD              // read one column of one bank
	CmdWR              // write one column of one bank
	CmdREFab           // all-bank refresh of one pseudo-channel (needs every bank closed)
	CmdACTAB           // open the same row in every bank of the channel (PIM all-bank)
	CmdMACAB           // all-bank MAC: every bank reads one column of its open row into its GEMV unit
	CmdWRGB            // write 32 B into a bank's GEMV buffer (query)
	CmdMVSB            // move GEMV results to the softmax buffer (buffer die)
	CmdMVGB            // move scores from the softmax buffer to a GEMV buffer
	CmdSFM             // softmax on the buffer die
	CmdBarrier         // ordering point in the PIM queue; never issued to the device
	numCommands
)

var commandNames = [numCommands]string{"NONE", "ACT", "PRE", "PREA", "RD", "WR", "REFab", "ACTAB",
	"MACAB", "WRGB", "MVSB", "MVGB", "SFM", "BARRIER"}

func (c Command) String() string {
	if c < numCommands {
		return commandNames[c]
	}
	return fmt.Sprintf("Command(%d)", int(c))
}

// ParseCommand is the inverse of String.
func ParseCommand(s string) (Command, error) {
	for i, n := range commandNames {
		if n == s {
			return Command(i), nil
		}
	}
	return CmdNone, fmt.Errorf("pim: unknown command %q", s)
}

// IsRow reports whether c uses the row-command slot of a cycle (the
// controller may issue one row and one column command per cycle).
func (c Command) IsRow() bool {
	switch c {
	case CmdACT, CmdPRE, CmdPREA, CmdREFab, CmdACTAB:
		return true
	}
	return false
}

// IsColumn reports whether c uses the column-command slot. MACAB and the
// PIM data-path commands are column commands.
func (c Command) IsColumn() bool {
	switch c {
	case CmdRD, CmdWR, CmdMACAB, CmdWRGB, CmdMVSB, CmdMVGB, CmdSFM:
		return true
	}
	return false
}

func (c Command) opensRow() bool  { return c == CmdACT || c == CmdACTAB }
func (c Command) closesRow() bool { return c == CmdPRE || c == CmdPREA }

// Addr is an address inside one channel. A negative field means "all" (a
// broadcast command such as REFab of one pseudo-channel has Rank = -1).
type Addr struct {
	PseudoChannel, Rank, BankGroup, Bank int
	Row, Column                          int
}

// AllBanks is the address of a channel-wide command.
var AllBanks = Addr{-1, -1, -1, -1, -1, -1}

func (a Addr) String() string {
	return fmt.Sprintf("pc%d.r%d.bg%d.b%d.row%d.col%d", a.PseudoChannel, a.Rank, a.BankGroup, a.Bank, a.Row, a.Column)
}

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

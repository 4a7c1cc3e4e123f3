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

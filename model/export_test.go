package model

// RoPERows exposes the number of positions m's RoPE tables cover.
func RoPERows(m *Model) int { return m.ropeRows() }

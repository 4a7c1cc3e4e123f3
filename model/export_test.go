package model

import "time"

// RoPERows exposes the number of positions m's RoPE tables cover.
func RoPERows(m *Model) int { return m.ropeRows() }

// ProcessCPUTime exposes processCPU, the process's CPU time (all threads),
// to the benchmarks.
func ProcessCPUTime() time.Duration { return processCPU() }

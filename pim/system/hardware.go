package system

import (
	"fmt"
	"math"
)

// Hardware is the DGX + AttAcc system of attacc.md §2: GPUs, the AttAcc devices
// hanging off them, the links, and the energy table. Times in seconds, rates in
// bytes/s or FLOP/s, energies in pJ.
type Hardware struct {
	// GPU side (H100, tensor parallel over all GPUs).
	GPUs        int     // tensor-parallel degree tp
	GPUCores    int     // SMs
	GPUFLOPS    float64 // FP16 peak, FLOP/s
	GPUMemBW    float64 // HBM bandwidth, B/s
	GPUL1Bytes  float64 // L1 per SM
	GPUL2Bytes  float64 // L2
	GPULinkBW   float64 // NVLink, B/s (both directions)
	ComputeUtil float64 // cap on compute utilisation
	MemUtil     float64 // cap on off-chip bandwidth utilisation
	// Fitted element-wise times (µs) = slope·(1555e9/GPUMemBW)·bytes + intercept.
	ACTSlopeUS, ACTInterceptUS   float64
	NormSlopeUS, NormInterceptUS float64
	CommDivisor                  float64 // STARC's "/8" on ACT, NORM, G2G and GPU X2G times

	// AttAcc side.
	AttAccs      int     // one per GPU
	StacksPerAcc int     // HBM3 stacks per AttAcc
	StackExtBW   float64 // external bandwidth per stack, B/s
	PIMBWScale   float64 // internal/external bandwidth (9 with the power limit, bank PIM)
	PowerLimit   bool    // selects pim.HBM3PIM(PowerLimit) for the attention cycles
	AccLinkBW    float64 // AttAcc <-> GPU link (NVLink3), B/s, both directions
	// The softmax unit runs at StackExtBW·StacksPerAcc FLOP/s and B/s.

	PIM PIMDevice

	Energy EnergyTable
}

// PIMDevice is the organisation and the few timing values of one HBM3-PIM stack
// that the system model needs (attacc.md §2.2, §2.4). Timings in tCK cycles.
type PIMDevice struct {
	Channels, PseudoChannels, Ranks, BankGroups, Banks int
	Rows, Columns, ColumnBytes                         int
	StatedStackBytes                                   int64   // datasheet density per stack
	TCKNS                                              float64 // ns per cycle
	NCCDAB                                             int     // MACAB -> MACAB
	NBL                                                int     // data-path command spacing on one pseudo-channel
}

// EnergyTable holds AttAcc's energy constants (attacc.md §3.3 to §3.5).
type EnergyTable struct {
	GPUMemPerByte  float64 // GPU HBM access incl. IO, pJ/B
	GPUL2PerByte   float64
	GPUL1PerByte   float64
	GPURegPerByte  float64
	ALUPerMAC      float64 // pJ per MAC (FLOPs/2), GPU and PIM
	CommPerByte    float64 // NVLink and AttAcc link, pJ/B
	PIMCellPerByte float64 // DRAM cell read incl. ACT/PRE, pJ/B
	PIMSRAMPerByte float64 // softmax buffer
	// PIM IO path, pJ per bit: interposer (SI), TSV, GIO mux, BG mux.
	IOInterposer, IOTSV, IOGIOMux, IOBGMux float64
}

// DGXAttAcc is the paper's system: 8 H100 + 8 AttAcc × 5 HBM3-PIM stacks,
// bank-level PIM, 5.2 Gbps. The paper runs with the power limit (AttAcc
// --powerlimit): nCCDAB = 6 and internal bandwidth scale 9; without it
// nCCDAB = 4 and scale 16 (2 ranks × 4 BG × 4 banks / 2).
func DGXAttAcc(powerLimit bool) Hardware {
	scale, ccdab := 16.0, 4
	if powerLimit {
		scale, ccdab = 9, 6
	}
	return Hardware{
		GPUs: 8, GPUCores: 132, GPUFLOPS: 989.4e12, GPUMemBW: 3352e9,
		GPUL1Bytes: 256 * 1024, GPUL2Bytes: 50 * 1024 * 1024, GPULinkBW: 900e9,
		ComputeUtil: 0.8, MemUtil: 0.85,
		ACTSlopeUS: 4.47e-7, ACTInterceptUS: 8.29, NormSlopeUS: 1.6e-6, NormInterceptUS: 6.87,
		CommDivisor: 8,

		AttAccs: 8, StacksPerAcc: 5, StackExtBW: 670.4e9, PIMBWScale: scale, AccLinkBW: 600e9,
		PowerLimit: powerLimit,

		PIM: PIMDevice{
			Channels: 16, PseudoChannels: 2, Ranks: 2, BankGroups: 4, Banks: 4,
			Rows: 1 << 14, Columns: 1 << 5, ColumnBytes: 32,
			StatedStackBytes: 16 << 30,
			TCKNS:            0.769, NCCDAB: ccdab, NBL: 2,
		},

		Energy: EnergyTable{
			GPUMemPerByte: (0.11 + 0.44 + 1.01 + 1.23 + 0.5 + 0.3) * 8,
			GPUL2PerByte:  0.3 * 8, GPUL1PerByte: 0.16 * 8, GPURegPerByte: 0.0675,
			ALUPerMAC: 0.32, CommPerByte: 1.3 * 8,
			PIMCellPerByte: (0.11 + 0.44) * 8, PIMSRAMPerByte: 0.0034,
			IOInterposer: 0.3, IOTSV: 0.5, IOGIOMux: 1.23, IOBGMux: 1.01,
		},
	}
}

// BanksPerChannel is the number of banks one all-bank command (MACAB) reaches.
func (d PIMDevice) BanksPerChannel() int {
	return d.PseudoChannels * d.Ranks * d.BankGroups * d.Banks
}

// StackBytes is the capacity of one stack computed from its organisation.
func (d PIMDevice) StackBytes() int64 {
	return int64(d.Channels) * int64(d.BanksPerChannel()) * int64(d.Rows) * int64(d.Columns) * int64(d.ColumnBytes)
}

// CapacityBytes is the KV capacity of all AttAcc devices, from the organisation.
func (h Hardware) CapacityBytes() int64 {
	return int64(h.AttAccs) * int64(h.StacksPerAcc) * h.PIM.StackBytes()
}

// Validate checks that every count is positive and that the organisation adds
// up to the stated stack density.
func (h Hardware) Validate() error {
	ints := []struct {
		name string
		v    int
	}{
		{"GPUs", h.GPUs}, {"GPUCores", h.GPUCores}, {"AttAccs", h.AttAccs}, {"StacksPerAcc", h.StacksPerAcc},
		{"PIM.Channels", h.PIM.Channels}, {"PIM.PseudoChannels", h.PIM.PseudoChannels}, {"PIM.Ranks", h.PIM.Ranks},
		{"PIM.BankGroups", h.PIM.BankGroups}, {"PIM.Banks", h.PIM.Banks}, {"PIM.Rows", h.PIM.Rows},
		{"PIM.Columns", h.PIM.Columns}, {"PIM.ColumnBytes", h.PIM.ColumnBytes}, {"PIM.NCCDAB", h.PIM.NCCDAB},
		{"PIM.NBL", h.PIM.NBL},
	}
	for _, f := range ints {
		if f.v <= 0 {
			return fmt.Errorf("system: hardware: %s must be positive, got %d", f.name, f.v)
		}
	}
	floats := []struct {
		name string
		v    float64
	}{
		{"GPUFLOPS", h.GPUFLOPS}, {"GPUMemBW", h.GPUMemBW}, {"GPUL1Bytes", h.GPUL1Bytes}, {"GPUL2Bytes", h.GPUL2Bytes},
		{"GPULinkBW", h.GPULinkBW}, {"ComputeUtil", h.ComputeUtil}, {"MemUtil", h.MemUtil}, {"CommDivisor", h.CommDivisor},
		{"StackExtBW", h.StackExtBW}, {"PIMBWScale", h.PIMBWScale}, {"AccLinkBW", h.AccLinkBW}, {"PIM.TCKNS", h.PIM.TCKNS},
	}
	for _, f := range floats {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("system: hardware: %s must be positive and finite, got %g", f.name, f.v)
		}
	}
	d := h.PIM
	if got := d.StackBytes(); got != d.StatedStackBytes {
		return fmt.Errorf("system: hardware: PIM stack capacity does not add up: %d ch × %d pCH × %d ranks × %d BG × %d banks × %d rows × %d cols × %d B = %d B, stated %d B",
			d.Channels, d.PseudoChannels, d.Ranks, d.BankGroups, d.Banks, d.Rows, d.Columns, d.ColumnBytes, got, d.StatedStackBytes)
	}
	return nil
}

// Package pim simulates the HBM-PIM device that holds starc's KV cache:
// AttAcc's HBM3-PIM part (bank-level GEMV units, the configuration the STARC
// paper evaluates with), at command level and in closed form, plus a KV
// store that keeps real K/V vectors in the device and charges every access.
// It is a leaf package: it imports nothing else from starc.
//
// # Units
//
//   - time: device cycles of tCK (Timing, Controller clock, LatencyCycles);
//     nanoseconds only where the name says so (TimingNS, LatencyNS);
//     LatencyNS = cycles × Spec.TCKNS() (0.769 ns for HBM3-PIM 5.2 Gbps);
//   - energy: pJ (Energy fields per bit moved or per MAC; EnergyPJ);
//   - sizes: bytes (ColumnBytes, BytesFetched, ...), except
//     Organization.ChannelDensityMbit.
//
// # Who owns what
//
// A Spec is plain data (presets HBM3PIM and HBM3); Validate recomputes the
// capacity from the organisation. A Device is the state of one channel
// (per-bank open rows, per-node earliest issue cycles) and has no clock of
// its own: Ready(cmd, addr, clk) and Issue(cmd, addr, clk) take the cycle
// from the caller. A Controller owns the clock: it feeds a request stream
// through AttAcc's 33-entry in-order PIM queue with its barrier, FCFS,
// open-row, refresh and dual-issue rules and ticks until the stream drains.
// Accounting is done by Observers attached to the Device (CommandCounter,
// EnergyMeter, ByteMeter, CommandLog).
//
// Two engines compute the cost of one head's attention in one decode step:
// SimulateAttention (command level, AttAcc's exact trace) and
// ClosedFormAttention (row-level closed form, microseconds). Both reproduce
// Ramulator2-AttAcc's cycles and command counts exactly on the reference
// data in ../shared/docs/attacc, and tests hold them equal to each other.
// SimulatePattern runs the engine on an arbitrary set of 16-slot groups.
//
// # The KV store
//
// KVStore keeps K and V as FP16 bits, per (layer, KV head, slot). Calls name
// the layer explicitly; a decode step is closed with EndStep, which returns
// the step's StepReport (latency, energy, row activations, bytes fetched vs
// used, command counts). Reads charge the command-level engine's cost of
// the real access pattern (memoised by pattern shape, and by stretches of
// the engine's run for new shapes: segmemo.go); heads on different
// channels run in parallel and layers one after another, so a step's
// latency is the sum over layers of the slowest channel. A read of a new
// shape gets its commands in closed form and bounds on its cycles
// (bounds.go), and the engine runs only on the reads that may be their
// layer's slowest, so the report is the engine's, field for field. That
// settling runs on a goroutine of the store's own, layer by layer as each
// layer's reads come in, overlapping the host's compute of the next layers;
// EndStep waits for it (settle.go). Writes and moves charge WR/RD commands
// and energy but no latency.
//
// Layout inside one channel (one KV head, or one query head's copy in
// LayoutAttAcc), for HeadDim 128 (k = 2 columns of 32 B per bank per
// vector; HeadDim 64 gives k = 1):
//
//	slot s → group g = s/16 (STARC's "row" of 16 tokens) and partition p = s%16
//	partition p = (pseudo-channel, rank, bank group); the vector is split over
//	the 4 banks of that bank group, k columns in each:
//
//	            bank group p of pCH/rank          one all-bank MACAB reads
//	          bank0   bank1   bank2   bank3       column c in all 64 banks
//	row r   [g0 g0 g1 g1 ... g15 g15]  ×4         = one k-th of group g's 16
//	row r+1 [g16 ...             g31]  ×4           tokens (one per partition)
//
//	K area: column g·k + j            (16 groups = 256 slots per DRAM row)
//	V area: slice n < k, column n·Gmax + g (Gmax = group capacity, whole rows)
//
// Regions inside a channel are layer-major: the rows of (copy c on this
// channel, layer l) start at (c·Layers + l)·rowsPerHead, K area first, then
// the k V slices. Copies of KV heads go to channels round-robin
// (channel = (kvHead·copies + copy) mod 80), so a 7B model's heads each get
// a channel of their own.
//
// One DRAM row (what an ACTAB opens, SlotRow) thus holds 16 groups; a group
// (16 consecutive slots) costs k MACABs for K and k for V. The access trace
// (WriteTrace/ReadTrace, JSON lines) records per step, layer and KV head
// the context length and the selected groups with their token counts.
//
// Modelling choices that differ from AttAcc are stated where they are made:
// the store's V layout is fixed (AttAcc's trace re-lays V for every context
// length), LayoutGQA serves a KV head's query heads from one read (MACs
// feed every query in the GEMV buffers; query, score and softmax moves scale
// with the group), and energy applies per-bit constants per bit (AttAcc
// applies its I/O constants per byte; the analytic system model reproduces
// AttAcc's bookkeeping, not this package).
package pim

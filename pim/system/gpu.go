package system

import "math"

// Energy slots of a layer, in AttAcc's order: off-chip memory, L2, L1,
// registers, ALU, communication. All in pJ, summed over the devices.
const (
	eMem = iota
	eL2
	eL1
	eReg
	eALU
	eComm
	nEnergy
)

// layerCost is the time (s) and energy (pJ) of one layer of one decode step.
type layerCost struct {
	time         float64
	computeBound bool
	energy       [nEnergy]float64
}

// l1TileSizes are the candidate threadblock tile edges of AttAcc's GPU model.
var l1TileSizes = [...]float64{8, 16, 32, 64, 128, 192, 256, 320, 384, 448, 512}

// tileTraffic is the bytes moved for an m×k by k×n product with tm×tn output
// tiles: A re-read per column tile, B per row tile, C written once. Shapes are
// float64 because AttAcc's FFN width (ff_scale·h/tp) need not be an integer.
func tileTraffic(tm, tn, m, n, k, dbyte float64) float64 {
	return math.Ceil(n/tn)*m*k*dbyte + math.Ceil(m/tm)*n*k*dbyte + m*n*dbyte
}

// coreUtil is the fraction of SMs busy for ntb threadblocks (last wave partial).
func coreUtil(ntb float64, cores int) float64 {
	c := float64(cores)
	return ntb / (math.Ceil(ntb/c) * c)
}

// fcTiles picks AttAcc's L1 and L2 tiles for an FC layer (attacc.md §3.3):
// the L1 tile minimises traffic/util² over the fixed size list (first minimum),
// the L2 tile minimises traffic over multiples of the L1 tile.
func (h *Hardware) fcTiles(m, n, k, dbyte float64) (tm1, tn1, tm2, tn2 float64) {
	best := math.Inf(1)
	for _, a := range l1TileSizes {
		for _, b := range l1TileSizes {
			tm, tn := math.Min(a, m), math.Min(b, n)
			if (tm+tn)*32*dbyte+tm*tn*dbyte > h.GPUL1Bytes {
				continue
			}
			acc := tileTraffic(tm, tn, m, n, k, dbyte)
			util := coreUtil(math.Ceil(m/tm)*math.Ceil(n/tn), h.GPUCores)
			inv := 1 / util
			if c := acc * (inv * inv); c < best {
				best, tm1, tn1 = c, tm, tn
			}
		}
	}
	multiples := func(t, limit float64) []float64 {
		var out []float64
		for i := 1; i <= int(limit/t); i++ {
			out = append(out, t*float64(i))
		}
		return append(out, limit)
	}
	tk2 := k / 64
	best = math.Inf(1)
	for _, a := range multiples(tm1, m) {
		for _, b := range multiples(tn1, n) {
			a2, b2 := math.Min(a, m), math.Min(b, n)
			if (a2+b2)*tk2*dbyte+a2*b2*dbyte > h.GPUL2Bytes && (a2 != tm1 || b2 != tn1) {
				continue
			}
			acc := math.Ceil(m/a2)*n*k*dbyte + math.Ceil(n/b2)*m*k*dbyte + m*n*dbyte
			if acc < best {
				best, tm2, tn2 = acc, a2, b2
			}
		}
	}
	return tm1, tn1, tm2, tn2
}

// gpuFC is an m×k by k×n weight product on each GPU: roofline over the tile
// traffic, energy from traffic at each level, summed over the GPUs.
func (h *Hardware) gpuFC(m, n, k, dbyte float64) layerCost {
	tm1, tn1, tm2, tn2 := h.fcTiles(m, n, k, dbyte)
	util := coreUtil(math.Ceil(m/tm1)*math.Ceil(n/tn1), h.GPUCores)
	flops := 2 * m * n * k
	tComp := flops / (h.GPUFLOPS * h.ComputeUtil * util * float64(int(2/dbyte)))
	off := tileTraffic(tm2, tn2, m, n, k, dbyte)
	tMem := off / (h.GPUMemBW * h.MemUtil * util)
	l2 := tileTraffic(tm1, tn1, m, n, k, dbyte)
	l1 := tileTraffic(16, 16, m, n, k, dbyte)
	reg := 3 * m * n * k
	var c layerCost
	c.computeBound = tComp > tMem
	c.time = math.Max(tComp, tMem)
	e := &h.Energy
	g := float64(h.GPUs)
	c.energy[eMem] = off * e.GPUMemPerByte * g
	c.energy[eL2] = l2 * e.GPUL2PerByte * g
	c.energy[eL1] = l1 * e.GPUL1PerByte * g
	c.energy[eReg] = reg * e.GPURegPerByte * g
	c.energy[eALU] = flops / 2 * e.ALUPerMAC * g
	return c
}

// elementwiseKind selects the fitted time formula and FLOP count of a GPU
// element-wise layer.
type elementwiseKind int

const (
	kindGELU elementwiseKind = iota // ACT, 8 FLOP/element, in+out
	kindGLU                         // ACT with a second input (SwiGLU), 9 FLOP/element
	kindNorm                        // NORM, 5 FLOP/element, 2 inputs + out
)

// gpuElementwise is an m×n element-wise layer on each GPU: AttAcc's fitted time
// (with STARC's /8), floored by the compute roofline of a single threadblock,
// and per-byte energy at every level on in+out bytes.
func (h *Hardware) gpuElementwise(kind elementwiseKind, m, n, dbyte float64) layerCost {
	size := m * n * dbyte
	var bytes, flops, t float64
	ratio := 1555e9 / h.GPUMemBW
	switch kind {
	case kindGELU:
		bytes, flops = 2*size, 8*m*n
		t = (h.ACTSlopeUS*ratio*bytes + h.ACTInterceptUS) / 1e6 / h.CommDivisor
	case kindGLU:
		bytes, flops = 3*size, 9*m*n
		t = (h.ACTSlopeUS*ratio*bytes + h.ACTInterceptUS) / 1e6 / h.CommDivisor
	case kindNorm:
		bytes, flops = 3*size, 5*m*n
		t = (h.NormSlopeUS*ratio*bytes + h.NormInterceptUS) / 1e6 / h.CommDivisor
	}
	// One threadblock (numOp = 1) for element-wise layers, as AttAcc counts it.
	tComp := flops / (h.GPUFLOPS * h.ComputeUtil * coreUtil(1, h.GPUCores) * float64(int(2/dbyte)))
	var c layerCost
	c.computeBound = tComp > t
	c.time = math.Max(tComp, t)
	e := &h.Energy
	g := float64(h.GPUs)
	c.energy[eMem] = bytes * e.GPUMemPerByte * g
	c.energy[eL2] = bytes * e.GPUL2PerByte * g
	c.energy[eL1] = bytes * e.GPUL1PerByte * g
	c.energy[eReg] = bytes * e.GPURegPerByte * g
	c.energy[eALU] = flops / 2 * e.ALUPerMAC * g
	return c
}

// gpuAllReduce is the NVLink all-reduce of an m×n activation (G2G): AttAcc's
// latency fit per GPU share, times (GPUs-1), with STARC's /8.
func (h *Hardware) gpuAllReduce(m, n, dbyte float64) layerCost {
	traffic := m * n * dbyte
	g := float64(h.GPUs)
	share := traffic / g
	tFit := (6060 + 0.009*share*(600e9/h.GPULinkBW)) / 1e9
	var c layerCost
	c.time = math.Max(tFit, share/(h.GPULinkBW/2)) * (g - 1) / h.CommDivisor
	c.energy[eComm] = g * traffic * h.Energy.CommPerByte
	return c
}

// accLink is a transfer over the AttAcc <-> GPU link (X2G) of bytes bytes per
// AttAcc: one direction at half the link rate; energy for all AttAccs.
func (h *Hardware) accLink(bytes float64) layerCost {
	var c layerCost
	c.time = bytes / (h.AccLinkBW / 2)
	c.energy[eComm] = bytes * h.Energy.CommPerByte * float64(h.AttAccs)
	return c
}
